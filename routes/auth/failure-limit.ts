export type FailureLimit = {
  /** Milliseconds until `key` may try again, or 0 when it may now. */
  retryAfterMs(key: string): number;
  recordFailure(key: string): void;
  reset(key: string): void;
};

/**
 * At most `max` failed logins per key within a sliding `windowMs`. Memory stays bounded: keys are
 * forgotten once their failures are older than the window, and at `maxKeys` the oldest key goes.
 */
export function createFailureLimit(max: number, windowMs: number, now: () => number, maxKeys = 10_000): FailureLimit {
  const failures = new Map<string, number[]>();
  const recent = (key: string) => {
    const cutoff = now() - windowMs;
    const list = (failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };
  return {
    retryAfterMs(key) {
      const list = recent(key);
      return list.length < max ? 0 : (list[list.length - max] as number) + windowMs - now();
    },
    recordFailure(key) {
      const list = recent(key);
      list.push(now());
      failures.delete(key); // re-insert: Map order is then least recently failed first
      failures.set(key, list);
      if (failures.size > maxKeys) failures.delete(failures.keys().next().value as string);
    },
    reset(key) {
      failures.delete(key);
    },
  };
}
