/**
 * Writes sealed partition batches to one sink, without knowing Kafka: an offset is committed only
 * once its message is stored in this sink or dead-lettered — never because it failed.
 *
 * Per batch: (1) commit its intent (start offset + where it ends), (2) send its dead letters,
 * (3) insert its rows, (4) commit its end — deferred, so that the next batch's intent (the same
 * offset) completes it. A failed step is retried with backoff, without repeating the steps done;
 * while failing, the partition is paused. A batch whose generation ends (rebalance, crash) or
 * that shutdown gives up on is abandoned uncommitted: it is consumed again.
 */
import type { Logger } from "../src/log.ts";
import type { Metrics } from "../src/metrics.ts";
import type { Backoff } from "../src/retry.ts";
import type { Store } from "../src/store/store.ts";
import type { DeadLetterSink } from "./dead-letter.ts";
import type { Generations } from "./generation.ts";
import { formatBatchIntent, type PartitionBatch } from "./partition-batches.ts";
import type { PartitionState } from "./partition-state.ts";

export type BatchWriterDeps = {
  store: Pick<Store, "name" | "insertFootprints">;
  /** Only one sink writes dead letters (the others skip the same messages, parsing is deterministic). */
  deadLetters?: Pick<DeadLetterSink, "send"> | undefined;
  /** Commits `offset` of the partition with `metadata` (a batch intent, or null). */
  commit(partition: number, offset: bigint, metadata: string | null): Promise<void>;
  /** Stops or resumes fetching the partition. */
  setPaused(partition: number, paused: boolean): void;
  generations: Generations;
  logger: Logger;
  metrics: Metrics;
  backoff: Backoff;
  sleep(ms: number): Promise<void>;
  /** A batch is written when its oldest message has waited this long. */
  flushMs: number;
  now?: () => number;
  /** Runs `fn` after `ms` unless cancelled (setTimeout by default). */
  schedule?: (fn: () => void, ms: number) => () => void;
};

/** A batch being written, under the generation it was sealed in. */
type Job = { state: PartitionState; batch: PartitionBatch; gen: number };

type Step = "intent" | "dead-letters" | "insert" | "commit";

/** The dependencies with their defaults, and the writer's one lane. */
type Writer = BatchWriterDeps & {
  sink: string;
  now: () => number;
  schedule: (fn: () => void, ms: number) => () => void;
  commitDelayMs: number;
  /** One write (or deferred commit) at a time per sink consumer, across its partitions. */
  lane: Promise<void>;
};

export type BatchWriter = {
  /** Seals the partition's open batch and queues it; the next one waits for this to finish. */
  sealAndWrite(state: PartitionState): void;
  /** Queues every partition's batch that is due; returns how many messages are held unwritten. */
  sealDue(states: Iterable<PartitionState>): number;
  /** Stops or resumes fetching the partition, unless it already is. */
  setPaused(state: PartitionState, paused: boolean): void;
  /**
   * At shutdown (after `generations.stop`): writes what is collected, except a batch whose
   * recorded end is not reached yet, then commits what is stored. `states` is read twice: a
   * rebalance meanwhile replaces the partitions.
   */
  finish(states: () => Iterable<PartitionState>): Promise<void>;
  /** Resolves once no write or commit is queued. */
  drain(): Promise<void>;
};

const scheduleTimeout = (fn: () => void, ms: number) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

export function createBatchWriter(deps: BatchWriterDeps): BatchWriter {
  const w: Writer = {
    ...deps,
    sink: deps.store.name,
    now: deps.now ?? Date.now,
    schedule: deps.schedule ?? scheduleTimeout,
    // A stored batch's offsets are committed together with the next batch's intent (same offset),
    // or after this long without a next batch: half the commits under load. Until then a restart
    // finds the stored batch's intent and writes it again with the same token, which the sinks drop.
    commitDelayMs: Math.min(1000, deps.flushMs),
    lane: Promise.resolve(),
  };
  return {
    sealAndWrite: (state) => sealAndWrite(w, state),
    sealDue(states) {
      const at = w.now();
      let buffered = 0;
      for (const state of states) {
        if (!state.writing && state.batcher.isDue(at)) sealAndWrite(w, state);
        buffered += state.batcher.size;
      }
      return buffered;
    },
    setPaused: (state, paused) => setPaused(w, state, paused),
    finish: (states) => finish(w, states),
    drain: () => drain(w),
  };
}

