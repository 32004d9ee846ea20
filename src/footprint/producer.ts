import type { Logger } from "../log.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../retry.ts";
import type { FootprintEvent } from "./message.ts";
import type { EventQueue } from "./queue.ts";
import type { Spool } from "./spool.ts";

/** Sends one batch of message values to Kafka; resolves once the broker acknowledged all. */
export type SendBatch = (values: string[]) => Promise<void>;

/** The counters the loop keeps: the Prometheus ones, or a worker's stand-ins that the main thread adds up. */
export type ProducerMetrics = {
  eventsProduced: { inc(n?: number): void };
  eventsQueued: { set(n: number): void };
  eventsSpooled: { inc(n?: number): void };
  spoolBytes: { set(n: number): void };
  eventsDropped: { inc(labels: { reason: DropReason }, n?: number): void };
};

export type ProducerLoopOptions = {
  /** Bounded memory queue: where events wait while Kafka keeps up. */
  queue: EventQueue<FootprintEvent>;
  /** Disk overflow once the queue is full; without it, overflow is dropped (and counted). */
  spool?: Spool | undefined;
  send: SendBatch;
  logger: Logger;
  metrics?: ProducerMetrics | undefined;
  /** Most events per Kafka request. */
  batchMax?: number;
  /**
   * How long an idle loop waits after the first new event before sending, so that one request
   * to Kafka carries what arrives meanwhile (kafkajs has no linger of its own); 0 sends at once.
   */
  lingerMs?: number;
  /**
   * Longest an event waits in memory without Kafka's acknowledgement before it is written to the
   * spool (with one): the bound on what a crash of the process (`kill -9`) can lose while Kafka is
   * slow or down. Checked every `spillMs / 5`.
   */
  spillMs?: number;
  /** How often dropped events are reported (never silently lost). */
  dropReportMs?: number;
  /**
   * A send not acknowledged within this long is reported as failing (the idempotent producer
   * retries without limit, so a send may never end while Kafka refuses it); the loop keeps
   * waiting for that same send rather than sending the batch again beside it.
   */
  ackReportMs?: number;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
};

export type ProducerLoop = {
  /** Records one event without waiting and without throwing: memory, else spool, else dropped. */
  offer(event: FootprintEvent): boolean;
  /**
   * Sends what waits until nothing is left or `timeoutMs` passes; what is still unsent then goes to
   * the spool. `unsent` counts the events that could be kept nowhere (dropped).
   */
  stop(timeoutMs?: number): Promise<{ unsent: number; spooled: number }>;
};

/** `since`: when the oldest of its events was offered (a batch from memory). */
type Batch = { values: string[]; fromSpool: boolean; since: number; ack(): void };

export type DropReason = "spool_full" | "spool_disabled" | "spool_corrupt" | "shutdown" | "worker_full";

/** The options with their defaults, and what the loop keeps between calls. */
type Loop = Omit<ProducerLoopOptions, "batchMax" | "backoff" | "sleep" | "ackReportMs" | "lingerMs" | "spillMs"> & {
  batchMax: number;
  lingerMs: number;
  spillMs: number;
  ackReportMs: number;
  backoff: Backoff;
  sleep: (ms: number) => Promise<void>;
  stopping: boolean;
  deadline: number;
  /** Ends a wait for an acknowledgement (set while one waits): stop() calls it. */
  interruptAck: (() => void) | undefined;
  /** The batch being sent: kept on disk at shutdown when Kafka did not take it. */
  inHand: Batch | undefined;
  /** Wakes the idle loop (set while it waits for an event). */
  wake: (() => void) | undefined;
  /** Since the last report. */
  dropped: { spool_full: number; spool_corrupt: number };
  spooledSinceReport: number;
};

