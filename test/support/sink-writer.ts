/**
 * One sink's batch writer over partition 0 of `topic`, as `consume` runs it but without Kafka, for
 * the tests that drive it into real stores: dead letters are collected, the last end offset
 * committed is kept, retries wait `backoffMs`, the deferred commit runs at once.
 */
import { type BatchWriter, createBatchWriter } from "../../consumer/batch-writer.ts";
import type { DeadLetter } from "../../consumer/dead-letter.ts";
import type { Generations } from "../../consumer/generation.ts";
import { createPartitionBatcher } from "../../consumer/partition-batches.ts";
import type { PartitionState } from "../../consumer/partition-state.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import type { Store } from "../../src/store/store.ts";

export type SinkWriter = {
  writer: BatchWriter;
  state: PartitionState;
  letters: DeadLetter[];
  /** The end offset committed last (not an intent). */
  readonly committed: bigint | undefined;
};

export function createSinkWriter(o: {
  store: Pick<Store, "name" | "insertFootprints">;
  topic: string;
  start: number;
  batchSize: number;
  generations: Generations;
  backoffMs: number;
}): SinkWriter {
  const letters: DeadLetter[] = [];
  let committed: bigint | undefined;
  const writer = createBatchWriter({
    store: o.store,
    deadLetters: {
      async send(sent) {
        letters.push(...sent);
        return sent;
      },
    },
    async commit(_partition, offset, metadata) {
      if (metadata === null) committed = offset;
    },
    setPaused() {},
    generations: o.generations,
    logger: createMemoryLogger(),
    metrics: createMetrics(),
    backoff: () => o.backoffMs,
    sleep: (ms) => Bun.sleep(ms),
    flushMs: 60_000,
    schedule: (fn) => {
      queueMicrotask(fn);
      return () => {};
    },
  });
  const state: PartitionState = {
    partition: 0,
    batcher: createPartitionBatcher({
      topic: o.topic,
      partition: 0,
      start: BigInt(o.start),
      batchSize: o.batchSize,
      flushMs: 60_000,
    }),
    writing: false,
    written: Promise.resolve(),
    paused: false,
    uncommitted: undefined,
  };
  return {
    writer,
    state,
    letters,
    get committed() {
      return committed;
    },
  };
}
