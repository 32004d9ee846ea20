import type { Admin, IHeaders, Kafka, KafkaMessage, Producer } from "kafkajs";
import { CompressionTypes } from "kafkajs";
import type { InvalidMessageCode } from "../src/footprint/message.ts";
import { formatOrigin, type MessageOrigin, parseOrigin } from "../src/footprint/parse-message.ts";
import { createAtLeastOnceProducer } from "../src/kafka.ts";
import { deadLetterTopic } from "../src/kafka-topics.ts";

/**
 * A message that is not a footprint, with why and where it came from. Dead letters are never
 * retried by the consumer; `eft-footprint dlq replay` re-sends them after a fix.
 */
export type DeadLetter = {
  origin: MessageOrigin;
  code: InvalidMessageCode;
  message: string;
  value: Buffer | null;
  /** The source message's own headers, kept for replay. */
  headers: IHeaders;
  /** The source message's Kafka timestamp (ms, as text). */
  timestamp: string;
};

/** Headers of a dead-letter record (`eft-` so they never clash with a producer's own). */
export const DLQ_HEADERS = {
  code: "eft-error-code",
  message: "eft-error-message",
  topic: "eft-source-topic",
  partition: "eft-source-partition",
  offset: "eft-source-offset",
  timestamp: "eft-source-timestamp",
  deadLetteredAt: "eft-dead-lettered-at",
} as const;

/** On a message re-sent from the dead-letter topic: where it was first (see parseFootprintMessage). */
export const ORIGIN_HEADER = "eft-origin";

const OWN_HEADERS = new Set<string>([...Object.values(DLQ_HEADERS)]);

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString("utf8") : String(first);
}

/** The position a message stands for: its replay header when it has one, else where it is. */
export function originOf(message: KafkaMessage, here: MessageOrigin): MessageOrigin {
  return parseOrigin(headerText(message.headers, ORIGIN_HEADER)) ?? here;
}

/** The Kafka record a dead letter becomes: original value, keyed by its source position. */
export function toDeadLetterRecord(letter: DeadLetter, now: Date = new Date()) {
  const source: IHeaders = {};
  for (const [k, v] of Object.entries(letter.headers)) if (!OWN_HEADERS.has(k) && v !== undefined) source[k] = v;
  return {
    key: formatOrigin(letter.origin),
    value: letter.value ?? null,
    headers: {
      ...source,
      [DLQ_HEADERS.code]: letter.code,
      // Header values have no size limit of their own, but a dead-letter topic is read by people.
      [DLQ_HEADERS.message]: letter.message.slice(0, 2000),
      [DLQ_HEADERS.topic]: letter.origin.topic,
      [DLQ_HEADERS.partition]: String(letter.origin.partition),
      [DLQ_HEADERS.offset]: letter.origin.offset,
      [DLQ_HEADERS.timestamp]: letter.timestamp,
      [DLQ_HEADERS.deadLetteredAt]: now.toISOString(),
    },
  };
}

/** A dead-letter record read back (for `dlq list` and `dlq replay`). */
export type StoredDeadLetter = {
  dlqPartition: number;
  dlqOffset: string;
  origin: MessageOrigin | undefined;
  code: string | undefined;
  message: string | undefined;
  deadLetteredAt: string | undefined;
  value: Buffer | null;
  headers: IHeaders;
};

export function fromDeadLetterRecord(partition: number, message: KafkaMessage): StoredDeadLetter {
  const h = message.headers ?? {};
  const partitionText = headerText(h, DLQ_HEADERS.partition);
  const topic = headerText(h, DLQ_HEADERS.topic);
  const offset = headerText(h, DLQ_HEADERS.offset);
  return {
    dlqPartition: partition,
    dlqOffset: message.offset,
    origin: topic && partitionText && offset ? parseOrigin(`${topic}/${partitionText}/${offset}`) : undefined,
    code: headerText(h, DLQ_HEADERS.code),
    message: headerText(h, DLQ_HEADERS.message),
    deadLetteredAt: headerText(h, DLQ_HEADERS.deadLetteredAt),
    value: message.value,
    headers: h,
  };
}

export type DeadLetterSink = {
  readonly topic: string;
  /** Resolves once Kafka acknowledged every letter (acks=all). */
  send(letters: readonly DeadLetter[]): Promise<void>;
  disconnect(): Promise<void>;
};

/**
 * Writes dead letters to `<topic>.dlq`, creating it when missing (brokers often refuse
 * auto-creation). At least once: a letter written just before a crash is written again on
 * redelivery; `dlq list` and `dlq replay` count each source position once.
 */
export function createDeadLetterSink(kafka: Kafka, admin: Admin, sourceTopic: string): DeadLetterSink {
  const topic = deadLetterTopic(sourceTopic);
  let producer: Producer | undefined;
  let ready: Promise<Producer> | undefined;

  const connect = () => {
    ready ??= (async () => {
      try {
        const existing = await admin.listTopics();
        if (!existing.includes(topic)) {
          await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
        }
        // Bounded retries: the batch writer retries a failed send itself, and can then give up on
        // it at a rebalance or the shutdown deadline.
        const p = createAtLeastOnceProducer(kafka);
        await p.connect();
        producer = p;
        return p;
      } catch (err) {
        ready = undefined;
        throw err;
      }
    })();
    return ready;
  };

  return {
    topic,
    async send(letters) {
      if (letters.length === 0) return;
      const p = await connect();
      await p.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: letters.map((l) => toDeadLetterRecord(l)),
      });
    },
    async disconnect() {
      const p = producer ?? (await ready?.catch(() => undefined));
      producer = undefined;
      ready = undefined;
      await p?.disconnect();
    },
  };
}
