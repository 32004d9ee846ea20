/**
 * A bounded FIFO between request handlers and the producer loop. `offer` never blocks and never
 * throws: when full the event is counted as dropped, because a site must never wait for us.
 */
export type EventQueue<T> = {
  offer(item: T): boolean;
  /** Removes and returns up to `max` items from the head. */
  take(max: number): T[];
  /** Puts items back at the head, in order (after a failed send). */
  restore(items: T[]): void;
  /** Resolves when an item is available or `signal` aborts. */
  waitForItems(signal?: AbortSignal): Promise<void>;
  readonly size: number;
  readonly capacity: number;
  /** When the item at the head was offered (Date.now()); undefined when empty. */
  readonly oldestAt: number | undefined;
  /** Items refused because the queue was full, since the last `takeDropped`. */
  takeDropped(): number;
};

export function createEventQueue<T>(capacity: number): EventQueue<T> {
  // A ring would avoid the O(n) shift, but take() splices whole batches, which is O(batch).
  let items: T[] = [];
  /** When each item was offered, in step with `items`. */
  let times: number[] = [];
  let dropped = 0;
  let wake: (() => void) | undefined;

  return {
    offer(item) {
      if (items.length >= capacity) {
        dropped++;
        return false;
      }
      items.push(item);
      times.push(Date.now());
      wake?.();
      return true;
    },
    take(max) {
      if (items.length <= max) {
        const all = items;
        items = [];
        times = [];
        return all;
      }
      times.splice(0, max);
      return items.splice(0, max);
    },
    restore(back) {
      // Back at the head, as old as the oldest item still queued (or new, when none is).
      const at = times[0] ?? Date.now();
      items = back.concat(items);
      times = back.map(() => at).concat(times);
    },
    waitForItems(signal) {
      if (items.length > 0 || signal?.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          wake = undefined;
          signal?.removeEventListener("abort", done);
          resolve();
        };
        wake = done;
        signal?.addEventListener("abort", done, { once: true });
      });
    },
    get size() {
      return items.length;
    },
    capacity,
    get oldestAt() {
      return times[0];
    },
    takeDropped() {
      const n = dropped;
      dropped = 0;
      return n;
    },
  };
}
