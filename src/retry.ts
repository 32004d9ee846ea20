import type { Logger } from "./log.ts";

/** Milliseconds to wait before the given attempt (1-based). */
export type Backoff = (attempt: number) => number;

/**
 * Capped exponential backoff with "equal jitter": half fixed, half random, so a fleet of
 * consumers that failed together does not retry together.
 */
export function createBackoff(options: { initialMs: number; maxMs: number; random?: () => number }): Backoff {
  const random = options.random ?? Math.random;
  return (attempt) => {
    const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base / 2 + (base / 2) * random());
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits `ms`, or less when `signal` aborts first (a shutdown never waits out a backoff). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    if (signal.aborted) done();
  });
}

/**
 * Retries `task` with capped backoff until it succeeds or `signal` aborts: dependencies that are
 * down at start-up are waited for, not crashed on, so a restart loop never starts.
 */
export async function retryUntil<T>(
  what: string,
  task: () => Promise<T>,
  logger: Logger,
  signal: AbortSignal,
  backoff: Backoff = createBackoff({ initialMs: 500, maxMs: 30_000 }),
): Promise<T | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await task();
    } catch (err) {
      if (attempt === 1 || attempt % 10 === 0) logger.error(`${what} failed; retrying`, { err, attempt });
      await sleepUnlessAborted(backoff(attempt), signal);
    }
  }
  return undefined;
}
