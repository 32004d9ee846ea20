import { CompressionTypes, Kafka, logLevel, type Producer } from "kafkajs";
import type { SendBatch } from "./footprint/producer.ts";
import type { Logger } from "./log.ts";

export type KafkaOptions = {
  brokers: readonly string[];
  clientId: string;
  logger: Logger;
  /** kafkajs' defaults unless given (connect 1 s, request 30 s). */
  timeouts?: { connectionMs: number; requestMs: number };
  /** Retries of a failed request; 5 unless given. */
  retries?: number;
};

const levelNames: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** A kafkajs client whose own log lines go through our JSON logger (warnings and errors only). */
export function createKafka(options: KafkaOptions): Kafka {
  const log = options.logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    ...(options.timeouts
      ? { connectionTimeout: options.timeouts.connectionMs, requestTimeout: options.timeouts.requestMs }
      : {}),
    retry: { initialRetryTime: 200, retries: options.retries ?? 5, maxRetryTime: 5000 },
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry;
        log[levelNames[level] ?? "info"](message, rest);
      },
  });
}

export type KafkaSender = SendBatch & { disconnect(): Promise<void> };

/**
 * Connects lazily, so `serve` starts and answers requests while Kafka is still down; the
 * producer loop keeps events queued and retries.
 */
export function createKafkaSender(kafka: Kafka, topic: string): KafkaSender {
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;

  const connected = async (): Promise<Producer> => {
    if (producer) return producer;
    connecting ??= (async () => {
      // Idempotent with acks=all: a retried request is never written twice, and order holds.
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      try {
        await p.connect();
        producer = p;
        return p;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };

  const send = async (values: string[]) => {
    const p = await connected();
    await p.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      // No key, like the old producers: the broker spreads messages over partitions.
      messages: values.map((value) => ({ value })),
    });
  };
  return Object.assign(send, {
    async disconnect() {
      const p = producer ?? (await connecting?.catch(() => undefined));
      producer = undefined;
      await p?.disconnect();
    },
  });
}
