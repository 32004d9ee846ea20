/**
 * Delivery contract: Kafka gives at-least-once. An offset is committed only after every store
 * accepted the batch holding its message, or the message was found invalid (logged with its
 * topic/partition/offset and skipped) — never merely because a write failed. A crash replays
 * from the last commit; PostgreSQL drops the replayed rows by event_id.
 */
import type { Kafka } from "kafkajs";
import type { Logger } from "../src/log.ts";
import type { Backoff } from "../src/retry.ts";
import type { FootprintRow, Store } from "../src/store/store.ts";
import { createBatchWriter } from "./batch-writer.ts";
import { parseFootprintMessage } from "./message.ts";

export type ConsumerOptions = {
  kafka: Kafka;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  stores: readonly Store[];
  logger: Logger;
  /** Flush when this many rows are buffered … */
  batchSize: number;
  /** … or when the oldest buffered message is this old, whichever comes first. */
  flushMs: number;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
};

type TopicPartitionOffset = { topic: string; partition: number; offset: string };

export async function startConsumer(options: ConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const { kafka, topic, logger, batchSize, flushMs } = options;
  const log = logger.child({ component: "consumer" });
  const consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: Math.min(flushMs, 1000),
  });
  let stopping = false;
  let buffer: FootprintRow[] = [];
  let bufferedSince = 0;
  // Next offset to commit per partition: covers valid and invalid messages alike.
  let toCommit = new Map<string, TopicPartitionOffset>();
  let heartbeat: () => Promise<void> = async () => {};

  const writeBatch = createBatchWriter({
    stores: options.stores,
    logger: log,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    isStopping: () => stopping,
    onWait: () => heartbeat().catch(() => {}),
  });

  // Flushes run one at a time, in order, whoever asks (size, timer, shutdown).
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    flushing = flushing.then(flushNow, flushNow);
    return flushing;
  };

  async function flushNow(): Promise<void> {
    if (toCommit.size === 0) return;
    const rows = buffer;
    const offsets = [...toCommit.values()];
    buffer = [];
    toCommit = new Map();
    bufferedSince = 0;
    const started = performance.now();
    if (rows.length > 0 && !(await writeBatch(rows))) {
      log.warn("shutting down during a store outage: batch not committed, it will be redelivered", {
        rows: rows.length,
      });
      return;
    }
    try {
      await consumer.commitOffsets(offsets);
    } catch (err) {
      // The rows are stored; the next owner of these partitions gets them again and the
      // idempotent stores absorb the repeat.
      log.warn("offset commit failed; messages will be redelivered", { err, offsets });
      return;
    }
    log.debug("batch flushed", { rows: rows.length, offsets, ms: Math.round(performance.now() - started) });
  }

  const timer = setInterval(
    () => {
      if (bufferedSince && Date.now() - bufferedSince >= flushMs) void flush();
    },
    Math.max(10, Math.min(250, Math.floor(flushMs / 4))),
  );

  consumer.on(consumer.events.CRASH, (e) => {
    log.error("kafka consumer crashed", { err: e.payload.error, restart: e.payload.restart });
  });

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
  let inBatch: Promise<void> = Promise.resolve();
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat: beat, isRunning, isStale }) => {
      heartbeat = beat;
      let finish = () => {};
      inBatch = new Promise((r) => {
        finish = r;
      });
      try {
        for (const message of batch.messages) {
          if (!isRunning() || isStale() || stopping) break;
          const origin = { topic: batch.topic, partition: batch.partition, offset: message.offset };
          const parsed = parseFootprintMessage(message.value, origin);
          if (parsed.ok) buffer.push(parsed.row);
          else
            log.warn("invalid message skipped", {
              ...origin,
              code: parsed.code,
              error: parsed.message,
              issues: parsed.issues,
            });
          bufferedSince ||= Date.now();
          toCommit.set(`${batch.topic}:${batch.partition}`, {
            topic: batch.topic,
            partition: batch.partition,
            offset: (BigInt(message.offset) + 1n).toString(),
          });
          // Resolving only moves kafkajs's fetch position; nothing is committed until the flush.
          resolveOffset(message.offset);
          if (buffer.length >= batchSize) await flush();
        }
        await beat();
      } finally {
        finish();
      }
    },
  });
  log.info("consumer started", { topic, groupId: options.groupId, batchSize, flushMs });

  return {
    async stop() {
      stopping = true;
      clearInterval(timer);
      consumer.pause([{ topic }]);
      await inBatch;
      await flush();
      await consumer.disconnect();
      log.info("consumer stopped");
    },
  };
}
