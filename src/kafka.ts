import { CompressionTypes, Kafka, type logCreator, logLevel, Partitioners, type Producer } from "kafkajs";
import type { SendBatch } from "./footprint/producer.ts";
import { messageKeyOf } from "./kafka-message-key.ts";
import { createPlatformaticSender } from "./kafka-platformatic.ts";
import type { Logger } from "./log.ts";

/**
 * The client behind every SendBatch (createKafkaSender): the one place it is chosen. Consumers,
 * admin and dead letters stay on kafkajs.
 */
const PRODUCER_CLIENT: "kafkajs" | "platformatic" = "platformatic";

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

/** What each client was made with: the producer may be another library's, built from the same options. */
const optionsOf = new WeakMap<Kafka, KafkaOptions>();

/** A kafkajs client whose own log lines go through our JSON logger (warnings and errors only). */
export function createKafka(options: KafkaOptions): Kafka {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    ...(options.timeouts
      ? { connectionTimeout: options.timeouts.connectionMs, requestTimeout: options.timeouts.requestMs }
      : {}),
    retry: { initialRetryTime: 200, retries: options.retries ?? 5, maxRetryTime: 5000 },
    logCreator: kafkaLogCreator(options.logger),
  });
  optionsOf.set(kafka, options);
  return kafka;
}

/**
 * States a healthy cluster passes through at start-up or on a rebalance: kafkajs logs each attempt
 * at error (a response with the error, "Failed to send messages: …") and then retries until it
 * clears. They say nothing is wrong, so they go to debug; a failure that lasts still shows at
 * error, from kafkajs once it gives up ("Crash: …", retries exceeded) or from the producer loop
 * when Kafka does not acknowledge ("kafka produce failed; retrying").
 */
const transientStates = [
  "The coordinator is loading", // GROUP_LOAD_IN_PROGRESS: __consumer_offsets still being read
  "The group coordinator is not available", // GROUP_COORDINATOR_NOT_AVAILABLE
  "This is not the correct coordinator for this group", // NOT_COORDINATOR_FOR_GROUP: moved
  "The group is rebalancing", // REBALANCE_IN_PROGRESS, and the runner's "re-joining" note
  "This server does not host this topic-partition", // UNKNOWN_TOPIC_OR_PARTITION: metadata catching up
  "There is no leader for this topic-partition", // LEADER_NOT_AVAILABLE: election under way
  "This server is not the leader for that topic-partition", // NOT_LEADER_FOR_PARTITION: leader moved
];

function isTransient(message: string, extra: Record<string, unknown>): boolean {
  // The consumer gave up on the error and restarts: a real failure, whatever caused it.
  if (message.startsWith("Crash") || message.startsWith("Restarting")) return false;
  const text = typeof extra.error === "string" ? `${message} ${extra.error}` : message;
  return transientStates.some((state) => text.includes(state));
}

/** kafkajs's log lines through our JSON logger, with the transient states above at debug. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const log = logger.child({ component: "kafkajs" });
  return () =>
    ({ level, log: entry }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = entry;
      const named = levelNames[level] ?? "info";
      log[isTransient(message, rest) ? "debug" : named](message, rest);
    };
}

/**
 * The producer every part of eft-footprint sends with. Idempotent with acks=all: a retried request
 * is never written twice, and order holds. kafkajs keeps that promise only while it retries a
 * request for as long as it takes (it warns "Limiting retries for the idempotent producer may
 * invalidate EoS guarantees" otherwise), so the producer retries without limit; a connection that
 * cannot be made still fails after the client's own retries. Callers bound their wait themselves
 * (the producer loop reports and, at shutdown, spools a batch not acknowledged in time; ingest
 * answers 503) instead of cutting the retries short.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER },
    // Footprints are keyed by event_id (kafka-message-key.ts): the default partitioner hashes keys
    // like the Java client (murmur2), as the platformatic sender is set to; a message without a key
    // goes round robin.
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/**
 * A producer whose send fails after the client's retries instead of retrying for as long as it
 * takes: for writers that retry by themselves and must be able to give up on a send (the consumer's
 * dead letters: a send that never settles would hold its sink's writes, rebalances and shutdown).
 * Not idempotent, so a resend may write a record twice; use it only where readers count each
 * record once by its content (`dlq list`/`replay` count each source position once).
 */
export function createAtLeastOnceProducer(kafka: Kafka): Producer {
  return kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}

/**
 * A SendBatch with its connection: `connect()` is optional (the first send connects) and fails
 * while Kafka is unreachable; `disconnect()` rejects a send still waiting for its acknowledgement.
 */
export type KafkaSender = SendBatch & { connect(): Promise<void>; disconnect(): Promise<void> };

/**
 * The SendBatch of `serve` (footprints and ingest), on the client PRODUCER_CLIENT names. Connects
 * lazily, so `serve` starts and answers requests while Kafka is still down; the producer loop
 * keeps events queued and retries.
 */
export function createKafkaSender(kafka: Kafka, topic: string): KafkaSender {
  const options = optionsOf.get(kafka);
  if (PRODUCER_CLIENT === "platformatic" && options) return createPlatformaticSender(options, topic);
  return createKafkajsSender(kafka, topic);
}

/** The kafkajs sender; kafkajs loses or doubles batches when a cluster loses a broker (kafkajs #1303). */
export function createKafkajsSender(kafka: Kafka, topic: string): KafkaSender {
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;

  const connected = async (): Promise<Producer> => {
    if (producer) return producer;
    connecting ??= (async () => {
      const p = createIdempotentProducer(kafka);
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
      // Keyed by event_id, so that every copy of an event lands in one partition (kafka-message-key.ts).
      messages: values.map((value) => ({ key: messageKeyOf(value) ?? null, value })),
    });
  };
  return Object.assign(send, {
    async connect() {
      await connected();
    },
    async disconnect() {
      const p = producer ?? (await connecting?.catch(() => undefined));
      producer = undefined;
      await p?.disconnect();
    },
  });
}