function setPaused(w: Writer, state: PartitionState, paused: boolean): void {
  if (state.paused === paused) return;
  state.paused = paused;
  w.setPaused(state.partition, paused);
}

/** Sleeps in short steps so that shutdown and rebalances do not wait out a long backoff. */
async function waitBeforeRetry(w: Writer, attempt: number, gen: number): Promise<void> {
  const until = w.now() + w.backoff(attempt);
  while (w.now() < until && w.generations.mayContinue(gen)) await w.sleep(Math.min(250, until - w.now()));
}

/** Commits a stored batch's end offset, retrying while Kafka is away, unless something newer did. */
async function commitStored(w: Writer, state: PartitionState, end: bigint, gen: number): Promise<void> {
  for (let attempt = 1; w.generations.mayContinue(gen) && state.uncommitted?.end === end; attempt++) {
    try {
      await w.commit(state.partition, end, null);
      if (state.uncommitted?.end === end) state.uncommitted = undefined;
      w.logger.debug("batch committed", { partition: state.partition, offset: end.toString() });
      return;
    } catch (err) {
      w.metrics.sinkErrors.inc({ sink: w.sink });
      if (attempt === 1 || attempt % 10 === 0) w.logger.error("offset commit failed; will retry", { attempt, err });
      await waitBeforeRetry(w, attempt, gen);
    }
  }
}

function deferCommit(w: Writer, state: PartitionState, end: bigint, gen: number): void {
  state.uncommitted?.cancel?.();
  const cancel = w.schedule(() => {
    w.lane = w.lane.then(() => commitStored(w, state, end, gen));
  }, w.commitDelayMs);
  state.uncommitted = { end, cancel };
}

async function recordIntent(w: Writer, { state, batch }: Job): Promise<void> {
  await w.commit(batch.partition, batch.start, formatBatchIntent(batch.end));
  // The same offset: this commit also completes the previous batch of the partition.
  if (state.uncommitted && state.uncommitted.end <= batch.start) {
    state.uncommitted.cancel?.();
    state.uncommitted = undefined;
  }
  w.logger.debug("batch intent recorded", { partition: batch.partition, token: batch.token });
}

async function sendDeadLetters(w: Writer, batch: PartitionBatch): Promise<void> {
  if (!w.deadLetters || batch.deadLetters.length === 0) return;
  await w.deadLetters.send(batch.deadLetters);
  for (const l of batch.deadLetters) {
    w.metrics.deadLetters.inc({ code: l.code });
    w.logger.warn("invalid message dead-lettered", { ...l.origin, code: l.code, error: l.message.slice(0, 500) });
  }
}

async function insert(w: Writer, batch: PartitionBatch): Promise<void> {
  const started = performance.now();
  await w.store.insertFootprints(batch.rows, { token: batch.token });
  const seconds = (performance.now() - started) / 1000;
  w.metrics.sinkInsertSeconds.observe({ sink: w.sink }, seconds);
  w.metrics.sinkBatchRows.observe({ sink: w.sink }, batch.rows.length);
  w.metrics.sinkRows.inc({ sink: w.sink }, batch.rows.length);
  w.logger.debug("batch stored", { partition: batch.partition, token: batch.token, rows: batch.rows.length });
}

/**
 * Runs the steps from `progress.step` on, recording each one done; false when the batch's
 * generation is over or shutdown gave up on it.
 */
