import type { Logger } from "../src/log.ts";
import type { Generations } from "./generation.ts";
import { createPartitionBatcher, type PartitionBatcher, parseBatchIntent } from "./partition-batches.ts";

/** What a sink consumer holds for one assigned partition, within one generation. */
export type PartitionState = {
  partition: number;
  batcher: PartitionBatcher;
  /** The batch being written (at most one per partition, so memory stays bounded). */
  writing: boolean;
  /** Settles once the batch being written is done (stored, or given up on). */
  written: Promise<void>;
  paused: boolean;
  /** End offset of a stored batch whose commit waits for the next batch's intent (or a timer). */
  uncommitted: { end: bigint; cancel?: () => void } | undefined;
};

export type CommittedOffset = { offset: string; metadata: string | null };

export type PartitionTableOptions = {
  topic: string;
  batchSize: number;
  flushMs: number;
  generations: Generations;
  logger: Logger;
  /** The group's committed offsets by partition (read once per generation). */
  fetchCommitted(): Promise<Map<number, CommittedOffset>>;
};

export type PartitionTable = ReturnType<typeof createPartitionTable>;

/** The partitions of the current generation, each created on its first fetch. */
export function createPartitionTable(options: PartitionTableOptions) {
  const { topic, batchSize, flushMs, generations, logger } = options;
  let partitions = new Map<number, PartitionState>();
  let committedAtJoin: Promise<Map<number, CommittedOffset>> | undefined;

  return {
    values(): IterableIterator<PartitionState> {
      return partitions.values();
    },
    /** Forgets every partition: kafkajs may have reset its positions (join, crash). */
    newGeneration(): void {
      generations.next();
      partitions = new Map();
      committedAtJoin = undefined;
    },
    /**
     * The partition's state, created at the first fetch of a generation, which starts at the
     * committed offset (or the reset position); undefined when the generation ended meanwhile.
     */
    async stateFor(partition: number, fetchedOffset: bigint, gen: number): Promise<PartitionState | undefined> {
      const known = partitions.get(partition);
      if (known) return known;
      committedAtJoin ??= options.fetchCommitted();
      const committed = await committedAtJoin.catch((err) => {
        committedAtJoin = undefined;
        throw err;
      });
      if (!generations.isCurrent(gen)) return undefined;
      const c = committed.get(partition);
      const cutAt = c && BigInt(c.offset) === fetchedOffset ? parseBatchIntent(c.metadata) : undefined;
      if (cutAt !== undefined)
        logger.info("resuming a batch recorded before a restart", {
          partition,
          start: fetchedOffset.toString(),
          end: cutAt.toString(),
        });
      const state: PartitionState = {
        partition,
        batcher: createPartitionBatcher({ topic, partition, start: fetchedOffset, cutAt, batchSize, flushMs }),
        writing: false,
        written: Promise.resolve(),
        paused: false,
        uncommitted: undefined,
      };
      partitions.set(partition, state);
      return state;
    },
  };
}
