import type { Logger } from "../log.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../retry.ts";
import type { FootprintEvent } from "./event.ts";
import type { EventQueue } from "./queue.ts";

/** Sends one batch of message values to Kafka; resolves once the broker acknowledged all. */
export type SendBatch = (values: string[]) => Promise<void>;

export type ProducerLoopOptions = {
  queue: EventQueue<FootprintEvent>;
  send: SendBatch;
  logger: Logger;
  /** Most events per Kafka request. */
  batchMax?: number;
  /** How often dropped events are reported (never silently lost). */
  dropReportMs?: number;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
};

export type ProducerLoop = {
  /** Sends what is queued until the queue is empty or `timeoutMs` passes, then stops. */
  stop(timeoutMs?: number): Promise<{ unsent: number }>;
};

/**
 * Drains the queue to Kafka in batches, off the request path. A failed batch goes back to the
 * head of the queue and is retried with capped backoff, so order is kept and nothing is skipped.
 */
export function startProducerLoop(options: ProducerLoopOptions): ProducerLoop {
  const { queue, send, logger } = options;
  const batchMax = options.batchMax ?? 1000;
  const backoff = options.backoff ?? createBackoff({ initialMs: 100, maxMs: 5000 });
  const sleep = options.sleep ?? realSleep;
  const stopping = new AbortController();
  let deadline = Number.POSITIVE_INFINITY;
  let failing = false;

  const reportDrops = setInterval(() => {
    const dropped = queue.takeDropped();
    if (dropped > 0) {
      logger.error("footprint queue full: events dropped", { dropped, capacity: queue.capacity });
    }
  }, options.dropReportMs ?? 10_000);
  reportDrops.unref?.();

  const run = async () => {
    let attempt = 0;
    while (true) {
      if (stopping.signal.aborted && (queue.size === 0 || Date.now() >= deadline)) return;
      await queue.waitForItems(stopping.signal);
      if (queue.size === 0) continue;
      const batch = queue.take(batchMax);
      try {
        await send(batch.map((e) => JSON.stringify(e)));
        if (failing) logger.info("kafka produce recovered", { afterAttempts: attempt });
        failing = false;
        attempt = 0;
      } catch (err) {
        queue.restore(batch);
        attempt++;
        if (!failing) logger.error("kafka produce failed; retrying", { err, queued: queue.size });
        failing = true;
        if (stopping.signal.aborted && Date.now() >= deadline) return;
        const wait = Math.min(backoff(attempt), Math.max(0, deadline - Date.now()));
        await sleep(wait);
      }
    }
  };
  const done = run();

  return {
    async stop(timeoutMs = 10_000) {
      deadline = Date.now() + timeoutMs;
      stopping.abort();
      await done;
      clearInterval(reportDrops);
      const dropped = queue.takeDropped();
      if (dropped > 0) logger.error("footprint queue full: events dropped", { dropped });
      if (queue.size > 0) logger.error("footprint events not sent before shutdown", { unsent: queue.size });
      return { unsent: queue.size };
    },
  };
}