async function runSteps(w: Writer, job: Job, progress: { step: Step }): Promise<boolean> {
  const current = () => w.generations.mayContinue(job.gen);
  if (progress.step === "intent") {
    if (!current()) return false;
    await recordIntent(w, job);
    progress.step = "dead-letters";
  }
  if (progress.step === "dead-letters") {
    if (!current()) return false;
    await sendDeadLetters(w, job.batch);
    progress.step = job.batch.rows.length > 0 ? "insert" : "commit";
  }
  if (progress.step === "insert") {
    if (!current()) return false;
    await insert(w, job.batch);
    progress.step = "commit";
  }
  return current();
}

async function commitWritten(w: Writer, { state, batch, gen }: Job): Promise<void> {
  if (batch.rows.length > 0) return deferCommit(w, state, batch.end, gen);
  // Dead letters only: no intent was recorded, so the commit cannot wait for one.
  state.uncommitted?.cancel?.();
  state.uncommitted = { end: batch.end };
  await commitStored(w, state, batch.end, gen);
}

async function failed(w: Writer, { state, batch, gen }: Job, step: Step, attempt: number, err: unknown) {
  w.metrics.sinkErrors.inc({ sink: w.sink });
  // While the sink (or Kafka) is away nothing more is fetched for this partition.
  if (state.partition === batch.partition && w.generations.isCurrent(gen)) setPaused(w, state, true);
  if (attempt === 1 || attempt % 10 === 0) {
    w.logger.error(`${step === "insert" ? "sink rejected batch" : `batch ${step} failed`}; will retry`, {
      partition: batch.partition,
      attempt,
      rows: batch.rows.length,
      err,
    });
  }
  await waitBeforeRetry(w, attempt, gen);
}

/**
 * Writes one sealed batch, retrying until it is stored (and its commit scheduled), or its
 * generation is over, or shutdown gives up on it. Steps already done are not repeated on retry.
 */
async function write(w: Writer, job: Job): Promise<void> {
  const { batch, gen } = job;
  const progress: { step: Step } = { step: batch.rows.length > 0 ? "intent" : "dead-letters" };
  for (let attempt = 1; ; attempt++) {
    try {
      if (!(await runSteps(w, job, progress))) break;
      if (attempt > 1) w.logger.info("sink accepted batch after retry", { partition: batch.partition, attempt });
      await commitWritten(w, job);
      return;
    } catch (err) {
      await failed(w, job, progress.step, attempt, err);
    }
  }
  w.logger.warn("batch not committed; it will be consumed again", {
    partition: batch.partition,
    token: batch.token,
    reason: w.generations.isCurrent(gen) ? "shutdown timeout" : "partitions reassigned",
  });
}

function sealAndWrite(w: Writer, state: PartitionState): void {
  const batch = state.batcher.seal();
  const gen = w.generations.current;
  state.writing = true;
  w.lane = w.lane.then(async () => {
    await write(w, { state, batch, gen });
    if (!w.generations.isCurrent(gen)) return;
    state.writing = false;
    const { stopping } = w.generations;
    if (state.batcher.isDue(w.now()) || (stopping && state.batcher.canSealEarly())) sealAndWrite(w, state);
    else if (!stopping) setPaused(w, state, false);
  });
  state.written = w.lane;
}

/** Resolves once no write queued another one behind it. */
async function drain(w: Writer): Promise<void> {
  for (let seen = w.lane; ; seen = w.lane) {
    await seen;
    if (seen === w.lane) break;
  }
}

async function finish(w: Writer, states: () => Iterable<PartitionState>): Promise<void> {
  for (const state of states()) {
    if (!state.writing && state.batcher.canSealEarly()) sealAndWrite(w, state);
  }
  await drain(w);
  for (const state of states()) {
    const pending = state.uncommitted;
    if (!pending) continue;
    pending.cancel?.();
    const gen = w.generations.current;
    w.lane = w.lane.then(() => commitStored(w, state, pending.end, gen));
  }
  await drain(w);
}
