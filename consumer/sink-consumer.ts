/**
 * Delivery contract: Kafka gives at-least-once; every sink is idempotent (PostgreSQL by its unique
 * event_id, ClickHouse by the batch token, see partition-batches.ts); an offset is committed only
 * once its message is stored in this sink or dead-lettered — never because it failed.
 *
 * One consumer group per sink, so a sink that is down stops only its own group: the other keeps
 * ingesting, each with its own committed offsets and lag.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { parseFootprintMessage } from "../src/footprint/parse-message.ts";
import type { Logger } from "../src/log.ts";
import { createMetrics, type Metrics } from "../src/metrics.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../src/retry.ts";
import type { Store } from "../src/store/store.ts";
import { type DeadLetterSink, originOf } from "./dead-letter.ts";
import {
  createPartitionBatcher,
  formatBatchIntent,
  type PartitionBatch,
  type PartitionBatcher,
  parseBatchIntent,
} from "./partition-batches.ts";

export type SinkConsumerOptions = {
  kafka: Kafka;
  /** Connected admin client, shared by the sinks (offsets, lag). */
  admin: Admin;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  store: Store;
  /** Only one sink writes dead letters (the others skip the same messages, parsing is deterministic). */
  deadLetters?: DeadLetterSink | undefined;
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

type PartitionState = {
  partition: number;
  batcher: PartitionBatcher;
  /** The batch being written (at most one per partition, so memory stays bounded). */
  writing: boolean;
  paused: boolean;
  /** End offset of a stored batch whose commit waits for the next batch's intent (or a timer). */
  uncommitted: { end: bigint; timer?: ReturnType<typeof setTimeout> } | undefined;
};

