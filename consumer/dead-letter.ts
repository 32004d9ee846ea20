import type { Admin, IHeaders, Kafka, KafkaMessage, Producer } from "kafkajs";
import { CompressionTypes } from "kafkajs";
import type { InvalidMessageCode } from "../src/footprint/message.ts";
import { formatOrigin, type MessageOrigin, parseOrigin } from "../src/footprint/parse-message.ts";
import { createAtLeastOnceProducer } from "../src/kafka.ts";
import { deadLetterTopic } from "../src/kafka-topics.ts";
import type { StoreName } from "../src/store/store.ts";

/**
 * A message that is not a footprint, or that a store refused for its content, with why and where
 * it came from. Dead letters are never retried by the consumer; `eft-footprint dlq replay` re-sends
 * them after a fix.
 */
export type DeadLetter = {
  origin: MessageOrigin;
  /** The store that refused the row (code MESSAGE_REJECTED_BY_STORE); absent when parsing refused it. */
  rejectedBy?: StoreName | undefined;
  /** That store's own error code (PostgreSQL SQLSTATE, ClickHouse "code TYPE"). */
  storeCode?: string | undefined;
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
  rejectedBy: "eft-rejected-by",
  storeCode: "eft-store-error-code",
} as const;

/** On a message re-sent from the dead-letter topic: where it was first (see parseFootprintMessage). */
export const ORIGIN_HEADER = "eft-origin";

/**
 * On a message re-sent from the dead-letter topic after a store refused it: the one sink whose
 * group stores it; the other groups skip it (they stored it the first time).
 */
export const REPLAY_SINK_HEADER = "eft-replay-sink";

const OWN_HEADERS = new Set<string>([...Object.values(DLQ_HEADERS), REPLAY_SINK_HEADER]);

/**
 * What makes a dead letter one: its source message, and the store that refused it (a message both
 * stores refuse is two letters, each replayed to its own store). The record's key; `dlq list` and
 * `replay` count each key once, so a letter written again (a redelivery, or both groups reaching a
 * parse error) is a duplicate, not a second letter.
 */
export function deadLetterKey(letter: Pick<DeadLetter, "origin" | "rejectedBy">): string {
  const source = formatOrigin(letter.origin);
  return letter.rejectedBy ? `${source}@${letter.rejectedBy}` : source;
}

/** The sink a replayed message is meant for, when it is meant for one only. */
export function replaySinkOf(message: Pick<KafkaMessage, "headers">): string | undefined {
  return headerText(message.headers, REPLAY_SINK_HEADER);
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString("utf8") : String(first);
}

/** The position a message stands for: its replay header when it has one, else where it is. */
export function originOf(message: Pick<KafkaMessage, "headers">, here: MessageOrigin): MessageOrigin {
  return parseOrigin(headerText(message.headers, ORIGIN_HEADER)) ?? here;
}

/** The Kafka record a dead letter becomes: original value, keyed by its source position. */
export function toDeadLetterRecord(letter: DeadLetter, now: Date = new Date()) {
  const source: IHeaders = {};
  for (const [k, v] of Object.entries(letter.headers)) if (!OWN_HEADERS.has(k) && v !== undefined) source[k] = v;
  return {
    key: deadLetterKey(letter),
    value: letter.value ?? null,
    headers: {
      ...source,
      ...(letter.rejectedBy
        ? { [DLQ_HEADERS.rejectedBy]: letter.rejectedBy, [DLQ_HEADERS.storeCode]: letter.storeCode ?? "" }
        : {}),
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
  /** The store that refused it, when one did. */
  rejectedBy: string | undefined;
  storeCode: string | undefined;
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
    rejectedBy: headerText(h, DLQ_HEADERS.rejectedBy),
    storeCode: headerText(h, DLQ_HEADERS.storeCode),
    deadLetteredAt: headerText(h, DLQ_HEADERS.deadLetteredAt),
    value: message.value,
    headers: h,
  };
}

export type DeadLetterSink = {
  readonly topic: string;
  /**
   * Resolves once Kafka acknowledged every letter (acks=all), with the letters this call wrote: a
   * letter (the same object, handed to every sink's group by decoded-messages.ts) that another
   * group's call wrote already, or is writing, is not written again.
   */
  send(letters: readonly DeadLetter[]): Promise<readonly DeadLetter[]>;
  disconnect(): Promise<void>;
};

/**
 * Letters per produce request: at most this many bytes before compression, under the broker's
 * 1 MiB message.max.bytes for a record batch (a dead letter may hold a message of up to ~1 MiB,
 * which then goes alone).
 */
const SEND_CHUNK_BYTES = 512 * 1024;

type DeadLetterRecord = ReturnType<typeof toDeadLetterRecord>;

function recordBytes(r: DeadLetterRecord): number {
  let n = 64 + r.key.length + (r.value?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers)) n += k.length + (v === undefined ? 0 : String(v).length);
  return n;
}

/** The records in order, cut into produce requests of at most SEND_CHUNK_BYTES each. */
export function chunkRecords(records: readonly DeadLetterRecord[], maxBytes = SEND_CHUNK_BYTES): DeadLetterRecord[][] {
  const chunks: DeadLetterRecord[][] = [];
  let chunk: DeadLetterRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * Writes dead letters to `<topic>.dlq`, creating it when missing (brokers often refuse
 * auto-creation). At least once: a letter written just before a crash is written again on
 * redelivery; `dlq list` and `dlq replay` count each key (deadLetterKey) once. Every sink's group
 * writes through the one sink of its process, so that a parse error is written once whichever
 * group reaches it first, and never waits for a store that is down.
 */
export function createDeadLetterSink(kafka: Kafka, admin: Admin, sourceTopic: string): DeadLetterSink {
  const topic = deadLetterTopic(sourceTopic);
  let producer: Producer | undefined;
  let ready: Promise<Producer> | undefined;
  /** Letters written or being written, by object: the groups of this process share them. */
  const sending = new WeakMap<DeadLetter, Promise<void>>();

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
      const mine = letters.filter((l) => !sending.has(l));
      const theirs = letters.filter((l) => sending.has(l)).map((l) => sending.get(l));
      if (mine.length > 0) {
        const written = (async () => {
          const p = await connect();
          for (const messages of chunkRecords(mine.map((l) => toDeadLetterRecord(l)))) {
            await p.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages });
          }
        })();
        for (const l of mine) sending.set(l, written);
        // A failed write is retried by whichever group sends the letter next.
        written.catch(() => {
          for (const l of mine) if (sending.get(l) === written) sending.delete(l);
        });
        await written;
      }
      await Promise.all(theirs);
      return mine;
    },
    async disconnect() {
      const p = producer ?? (await ready?.catch(() => undefined));
      producer = undefined;
      ready = undefined;
      await p?.disconnect();
    },
  };
}
