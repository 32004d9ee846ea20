/**
 * Writes sealed partition batches to one sink, without knowing Kafka: an offset is committed only
 * once its message is stored in this sink or dead-lettered — never because it failed.
 *
 * Per batch: (1) commit its intent (start offset + where it ends), (2) send its dead letters,
 * (3) insert its rows, (4) dead-letter the rows the store refused for their content, (5) commit
 * its end — deferred, so that the next batch's intent (the same offset) completes it. A failed
 * step is retried with backoff, without repeating the steps done; while failing, the partition is
 * paused. A batch whose generation ends (rebalance, crash) or that shutdown gives up on is
 * abandoned uncommitted: it is consumed again.
 *
 * An insert the store refuses is classed by the store (src/store/store-errors.ts): an outage is
 * retried as above; a content error splits the batch in halves, inserted on their own, down to the
 * single rows the store refuses, which step 4 dead-letters. Each part carries a token of its own,
 * derived from the batch's and its first and last offset, so a redelivered batch split the same
 * way is dropped part by part (ClickHouse), as PostgreSQL drops repeated event_ids.
 */
import type { Logger } from "../src/log.ts";
import type { Metrics } from "../src/metrics.ts";
import type { Backoff } from "../src/retry.ts";
import type { Store } from "../src/store/store.ts";
import { classifyStoreError, type StoreError } from "../src/store/store-errors.ts";
import { type DeadLetter, type DeadLetterSink, originOf } from "./dead-letter.ts";
import type { Generations } from "./generation.ts";
import { formatBatchIntent, type PartitionBatch, type RowSource } from "./partition-batches.ts";
import type { PartitionState } from "./partition-state.ts";

