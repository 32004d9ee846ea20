import type { KafkaMessage } from "kafkajs";
import type { FootprintRow } from "../src/store/store.ts";
import type { DeadLetter } from "./dead-letter.ts";

/** The Kafka message a row came from: what its dead letter carries should a store refuse the row. */
export type RowSource = Pick<KafkaMessage, "offset" | "value" | "headers" | "timestamp">;

/** What a message adds to its batch: a row, a dead letter, or nothing (a replay for another sink). */
export type BatchEntryOf = { row: FootprintRow } | { deadLetter: DeadLetter } | { skip: true };

/**
 * The messages of one partition from `start` (inclusive) to `end` (exclusive): everything between
 * two commits. `token` names exactly these messages, so a batch written again after a crash is
 * recognised by the sink (ClickHouse insert_deduplication_token).
 */
export type PartitionBatch = {
  topic: string;
  partition: number;
  start: bigint;
  end: bigint;
  rows: FootprintRow[];
  /** The message of each row, at the same index. */
  sources: RowSource[];
  deadLetters: DeadLetter[];
  token: string;
};

/**
 * Offset-commit metadata saying "the batch starting at the committed offset ends at `end`",
 * committed before the batch is written. After a crash the batch is cut at the same offset again
 * and so carries the same token; without it, a time-based cut could differ and a sink would
 * count the overlap twice.
 */
const INTENT = /^eft-batch-end=(\d{1,19})$/;

export function formatBatchIntent(end: bigint): string {
  return `eft-batch-end=${end}`;
}

export function parseBatchIntent(metadata: string | null | undefined): bigint | undefined {
  const m = metadata ? INTENT.exec(metadata) : null;
  return m ? BigInt(m[1] as string) : undefined;
}

export type PartitionBatcherOptions = {
  topic: string;
  partition: number;
  /** Offset of the first message of the next batch: the committed offset. */
  start: bigint;
  /** From a recorded intent: the next batch must end exactly here. */
  cutAt?: bigint | undefined;
  batchSize: number;
  flushMs: number;
};

export type PartitionBatcher = ReturnType<typeof createPartitionBatcher>;

/**
 * Collects one partition's messages into batches cut at deterministic offsets: at `batchSize`
 * messages, at a recorded intent, or when the oldest message has waited `flushMs`.
 */
export function createPartitionBatcher(options: PartitionBatcherOptions) {
  const { topic, partition, batchSize, flushMs } = options;
  let start = options.start;
  let next = options.start;
  let cutAt = options.cutAt;
  let rows: FootprintRow[] = [];
  let sources: RowSource[] = [];
  let deadLetters: DeadLetter[] = [];
  let count = 0;
  let openedAt = 0;

  return {
    get next() {
      return next;
    },
    get size() {
      return count;
    },
    /** False when the message at `offset` belongs to the next batch: seal this one first. */
    accepts(offset: bigint): boolean {
      if (cutAt !== undefined) return offset < cutAt;
      return count < batchSize;
    },
    add(offset: bigint, entry: BatchEntryOf, now: number, source: RowSource): void {
      if ("row" in entry) {
        rows.push(entry.row);
        sources.push(source);
      } else if ("deadLetter" in entry) deadLetters.push(entry.deadLetter);
      if (count === 0) openedAt = now;
      count++;
      next = offset + 1n;
    },
    /** Ready to be written: full, at its recorded end, or old enough. */
    isDue(now: number): boolean {
      if (count === 0) return false;
      if (cutAt !== undefined) return next >= cutAt;
      return count >= batchSize || now - openedAt >= flushMs;
    },
    /**
     * Whether the open messages may be written as a batch now (at shutdown): not when a recorded
     * intent says the batch goes further, since a shorter one would carry another token.
     */
    canSealEarly(): boolean {
      return count > 0 && (cutAt === undefined || next >= cutAt);
    },
    seal(): PartitionBatch {
      // Sealed before its recorded end only when the next message is already past it (a gap
      // such as a transaction marker): the batch still ends where the intent says.
      const end = cutAt !== undefined && next < cutAt ? cutAt : next;
      const batch: PartitionBatch = {
        topic,
        partition,
        start,
        end,
        rows,
        sources,
        deadLetters,
        token: `${topic}/${partition}/${start}-${end - 1n}`,
      };
      start = end;
      cutAt = undefined;
      rows = [];
      sources = [];
      deadLetters = [];
      count = 0;
      openedAt = 0;
      return batch;
    },
  };
}
