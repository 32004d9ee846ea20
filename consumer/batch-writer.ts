import type { Logger } from "../src/log.ts";
import { type Backoff, createBackoff, sleep as realSleep } from "../src/retry.ts";
import type { FootprintRow, Store } from "../src/store/store.ts";

export type BatchWriterDeps = {
  stores: readonly Store[];
  logger: Logger;
  backoff?: Backoff;
  sleep?: (ms: number) => Promise<void>;
  /** When true, a failed write stops retrying and reports failure instead (shutdown). */
  isStopping?: () => boolean;
  /** Called while waiting between attempts (the consumer sends a Kafka heartbeat). */
  onWait?: () => Promise<void> | void;
};

/**
 * Writes one batch into every store. A store that fails is retried with capped backoff until it
 * accepts the batch; a store that already accepted it is not written again. Resolves true only
 * when every store holds the batch, which is the one condition for committing its offsets.
 */
export function createBatchWriter(deps: BatchWriterDeps): (rows: readonly FootprintRow[]) => Promise<boolean> {
  const backoff = deps.backoff ?? createBackoff({ initialMs: 200, maxMs: 30_000 });
  const sleep = deps.sleep ?? realSleep;
  const isStopping = deps.isStopping ?? (() => false);

  return async function writeBatch(rows) {
    let pending = [...deps.stores];
    for (let attempt = 1; ; attempt++) {
      const results = await Promise.allSettled(
        pending.map(async (store) => {
          const started = performance.now();
          await store.insertFootprints(rows);
          deps.logger.debug("batch stored", {
            store: store.name,
            rows: rows.length,
            ms: Math.round(performance.now() - started),
          });
        }),
      );
      const failed = pending.filter((store, i) => {
        const r = results[i] as PromiseSettledResult<void>;
        if (r.status === "fulfilled") {
          if (attempt > 1) deps.logger.info("store accepted batch after retry", { store: store.name, attempt });
          return false;
        }
        // Logged on the first failure and then every 10th attempt, not on every retry.
        if (attempt === 1 || attempt % 10 === 0) {
          deps.logger.error("store rejected batch; will retry", {
            store: store.name,
            attempt,
            rows: rows.length,
            err: r.reason,
          });
        }
        return true;
      });
      pending = failed;
      if (pending.length === 0) return true;
      if (isStopping()) return false;
      await sleep(backoff(attempt));
      await deps.onWait?.();
    }
  };
}