export type BatchWriterDeps = {
  store: Pick<Store, "name" | "insertFootprints">;
  /** What a failed insert says about its rows; by default the store's classifier (store-errors.ts). */
  classify?: (err: unknown) => StoreError;
  /**
   * Every sink's group writes dead letters, its parse errors and its store's refusals; a parse
   * error reached by both groups of a process is written once (see DeadLetterSink.send).
   */
  deadLetters: Pick<DeadLetterSink, "send">;
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

type Step = "intent" | "dead-letters" | "insert" | "rejections" | "commit";

/**
 * How far a batch got, kept across its retries: the step, the row ranges (`lo-hi`) stored or
 * settled, and the rows the store refused, by index.
 */
type Progress = { step: Step; settled: Set<string>; rejected: Map<number, DeadLetter> };

/** The dependencies with their defaults, and the writer's one lane. */
type Writer = BatchWriterDeps & {
  sink: Store["name"];
  classify: (err: unknown) => StoreError;
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
    classify: deps.classify ?? ((err) => classifyStoreError(deps.store.name, err)),
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

/** Sends the letters; counts and logs those this call wrote (another group may have written some). */
async function sendDeadLetters(w: Writer, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  for (const l of await w.deadLetters.send(letters)) {
    const error = l.message.slice(0, 500);
    if (l.rejectedBy) {
      w.metrics.deadLetters.inc({ code: l.code, rejected_by: l.rejectedBy });
      w.logger.warn("row refused by the store dead-lettered", { ...l.origin, storeCode: l.storeCode, error });
    } else {
      w.metrics.deadLetters.inc({ code: l.code });
      w.logger.warn("invalid message dead-lettered", { ...l.origin, code: l.code, error });
    }
  }
}

async function insert(w: Writer, batch: PartitionBatch, progress: Progress): Promise<void> {
  const started = performance.now();
  await insertRange(w, batch, progress, 0, batch.rows.length);
  const seconds = (performance.now() - started) / 1000;
  const stored = batch.rows.length - progress.rejected.size;
  w.metrics.sinkInsertSeconds.observe({ sink: w.sink }, seconds);
  w.metrics.sinkBatchRows.observe({ sink: w.sink }, stored);
  w.metrics.sinkRows.inc({ sink: w.sink }, stored);
  w.logger.debug("batch stored", { partition: batch.partition, token: batch.token, rows: stored });
}

/**
 * Inserts rows [lo, hi) of the batch; when the store refuses them for their content, parts of it
 * on their own, down to the single rows it refuses. Where the store names the row it refused
 * (ClickHouse: "at row N"), the rows before it, it alone and the rows after it (3 inserts per
 * refused row); else each half (about 2·log2(n)). An outage is thrown: the retry skips the ranges
 * settled before it.
 */
async function insertRange(w: Writer, batch: PartitionBatch, progress: Progress, lo: number, hi: number) {
  const range = `${lo}-${hi}`;
  if (progress.settled.has(range)) return;
  const whole = lo === 0 && hi === batch.rows.length;
  try {
    await w.store.insertFootprints(whole ? batch.rows : batch.rows.slice(lo, hi), { token: rangeToken(batch, lo, hi) });
  } catch (err) {
    const verdict = w.classify(err);
    if (verdict.class === "outage") throw err;
    if (whole) {
      w.logger.warn("store refused the batch for its content; isolating the rows it refuses", {
        partition: batch.partition,
        token: batch.token,
        rows: batch.rows.length,
        storeCode: verdict.code,
        error: verdict.message.slice(0, 500),
      });
    }
    if (hi - lo === 1) progress.rejected.set(lo, refusal(w, batch, lo, verdict));
    else for (const [a, b] of splitPoints(lo, hi, verdict.row)) await insertRange(w, batch, progress, a, b);
  }
  progress.settled.add(range);
}

/** The parts [lo, hi) is split into: around the row the store named (1-based), or in halves. */
export function splitPoints(lo: number, hi: number, row: number | undefined): [number, number][] {
  if (row === undefined || row < 1 || row > hi - lo) {
    const mid = lo + Math.ceil((hi - lo) / 2);
    return [
      [lo, mid],
      [mid, hi],
    ];
  }
  const at = lo + row - 1;
  const parts: [number, number][] = [
    [lo, at],
    [at, at + 1],
    [at + 1, hi],
  ];
  return parts.filter(([a, b]) => b > a);
}

/**
 * The batch's token for the whole batch; for a part, the batch's token and the part's first and
 * last offset: the same part of a redelivered batch gets the same token.
 */
export function rangeToken(batch: Pick<PartitionBatch, "token" | "rows" | "sources">, lo: number, hi: number) {
  if (lo === 0 && hi === batch.rows.length) return batch.token;
  return `${batch.token}/${batch.sources[lo]?.offset}-${batch.sources[hi - 1]?.offset}`;
}

/**
 * The dead letter of a row the store refused: the message it came from, keyed by its first
 * position (a replayed message keeps the event id the other store stored it under).
 */
function refusal(w: Writer, batch: PartitionBatch, index: number, verdict: StoreError): DeadLetter {
  const source = batch.sources[index] as RowSource;
  const here = { topic: batch.topic, partition: batch.partition, offset: source.offset };
  return {
    origin: originOf(source, here),
    rejectedBy: w.sink,
    storeCode: verdict.code,
    code: "MESSAGE_REJECTED_BY_STORE",
    message: verdict.message,
    value: source.value,
    headers: source.headers ?? {},
    timestamp: source.timestamp,
  };
}

/**
 * Runs the steps from `progress.step` on, recording each one done; false when the batch's
 * generation is over or shutdown gave up on it.
 */
async function runSteps(w: Writer, job: Job, progress: Progress): Promise<boolean> {
  const current = () => w.generations.mayContinue(job.gen);
  if (progress.step === "intent") {
    if (!current()) return false;
    await recordIntent(w, job);
    progress.step = "dead-letters";
  }
  if (progress.step === "dead-letters") {
    if (!current()) return false;
    await sendDeadLetters(w, job.batch.deadLetters);
    progress.step = job.batch.rows.length > 0 ? "insert" : "commit";
  }
  if (progress.step === "insert") {
    if (!current()) return false;
    await insert(w, job.batch, progress);
    progress.step = "rejections";
  }
  if (progress.step === "rejections") {
    if (!current()) return false;
    await sendDeadLetters(w, [...progress.rejected.values()]);
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
  const progress: Progress = {
    step: batch.rows.length > 0 ? "intent" : "dead-letters",
    settled: new Set(),
    rejected: new Map(),
  };
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
