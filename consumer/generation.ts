/**
 * Which work of a sink consumer may still go on. The generation is bumped whenever kafkajs may
 * have reset its positions (join, crash): everything collected or being written under an older
 * generation is dropped uncommitted, and fetched again. Once stopping, work goes on until the
 * shutdown deadline, then it is abandoned uncommitted as well (consumed again after a restart).
 */
export type Generations = {
  readonly current: number;
  readonly stopping: boolean;
  /** Starts a new generation (rebalance, crash) and returns it. */
  next(): number;
  /** No rebalance or crash since `gen` began. */
  isCurrent(gen: number): boolean;
  /** Work of `gen` may go on: still current, and shutdown has not given up on it. */
  mayContinue(gen: number): boolean;
  /** From now on the consumer is stopping; after `timeoutMs` its work is abandoned. */
  stop(timeoutMs: number): void;
};

export function createGenerations(now: () => number = Date.now): Generations {
  let current = 0;
  let stopping = false;
  let abandonAt = Number.POSITIVE_INFINITY;
  return {
    get current() {
      return current;
    },
    get stopping() {
      return stopping;
    },
    next() {
      current++;
      return current;
    },
    isCurrent(gen) {
      return gen === current;
    },
    mayContinue(gen) {
      return gen === current && !(stopping && now() >= abandonAt);
    },
    stop(timeoutMs) {
      stopping = true;
      abandonAt = now() + timeoutMs;
    },
  };
}