/**
 * Fail-open delivery to Kafka, off the request path. Order is kept: everything in the disk spool
 * is older than everything in the memory queue, and the loop sends the spool first. Events go to
 * the memory queue; when it is full, or its oldest event (or the batch being sent) has waited
 * `spillMs` without Kafka's acknowledgement, what waits in memory moves to the end of the spool,
 * oldest first — the batch in flight too, as the spool's first lines, which its acknowledgement
 * then skips. While the spool holds anything, new events go behind it there (into memory only
 * when it refuses them). At stop, what is still in memory goes to the end of the spool too, so
 * the next start sends everything in the order it was recorded. A failed batch is retried as it
 * is (same events, same order) with capped backoff. A resend after a failure the broker may have
 * half-taken can write events twice (the idempotent producer does not see the same request
 * again): the stores count each event_id once (docs/delivery.md#duplicates).
 */
export function startProducerLoop(options: ProducerLoopOptions): ProducerLoop {
  const l: Loop = {
    ...options,
    batchMax: options.batchMax ?? 1000,
    lingerMs: options.lingerMs ?? 0,
    spillMs: options.spillMs ?? 250,
    ackReportMs: options.ackReportMs ?? 10_000,
    backoff: options.backoff ?? createBackoff({ initialMs: 100, maxMs: 5000 }),
    sleep: options.sleep ?? realSleep,
    stopping: false,
    deadline: Number.POSITIVE_INFINITY,
    interruptAck: undefined,
    inHand: undefined,
    wake: undefined,
    dropped: { spool_full: 0, spool_corrupt: 0 },
    spooledSinceReport: 0,
  };
  const reportTimer = setInterval(() => report(l), options.dropReportMs ?? 10_000);
  reportTimer.unref?.();
  const gaugeTimer = setInterval(() => setGauges(l), 1000);
  gaugeTimer.unref?.();
  const spillTimer = options.spool ? setInterval(() => spillIfStale(l), Math.max(1, l.spillMs / 5)) : undefined;
  spillTimer?.unref?.();
  const done = run(l);

  return {
    offer: (event) => offer(l, event),
    async stop(timeoutMs = 10_000) {
      l.deadline = Date.now() + timeoutMs;
      l.stopping = true;
      l.interruptAck?.();
      l.wake?.();
      await done;
      clearInterval(reportTimer);
      clearInterval(gaugeTimer);
      clearInterval(spillTimer);
      return keepUnsent(l);
    },
  };
}

function drop(l: Loop, reason: DropReason, n = 1): void {
  l.metrics?.eventsDropped.inc({ reason }, n);
  if (reason === "spool_full" || reason === "spool_disabled") l.dropped.spool_full += n;
  if (reason === "spool_corrupt") l.dropped.spool_corrupt += n;
}

function toSpool(l: Loop, value: string): boolean {
  if (l.spool?.append(value)) {
    countSpooled(l, 1);
    return true;
  }
  return false;
}

function countSpooled(l: Loop, n: number): void {
  l.metrics?.eventsSpooled.inc(n);
  l.spooledSinceReport += n;
}

/** Spills what waits in memory once its oldest event has waited `spillMs` unacknowledged. */
function spillIfStale(l: Loop): void {
  const inHand = l.inHand && !l.inHand.fromSpool ? l.inHand.since : Number.POSITIVE_INFINITY;
  const oldest = Math.min(inHand, l.queue.oldestAt ?? Number.POSITIVE_INFINITY);
  if (Date.now() - oldest >= l.spillMs) spill(l);
}

/**
 * Moves what waits in memory to the end of the spool, oldest first, written at once. The batch
 * being sent goes only into an empty spool (its lines are then the first, and its acknowledgement
 * skips them); when it cannot, the queue stays in memory too, behind it.
 */
function spill(l: Loop): void {
  const { spool, queue, inHand } = l;
  if (!spool) return;
  if (inHand && !inHand.fromSpool) {
    if (!spool.isEmpty || !spool.appendAll(inHand.values)) return;
    const n = inHand.values.length;
    inHand.fromSpool = true;
    inHand.ack = () => skipSpooled(spool, n);
    countSpooled(l, n);
  }
  while (queue.size > 0) {
    const events = queue.take(l.batchMax);
    if (!spool.appendAll(events.map((e) => JSON.stringify(e)))) {
      queue.restore(events);
      return;
    }
    countSpooled(l, events.length);
  }
}

