/**
 * Delivery contract: Kafka gives at-least-once; every sink is idempotent (PostgreSQL by its unique
 * event_id, ClickHouse by the batch token, see partition-batches.ts); an offset is committed only
 * once its message is stored in this sink or dead-lettered — never because it failed.
 *
 * One consumer group per sink, so a sink that is down stops only its own group: the other keeps
 * ingesting, each with its own committed offsets and lag.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../src/log.ts";
import { createMetrics, type Metrics } from "../src/metrics.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../src/retry.ts";
import type { Store } from "../src/store/store.ts";
import { type BatchWriter, createBatchWriter } from "./batch-writer.ts";
import { type DeadLetterSink, replaySinkOf } from "./dead-letter.ts";
import { createDecodedMessages, type DecodedMessages } from "./decoded-messages.ts";
import { createGenerations, type Generations } from "./generation.ts";
import { measureLag } from "./lag.ts";
import {
  type CommittedOffset,
  createPartitionTable,
  type PartitionState,
  type PartitionTable,
} from "./partition-state.ts";

export type SinkConsumerOptions = {
  kafka: Kafka;
  /** Connected admin client, shared by the sinks (offsets, lag). */
  admin: Admin;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  store: Store;
  /**
   * Every sink's group writes dead letters (its parse errors and its store's refusals), so none
   * waits for a store that is down; share one sink per process: it writes a parse error once.
   */
  deadLetters: DeadLetterSink;
  /** Shared by the sinks of this process, so that each message is decoded once. */
  decoded?: DecodedMessages;
  logger: Logger;
  metrics?: Metrics;
  /** Messages per batch and partition, at most. */
  batchSize: number;
  /** A batch is written when its oldest message has waited this long. */
  flushMs: number;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
  /** How often consumer lag is measured (ms). */
  lagIntervalMs?: number;
  /** How long a member that died without leaving keeps its partitions (ms). */
  sessionTimeoutMs?: number;
};

export type SinkConsumer = {
  readonly sink: string;
  /** Writes what can be written within `timeoutMs`, commits it, and leaves the group. */
  stop(timeoutMs?: number): Promise<void>;
};

export async function startSinkConsumer(options: SinkConsumerOptions): Promise<SinkConsumer> {
  const { admin, topic, groupId, store, batchSize, flushMs } = options;
  const sink = store.name;
  const log = options.logger.child({ component: "consumer", sink, groupId });
  const metrics = options.metrics ?? createMetrics();
  // Capped at 10 s: a store back from an outage is written to within seconds, not half a minute.
  const backoff = options.backoff ?? createBackoff({ initialMs: 200, maxMs: 10_000 });
  const sleep = options.sleep ?? realSleep;
  const generations = createGenerations();
  const partitions = createPartitionTable({
    topic,
    batchSize,
    flushMs,
    generations,
    logger: log,
    fetchCommitted: () => fetchCommitted(admin, groupId, topic),
  });
  const writer = createBatchWriter({
    store,
    deadLetters: options.deadLetters,
    commit: (partition, offset, metadata) =>
      member.consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }]),
    setPaused: (partition, paused) => {
      try {
        if (paused) member.consumer.pause([{ topic, partitions: [partition] }]);
        else member.consumer.resume([{ topic, partitions: [partition] }]);
      } catch {
        // Not assigned any more: the next generation starts unpaused anyway.
      }
    },
    generations,
    logger: log,
    metrics,
    backoff,
    sleep,
    flushMs,
  });
  const decoded = options.decoded ?? createDecodedMessages(1);
  const eachBatch = createBatchHandler(sink, partitions, writer, generations, decoded);
  const member = createGroupMember({ ...options, log, backoff, sleep, generations, partitions, eachBatch });

  const timer = setInterval(
    () => metrics.consumerBuffered.set({ sink }, writer.sealDue(partitions.values())),
    Math.max(10, Math.min(250, Math.floor(flushMs / 4))),
  );
  const lag = { admin, topic, groupId, sink, metrics };
  const lagTimer = setInterval(() => void measureLag(lag), options.lagIntervalMs ?? 5000);
  try {
    await member.run();
  } catch (err) {
    clearInterval(timer);
    clearInterval(lagTimer);
    throw err;
  }
  void measureLag(lag);
  log.info("consumer started", { topic, batchSize, flushMs });

  return {
    sink,
    async stop(timeoutMs = 10_000) {
      generations.stop(timeoutMs);
      clearInterval(timer);
      clearInterval(lagTimer);
      try {
        member.consumer.pause([{ topic }]);
      } catch {
        // Not running (crashed): nothing fetched any more anyway.
      }
      await writer.finish(() => partitions.values());
      await member.consumer.disconnect().catch((err) => log.warn("kafka consumer disconnect failed", { err }));
      log.info("consumer stopped");
    },
  };
}

async function fetchCommitted(admin: Admin, groupId: string, topic: string): Promise<Map<number, CommittedOffset>> {
  const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((t?.partitions ?? []).map((p) => [p.partition, { offset: p.offset, metadata: p.metadata }]));
}