export async function startSinkConsumer(options: SinkConsumerOptions): Promise<SinkConsumer> {
  const { kafka, admin, topic, groupId, store, batchSize, flushMs } = options;
  const sink = store.name;
  const log = options.logger.child({ component: "consumer", sink, groupId });
  const metrics = options.metrics ?? createMetrics();
  // Capped at 10 s: a store back from an outage is written to within seconds, not half a minute.
  const backoff = options.backoff ?? createBackoff({ initialMs: 200, maxMs: 10_000 });
  const sleep = options.sleep ?? realSleep;

  // Bumped whenever kafkajs may have reset its positions (join, crash): everything collected or
  // being written under an older generation is dropped uncommitted, and fetched again.
  let generation = 0;
  let partitions = new Map<number, PartitionState>();
  let committedAtJoin: Promise<Map<number, { offset: string; metadata: string | null }>> | undefined;
  let stopping = false;
  let abandonAt = Number.POSITIVE_INFINITY;
  let lane: Promise<void> = Promise.resolve();
  let consumer: Consumer;
  let crashes = 0;

  const newGeneration = () => {
    generation++;
    partitions = new Map();
    committedAtJoin = undefined;
  };

  const commit = async (partition: number, offset: bigint, metadata: string | null) => {
    await consumer.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }]);
  };

  const setPaused = (state: PartitionState, paused: boolean) => {
    if (state.paused === paused) return;
    state.paused = paused;
    try {
      if (paused) consumer.pause([{ topic, partitions: [state.partition] }]);
      else consumer.resume([{ topic, partitions: [state.partition] }]);
    } catch {
      // Not assigned any more: the next generation starts unpaused anyway.
    }
  };

  // A stored batch's offsets are committed together with the next batch's intent (same offset),
  // or after this long without a next batch: half the commits under load. Until then a restart
  // finds the stored batch's intent and writes it again with the same token, which the sinks drop.
  const commitDelayMs = Math.min(1000, flushMs);

  /** Commits a stored batch's end offset, retrying while Kafka is away, unless something newer did. */
  async function commitStored(state: PartitionState, end: bigint, gen: number): Promise<void> {
    for (let attempt = 1; gen === generation && state.uncommitted?.end === end; attempt++) {
      if (stopping && Date.now() >= abandonAt) return;
      try {
        await commit(state.partition, end, null);
        if (state.uncommitted?.end === end) state.uncommitted = undefined;
        log.debug("batch committed", { partition: state.partition, offset: end.toString() });
        return;
      } catch (err) {
        metrics.sinkErrors.inc({ sink });
        if (attempt === 1 || attempt % 10 === 0) log.error("offset commit failed; will retry", { attempt, err });
        const until = Date.now() + backoff(attempt);
        while (Date.now() < until && gen === generation && !(stopping && Date.now() >= abandonAt)) {
          await sleep(Math.min(250, until - Date.now()));
        }
      }
    }
  }

  function deferCommit(state: PartitionState, end: bigint, gen: number) {
    if (state.uncommitted) clearTimeout(state.uncommitted.timer);
    const timer = setTimeout(() => {
      lane = lane.then(() => commitStored(state, end, gen));
    }, commitDelayMs);
    state.uncommitted = { end, timer };
  }

  /**
   * Writes one sealed batch, retrying until it is stored (and its commit scheduled), or its
   * generation is over, or shutdown gives up on it. Steps already done are not repeated on retry.
   */
  async function writeBatch(state: PartitionState, batch: PartitionBatch, gen: number): Promise<void> {
    const current = () => gen === generation && !(stopping && Date.now() >= abandonAt);
    const hasRows = batch.rows.length > 0;
    let step: "intent" | "dead-letters" | "insert" | "commit" = hasRows ? "intent" : "dead-letters";
    for (let attempt = 1; ; attempt++) {
      try {
        if (step === "intent") {
          if (!current()) break;
          await commit(batch.partition, batch.start, formatBatchIntent(batch.end));
          // The same offset: this commit also completes the previous batch of the partition.
          if (state.uncommitted && state.uncommitted.end <= batch.start) {
            clearTimeout(state.uncommitted.timer);
            state.uncommitted = undefined;
          }
          log.debug("batch intent recorded", { partition: batch.partition, token: batch.token });
          step = "dead-letters";
        }
        if (step === "dead-letters") {
          if (!current()) break;
          if (options.deadLetters && batch.deadLetters.length > 0) {
            await options.deadLetters.send(batch.deadLetters);
            for (const l of batch.deadLetters) {
              metrics.deadLetters.inc({ code: l.code });
              log.warn("invalid message dead-lettered", { ...l.origin, code: l.code, error: l.message.slice(0, 500) });
            }
          }
          step = hasRows ? "insert" : "commit";
        }
        if (step === "insert") {
          if (!current()) break;
          const started = performance.now();
          await store.insertFootprints(batch.rows, { token: batch.token });
          const seconds = (performance.now() - started) / 1000;
          metrics.sinkInsertSeconds.observe({ sink }, seconds);
          metrics.sinkBatchRows.observe({ sink }, batch.rows.length);
          metrics.sinkRows.inc({ sink }, batch.rows.length);
          log.debug("batch stored", { partition: batch.partition, token: batch.token, rows: batch.rows.length });
          step = "commit";
        }
        if (!current()) break;
        if (attempt > 1) log.info("sink accepted batch after retry", { partition: batch.partition, attempt });
        if (hasRows) {
          deferCommit(state, batch.end, gen);
        } else {
          // Dead letters only: no intent was recorded, so the commit cannot wait for one.
          if (state.uncommitted) clearTimeout(state.uncommitted.timer);
          state.uncommitted = { end: batch.end };
          await commitStored(state, batch.end, gen);
        }
        return;
      } catch (err) {
        metrics.sinkErrors.inc({ sink });
        // While the sink (or Kafka) is away nothing more is fetched for this partition.
        if (state.partition === batch.partition && gen === generation) setPaused(state, true);
        if (attempt === 1 || attempt % 10 === 0) {
          log.error(`${step === "insert" ? "sink rejected batch" : `batch ${step} failed`}; will retry`, {
            partition: batch.partition,
            attempt,
            rows: batch.rows.length,
            err,
          });
        }
        const wait = backoff(attempt);
        const until = Date.now() + wait;
        // Sleeps in short steps so that shutdown and rebalances do not wait out a long backoff.
        while (Date.now() < until && current()) await sleep(Math.min(250, until - Date.now()));
      }
    }
    log.warn("batch not committed; it will be consumed again", {
      partition: batch.partition,
      token: batch.token,
      reason: gen !== generation ? "partitions reassigned" : "shutdown timeout",
    });
  }

  /** Seals the partition's open batch and queues it; the next one waits for this to finish. */
  function sealAndWrite(state: PartitionState) {
    const batch = state.batcher.seal();
    const gen = generation;
    state.writing = true;
    lane = lane.then(async () => {
      await writeBatch(state, batch, gen);
      if (gen !== generation) return;
      state.writing = false;
      if (state.batcher.isDue(Date.now()) || (stopping && state.batcher.canSealEarly())) sealAndWrite(state);
      else if (!stopping) setPaused(state, false);
    });
  }

  async function stateFor(payload: EachBatchPayload, gen: number): Promise<PartitionState | undefined> {
    const { partition } = payload.batch;
    const known = partitions.get(partition);
    if (known) return known;
    committedAtJoin ??= admin
      .fetchOffsets({ groupId, topics: [topic] })
      .then(
        ([t]) => new Map((t?.partitions ?? []).map((p) => [p.partition, { offset: p.offset, metadata: p.metadata }])),
      );
    const committed = await committedAtJoin.catch((err) => {
      committedAtJoin = undefined;
      throw err;
    });
    if (gen !== generation) return undefined;
    // The first fetch of a generation starts at the committed offset (or the reset position).
    const start = BigInt((payload.batch as unknown as { fetchedOffset: string }).fetchedOffset);
    const c = committed.get(partition);
    const cutAt = c && BigInt(c.offset) === start ? parseBatchIntent(c.metadata) : undefined;
    if (cutAt !== undefined)
      log.info("resuming a batch recorded before a restart", {
        partition,
        start: start.toString(),
        end: cutAt.toString(),
      });
    const state: PartitionState = {
      partition,
      batcher: createPartitionBatcher({ topic, partition, start, cutAt, batchSize, flushMs }),
      writing: false,
      paused: false,
      uncommitted: undefined,
    };
    partitions.set(partition, state);
    return state;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const gen = generation;
    const state = await stateFor(payload, gen);
    if (!state) return;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || stopping || gen !== generation || state.paused) break;
      const offset = BigInt(message.offset);
      if (offset < state.batcher.next) continue; // already collected (a fetch overlapping the last)
      if (!state.batcher.accepts(offset)) {
        if (state.writing) {
          // One batch in flight per partition: stop fetching until it is done. Unresolved
          // messages are fetched again after resume.
          setPaused(state, true);
          break;
        }
        sealAndWrite(state);
      }
      const here = { topic: batch.topic, partition: batch.partition, offset: message.offset };
      const parsed = parseFootprintMessage(message.value, originOf(message, here));
      state.batcher.add(
        offset,
        parsed.ok
          ? { row: parsed.row }
          : {
              deadLetter: {
                origin: here,
                code: parsed.code,
                message: parsed.message,
                value: message.value,
                headers: message.headers ?? {},
                timestamp: message.timestamp,
              },
            },
        Date.now(),
      );
      // Moves only kafkajs's fetch position; the commit comes once the batch is stored.
      resolveOffset(message.offset);
      if (!state.writing && state.batcher.isDue(Date.now())) sealAndWrite(state);
    }
    await heartbeat();
  }

  const timer = setInterval(
    () => {
      const now = Date.now();
      let buffered = 0;
      for (const state of partitions.values()) {
        if (!state.writing && state.batcher.isDue(now)) sealAndWrite(state);
        buffered += state.batcher.size;
      }
      metrics.consumerBuffered.set({ sink }, buffered);
    },
    Math.max(10, Math.min(250, Math.floor(flushMs / 4))),
  );

  const measureLag = async () => {
    try {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      for (const end of ends) {
        const c = committed?.partitions.find((p) => p.partition === end.partition);
        const position = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
        metrics.consumerLag.set({ sink, partition: String(end.partition) }, Math.max(0, Number(end.high) - position));
      }
    } catch {
      // Kafka away: the last value stays; the sink's own errors say more.
    }
  };
  const lagTimer = setInterval(() => void measureLag(), options.lagIntervalMs ?? 5000);

  // After a failure kafkajs does not recover from itself: a new consumer, retried with backoff for
  // as long as it takes (Kafka may still be down), never a crash of the process.
  const restart = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      await consumer.disconnect().catch(() => {});
      await sleep(backoff(Math.min(attempt + crashes - 1, 10)));
      if (stopping) return;
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
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: Math.min(flushMs, 1000),
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      newGeneration();
      // kafkajs keeps pauses across a rejoin; the new generation starts with nothing in flight.
      if (!stopping) consumer.resume([{ topic }]);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      newGeneration();
      crashes++;
      if (crashes === 1 || crashes % 10 === 0) {
        log.error("kafka consumer failed", { err: e.payload.error, restart: e.payload.restart, crashes });
      }
      // kafkajs restarts by itself after retriable errors; after the others we start anew.
      if (!e.payload.restart && !stopping) void restart();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  };
  try {
    await run();
  } catch (err) {
    clearInterval(timer);
    clearInterval(lagTimer);
    throw err;
  }
  void measureLag();
  log.info("consumer started", { topic, batchSize, flushMs });

  return {
    sink,
    async stop(timeoutMs = 10_000) {
      stopping = true;
      abandonAt = Date.now() + timeoutMs;
      clearInterval(timer);
      clearInterval(lagTimer);
      try {
        consumer.pause([{ topic }]);
      } catch {
        // Not running (crashed): nothing fetched any more anyway.
      }
      // What is collected is written now, except a batch whose recorded end is not reached yet.
      for (const state of partitions.values()) {
        if (!state.writing && state.batcher.canSealEarly()) sealAndWrite(state);
      }
      // Drained when no write queued another one behind it; then what is stored is committed.
      const drain = async () => {
        for (let seen = lane; ; seen = lane) {
          await seen;
          if (seen === lane) break;
        }
      };
      await drain();
      for (const state of partitions.values()) {
        const pending = state.uncommitted;
        if (!pending) continue;
        clearTimeout(pending.timer);
        const gen = generation;
        lane = lane.then(() => commitStored(state, pending.end, gen));
      }
      await drain();
      await consumer.disconnect().catch((err) => log.warn("kafka consumer disconnect failed", { err }));
      log.info("consumer stopped");
    },
  };
}