/** Kafka took a spilled batch: its lines, the spool's first `n`, are not sent again. */
function skipSpooled(spool: Spool, n: number): void {
  for (let left = n; left > 0; ) {
    const read = spool.read(left);
    if (!read) return;
    read.ack();
    if (read.lines.length === 0) return;
    left -= read.lines.length;
  }
}

function setGauges(l: Loop): void {
  l.metrics?.eventsQueued.set(l.queue.size);
  l.metrics?.spoolBytes.set(l.spool?.bytes ?? 0);
}

/** Says what was dropped or spooled since the last report: never silently lost. */
function report(l: Loop): void {
  const { queue, spool, logger, dropped } = l;
  const corrupt = spool?.takeCorrupt() ?? 0;
  if (corrupt > 0) drop(l, "spool_corrupt", corrupt);
  const full = queue.takeDropped() + dropped.spool_full;
  if (full > 0 || dropped.spool_corrupt > 0) {
    logger.error("footprint events dropped", {
      dropped: full,
      unreadableSpoolLines: dropped.spool_corrupt,
      queueCapacity: queue.capacity,
      spool: spool ? "full or unusable" : "disabled (SPOOL_DIR empty)",
    });
  }
  if (l.spooledSinceReport > 0) {
    logger.warn("kafka is behind: footprints spooled to disk", { spooled: l.spooledSinceReport, bytes: spool?.bytes });
  }
  dropped.spool_full = 0;
  dropped.spool_corrupt = 0;
  l.spooledSinceReport = 0;
  setGauges(l);
}

/** Records one event without waiting and without throwing: memory or spool (in order), else dropped. */
function offer(l: Loop, event: FootprintEvent): boolean {
  const { queue, spool } = l;
  try {
    if (spool && queue.size >= queue.capacity) spill(l);
    // Behind what the spool holds, new events go to the spool too, to keep the order.
    const kept =
      (spool && queue.size === 0 && !spool.isEmpty && toSpool(l, JSON.stringify(event))) ||
      (queue.size < queue.capacity && queue.offer(event));
    if (kept) {
      l.wake?.();
      return true;
    }
    if (spool) drop(l, "spool_full");
    else {
      queue.offer(event); // counted as dropped by the queue
      l.metrics?.eventsDropped.inc({ reason: "spool_disabled" });
    }
    return false;
  } catch (err) {
    l.logger.error("footprint not queued", { err });
    return false;
  }
}

/** The spool first: everything in it is older than what waits in memory. */
function nextBatch(l: Loop): Batch | undefined {
  const { queue, spool } = l;
  const read = spool && !spool.isEmpty ? spool.read(l.batchMax) : undefined;
  if (read) return { values: read.lines, fromSpool: true, since: Date.now(), ack: read.ack };
  if (queue.size === 0) return undefined;
  const since = queue.oldestAt ?? Date.now();
  const events = queue.take(l.batchMax);
  return { values: events.map((e) => JSON.stringify(e)), fromSpool: false, since, ack() {} };
}

const pastDeadline = (l: Loop) => l.stopping && Date.now() >= l.deadline;

