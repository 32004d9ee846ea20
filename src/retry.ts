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