/** kafkajs's eachBatch: collects messages into partition batches and hands sealed ones to the writer. */
function createBatchHandler(
  sink: string,
  partitions: PartitionTable,
  writer: BatchWriter,
  generations: Generations,
  decoded: DecodedMessages,
) {
  return async (payload: EachBatchPayload): Promise<void> => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const gen = generations.current;
    // The first fetch of a generation starts at the committed offset (or the reset position).
    const fetchedOffset = BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    const state = await partitions.stateFor(batch.partition, fetchedOffset, gen);
    if (!state) return;
    // These change only while the handler awaits (kafkajs events, a write settling), so they are
    // checked at the start and after each wait, not for every message.
    const current = () => isRunning() && !isStale() && !generations.stopping && generations.isCurrent(gen);
    let resolved: string | undefined;
    const messages = current() && !state.paused ? batch.messages : [];
    for (const message of messages) {
      const offset = BigInt(message.offset);
      if (offset < state.batcher.next) continue; // already collected (a fetch overlapping the last)
      if (!state.batcher.accepts(offset)) {
        // One batch in flight per partition, one collected behind it: wait a little for the
        // write, which keeps the fetched messages and the fetch going.
        if (state.writing) {
          await waitWritten(state, payload, () => !generations.stopping && generations.isCurrent(gen));
          if (!current()) break;
        }
        if (!state.batcher.accepts(offset)) {
          if (state.writing) {
            // A slow or failing sink: stop fetching until it is done. Unresolved messages are
            // fetched again after resume.
            writer.setPaused(state, true);
            break;
          }
          writer.sealAndWrite(state);
        }
      }
      const here = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      const now = Date.now();
      const entry = decoded.entryFor(message, here);
      // A replayed store refusal is stored by the sink that refused it only: the others have it.
      const target = replaySinkOf(message);
      state.batcher.add(offset, target !== undefined && target !== sink ? SKIP : entry, now, message);
      resolved = message.offset;
      if (!state.writing && state.batcher.isDue(now)) writer.sealAndWrite(state);
    }
    // Moves only kafkajs's fetch position (to after the last message collected); the commit comes
    // once the batch is stored.
    if (resolved !== undefined) resolveOffset(resolved);
    await heartbeat();
  };
}

const SKIP = { skip: true } as const;

/**
 * How long a full partition batch waits for the one being written before fetching pauses. Long:
 * a pause drops what kafkajs fetched beyond it (fetched and decoded again on resume), and a slow
 * store is not a failing one. A failing write pauses the partition itself, which ends the wait.
 */
const WRITE_WAIT_MS = 30_000;

/** Waits for the partition's batch in flight (up to WRITE_WAIT_MS), heartbeating each second. */
async function waitWritten(state: PartitionState, payload: EachBatchPayload, mayWait: () => boolean): Promise<void> {
  const until = Date.now() + WRITE_WAIT_MS;
  while (
    state.writing &&
    !state.paused &&
    mayWait() &&
    payload.isRunning() &&
    !payload.isStale() &&
    Date.now() < until
  ) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(1000, until - Date.now()));
    });
    await Promise.race([state.written, tick]);
    clearTimeout(timer);
    // Throws when the group rebalances: kafkajs then rejoins, as after any handler.
    await payload.heartbeat();
  }
}

type GroupMemberOptions = SinkConsumerOptions & {
  log: Logger;
  backoff: Backoff;
  sleep: (ms: number) => Promise<void>;
  generations: Generations;
  partitions: PartitionTable;
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
};

/**
 * The kafkajs consumer in the sink's group. After a failure kafkajs does not recover from itself:
 * a new consumer, retried with backoff for as long as it takes (Kafka may still be down), never a
 * crash of the process.
 */
function createGroupMember(o: GroupMemberOptions) {
  const { kafka, topic, groupId, log, generations, partitions } = o;
  let consumer: Consumer;
  let crashes = 0;

  const restart = async () => {
    for (let attempt = 1; !generations.stopping; attempt++) {
      await consumer.disconnect().catch(() => {});
      await o.sleep(o.backoff(Math.min(attempt + crashes - 1, 10)));
      if (generations.stopping) return;
      try {
        await run();
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) log.error("kafka consumer restart failed; retrying", { err, attempt });
      }
    }
  };

  const run = async (): Promise<void> => {
    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: Math.min(o.flushMs, 1000),
      // A backlog comes in fetches of a few batches (a seed-format message takes ~110 bytes).
      maxBytesPerPartition: 2 * 1024 * 1024,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      partitions.newGeneration();
      // kafkajs keeps pauses across a rejoin; the new generation starts with nothing in flight.
      if (!generations.stopping) consumer.resume([{ topic }]);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      partitions.newGeneration();
      crashes++;
      if (crashes === 1 || crashes % 10 === 0) {
        log.error("kafka consumer failed", { err: e.payload.error, restart: e.payload.restart, crashes });
      }
      // kafkajs restarts by itself after retriable errors; after the others we start anew.
      if (!e.payload.restart && !generations.stopping) void restart();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: o.fromBeginning });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: o.eachBatch });
  };

  return {
    get consumer(): Consumer {
      return consumer;
    },
    run,
  };
}
