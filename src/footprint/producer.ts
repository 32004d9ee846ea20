import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../retry.ts";
import type { FootprintEvent } from "./message.ts";
import type { EventQueue } from "./queue.ts";
import type { Spool } from "./spool.ts";

/** Sends one batch of message values to Kafka; resolves once the broker acknowledged all. */
export type SendBatch = (values: string[]) => Promise<void>;

export type ProducerLoopOptions = {
  /** Bounded memory queue: where events wait while Kafka keeps up. */
  queue: EventQueue<FootprintEvent>;
  /** Disk overflow once the queue is full; without it, overflow is dropped (and counted). */
  spool?: Spool | undefined;
  send: SendBatch;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Most events per Kafka request. */
  batchMax?: number;
  /** How often dropped events are reported (never silently lost). */
  dropReportMs?: number;
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

type Batch = { values: string[]; fromSpool: boolean; ack(): void };

/**
 * Fail-open delivery to Kafka, off the request path. Order is kept: events go to the memory queue
 * until it is full, then to the disk spool, and keep going to the spool until it is empty again,
 * so everything in the spool is newer than everything in memory; the loop sends memory first,
 * then the spool. A failed batch is retried as it is (same events, same order) with capped
 * backoff, which also lets the idempotent producer recognise a batch the broker already has.
 */
export function startProducerLoop(options: ProducerLoopOptions): ProducerLoop {
  const { queue, spool, send, logger, metrics } = options;
  const batchMax = options.batchMax ?? 1000;
  const backoff = options.backoff ?? createBackoff({ initialMs: 100, maxMs: 5000 });
  const sleep = options.sleep ?? realSleep;
  const stopping = new AbortController();
  let deadline = Number.POSITIVE_INFINITY;
  let inHand: Batch | undefined;
  let wake: (() => void) | undefined;
  const dropped = { spool_full: 0, spool_corrupt: 0 };
  let spooledSinceReport = 0;

  const drop = (reason: "spool_full" | "spool_disabled" | "spool_corrupt" | "shutdown", n = 1) => {
    metrics?.eventsDropped.inc({ reason }, n);
    if (reason === "spool_full" || reason === "spool_disabled") dropped.spool_full += n;
    if (reason === "spool_corrupt") dropped.spool_corrupt += n;
  };

  const toSpool = (value: string): boolean => {
    if (spool?.append(value)) {
      metrics?.eventsSpooled.inc();
      spooledSinceReport++;
      return true;
    }
    return false;
  };

  const report = () => {
    const corrupt = spool?.takeCorrupt() ?? 0;
    if (corrupt > 0) drop("spool_corrupt", corrupt);
    const full = queue.takeDropped() + dropped.spool_full;
    if (full > 0 || dropped.spool_corrupt > 0) {
      logger.error("footprint events dropped", {
        dropped: full,
        unreadableSpoolLines: dropped.spool_corrupt,
        queueCapacity: queue.capacity,
        spool: spool ? "full or unusable" : "disabled (SPOOL_DIR empty)",
      });
    }
    if (spooledSinceReport > 0) {
      logger.warn("kafka is behind: footprints spooled to disk", { spooled: spooledSinceReport, bytes: spool?.bytes });
    }
    dropped.spool_full = 0;
    dropped.spool_corrupt = 0;
    spooledSinceReport = 0;
    metrics?.eventsQueued.set(queue.size);
    metrics?.spoolBytes.set(spool?.bytes ?? 0);
  };
  const reportTimer = setInterval(report, options.dropReportMs ?? 10_000);
  reportTimer.unref?.();
  const gaugeTimer = setInterval(() => {
    metrics?.eventsQueued.set(queue.size);
    metrics?.spoolBytes.set(spool?.bytes ?? 0);
  }, 1000);
  gaugeTimer.unref?.();

  const nextBatch = (): Batch | undefined => {
    if (queue.size > 0) {
      const events = queue.take(batchMax);
      return { values: events.map((e) => JSON.stringify(e)), fromSpool: false, ack() {} };
    }
    const read = spool && !spool.isEmpty ? spool.read(batchMax) : undefined;
    return read ? { values: read.lines, fromSpool: true, ack: read.ack } : undefined;
  };

  const run = async () => {
    let failing = false;
    while (true) {
      if (stopping.signal.aborted && Date.now() >= deadline) return;
      const batch = nextBatch();
      if (!batch) {
        if (stopping.signal.aborted) return;
        // Woken by offer() or stop(); no listener on the abort signal, which would pile up one per idle wait.
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (batch.values.length === 0) {
        batch.ack();
        continue;
      }
      inHand = batch;
      for (let attempt = 1; ; attempt++) {
        try {
          await send(batch.values);
          break;
        } catch (err) {
          if (!failing) logger.error("kafka produce failed; retrying", { err, queued: queue.size });
          failing = true;
          if (stopping.signal.aborted && Date.now() >= deadline) return;
          await sleep(Math.min(backoff(attempt), Math.max(0, deadline - Date.now())));
          if (stopping.signal.aborted && Date.now() >= deadline) return;
        }
      }
      inHand = undefined;
      batch.ack();
      metrics?.eventsProduced.inc(batch.values.length);
      if (failing) logger.info("kafka produce recovered", { queued: queue.size, spoolBytes: spool?.bytes ?? 0 });
      failing = false;
    }
  };
  const done = run();

  return {
    offer(event) {
      try {
        // While the spool holds anything, new events queue behind it there, to keep the order.
        if (spool && !spool.isEmpty) {
          if (toSpool(JSON.stringify(event))) return true;
          drop("spool_full");
          return false;
        }
        if (queue.size < queue.capacity) {
          queue.offer(event);
          wake?.();
          return true;
        }
        if (!spool) {
          queue.offer(event); // counted as dropped by the queue
          metrics?.eventsDropped.inc({ reason: "spool_disabled" });
          return false;
        }
        if (toSpool(JSON.stringify(event))) {
          wake?.();
          return true;
        }
        drop("spool_full");
        return false;
      } catch (err) {
        logger.error("footprint not queued", { err });
        return false;
      }
    },

    async stop(timeoutMs = 10_000) {
      deadline = Date.now() + timeoutMs;
      stopping.abort();
      wake?.();
      await done;
      clearInterval(reportTimer);
      clearInterval(gaugeTimer);
      // What Kafka did not take in time is kept on disk for the next start.
      const left = [
        ...(inHand && !inHand.fromSpool ? inHand.values : []),
        ...queue.take(queue.size).map((e) => JSON.stringify(e)),
      ];
      let spooled = 0;
      let unsent = 0;
      for (const value of left) {
        if (toSpool(value)) spooled++;
        else unsent++;
      }
      if (unsent > 0) drop("shutdown", unsent);
      report();
      spool?.close();
      if (spooled > 0) logger.warn("footprints kept in the disk spool for the next start", { spooled });
      if (unsent > 0) logger.error("footprint events not sent before shutdown", { unsent });
      return { unsent, spooled };
    },
  };
}