async function run(l: Loop): Promise<void> {
  const health = { failing: false };
  while (true) {
    if (pastDeadline(l)) return;
    const batch = nextBatch(l);
    if (!batch) {
      if (l.stopping) return;
      // Woken by offer() or stop(); no listener on an abort signal, which would pile up one per idle wait.
      await new Promise<void>((resolve) => {
        l.wake = resolve;
      });
      l.wake = undefined;
      if (l.lingerMs > 0 && !l.stopping && l.queue.size < l.batchMax) await l.sleep(l.lingerMs);
      continue;
    }
    if (batch.values.length === 0) {
      batch.ack();
      continue;
    }
    l.inHand = batch;
    if (!(await sendUntilAcked(l, batch, health))) return;
    l.inHand = undefined;
    batch.ack();
    l.metrics?.eventsProduced.inc(batch.values.length);
    if (health.failing)
      l.logger.info("kafka produce recovered", { queued: l.queue.size, spoolBytes: l.spool?.bytes ?? 0 });
    health.failing = false;
  }
}

/** Sends the batch, retried as it is until the broker takes it; false when stop()'s deadline came first. */
async function sendUntilAcked(l: Loop, batch: Batch, health: { failing: boolean }): Promise<boolean> {
  const failing = (err: unknown) => {
    // A missing topic is logged by the topic watch that raised it, once, with the fix.
    if (!health.failing && !isTopicMissing(err)) {
      l.logger.error("kafka produce failed; retrying", { err, queued: l.queue.size });
    }
    health.failing = true;
  };
  for (let attempt = 1; ; attempt++) {
    try {
      const sending = l.send(batch.values);
      // Left behind at the deadline (its batch goes to the spool): it may still fail later.
      sending.catch(() => {});
      for (;;) {
        const outcome = await acknowledged(l, sending);
        if (outcome === "acked") return true;
        if (pastDeadline(l)) return false;
        if (outcome === "slow") failing(new Error(`no acknowledgement from Kafka within ${l.ackReportMs} ms`));
      }
    } catch (err) {
      failing(err);
      if (pastDeadline(l)) return false;
      await l.sleep(Math.min(l.backoff(attempt), Math.max(0, l.deadline - Date.now())));
      if (pastDeadline(l)) return false;
    }
  }
}

/**
 * Waits for the send to settle (a failed send throws), at most `ackReportMs`, or while stopping
 * until the deadline; stop() ends a wait that began before it.
 */
async function acknowledged(l: Loop, sending: Promise<void>): Promise<"acked" | "slow" | "stopping"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waitMs = l.stopping ? Math.max(0, l.deadline - Date.now()) : l.ackReportMs;
  const waited = new Promise<"slow">((resolve) => {
    timer = setTimeout(() => resolve("slow"), waitMs);
  });
  // A callback cleared after each wait, not a handler on a promise that lives until stop(): one
  // of those per batch would pile up for the life of the process.
  const woken = l.stopping
    ? []
    : [
        new Promise<"stopping">((resolve) => {
          l.interruptAck = () => resolve("stopping");
        }),
      ];
  try {
    return await Promise.race([sending.then(() => "acked" as const), waited, ...woken]);
  } finally {
    clearTimeout(timer);
    l.interruptAck = undefined;
  }
}

/**
 * At stop: what Kafka did not take in time is kept on disk for the next start, after what the
 * spool holds (older, by the order kept above): the batch in hand, then the queue.
 */
function keepUnsent(l: Loop): { unsent: number; spooled: number } {
  const { inHand, queue, spool, logger } = l;
  const left = [
    ...(inHand && !inHand.fromSpool ? inHand.values : []),
    ...queue.take(queue.size).map((e) => JSON.stringify(e)),
  ];
  let spooled = 0;
  let unsent = 0;
  for (const value of left) {
    if (toSpool(l, value)) spooled++;
    else unsent++;
  }
  if (unsent > 0) drop(l, "shutdown", unsent);
  report(l);
  spool?.close();
  if (spooled > 0) logger.warn("footprints kept in the disk spool for the next start", { spooled });
  if (unsent > 0) logger.error("footprint events not sent before shutdown", { unsent });
  return { unsent, spooled };
}

/** By code, not by class: the library entry (src/footprint/index.ts) stays free of the service's errors. */
const isTopicMissing = (err: unknown) => (err as { code?: unknown } | null)?.code === "TOPIC_MISSING";
