/**
 * Delivery contract: an offset is committed only once its message is stored in this sink or
 * dead-lettered — never merely because it failed. Kafka gives at-least-once; a batch abandoned
 * uncommitted (rebalance, shutdown timeout) is consumed again, and the sinks drop the repeat.
 *
 * Runs without Kafka, PostgreSQL or ClickHouse: store, dead-letter sink, commits, pauses, sleep,
 * clock and timers are fakes that record what the writer does, in order, in one trace.
 */
import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "../src/store/store.ts";
import { createBatchWriter } from "./batch-writer.ts";
import type { DeadLetter } from "./dead-letter.ts";
import { createGenerations } from "./generation.ts";
import { createPartitionBatcher } from "./partition-batches.ts";
import type { PartitionState } from "./partition-state.ts";

const TOPIC = "t";

const row = (offset: number): FootprintRow => ({
  ...NO_RICH_FIELDS,
  eventId: `e${offset}`,
  method: "GET",
  link: `/${offset}`,
  footprintTime: 0,
});

const deadLetter = (offset: number): DeadLetter => ({
  origin: { topic: TOPIC, partition: 0, offset: String(offset) },
  code: "MESSAGE_NOT_JSON",
  message: "not JSON",
  value: Buffer.from("garbage"),
  headers: {},
  timestamp: "0",
});

const source = (offset: number) => ({
  offset: String(offset),
  value: Buffer.from(`message ${offset}`),
  headers: { "x-trace": `t${offset}` },
  timestamp: "1700000000000",
});

type Timer = { ms: number; fire(): void; cancelled: boolean };

/** A writer whose every dependency is a fake; `failures` says how often each one fails first. */
function harness(options: {
  failures?: { insert?: number; commit?: number; deadLetters?: number };
  flushMs?: number;
  /** Rows the store refuses for their content (a batch holding one fails whole, as both stores do). */
  refuses?: (row: FootprintRow) => boolean;
  /** The store names the (1-based) row it refused, as ClickHouse does ("at row N"). */
  namesRow?: boolean;
}) {
  const failures = { insert: 0, commit: 0, deadLetters: 0, ...options.failures };
  const trace: string[] = [];
  let clock = 0;
  const sleeps: number[] = [];
  const backoffAttempts: number[] = [];
  const timers: Timer[] = [];
  const generations = createGenerations(() => clock);
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const hooks: { onInsert?: () => void } = {};
  const sent: DeadLetter[] = [];

  const writer = createBatchWriter({
    store: {
      name: "postgres",
      async insertFootprints(rows, batch) {
        hooks.onInsert?.();
        if (failures.insert-- > 0) {
          trace.push(`insert ${batch?.token} failed`);
          throw new Error("postgres is down");
        }
        if (options.refuses && rows.some(options.refuses)) {
          trace.push(`insert ${batch?.token} refused`);
          throw new Error(`refused: value too long at row ${rows.findIndex(options.refuses) + 1}`);
        }
        trace.push(`insert ${batch?.token} (${rows.length} rows)`);
      },
    },
    classify: (err) => {
      const { message } = err as Error;
      const row = options.namesRow ? Number(/at row (\d+)/.exec(message)?.[1]) : undefined;
      return { class: message.startsWith("refused") ? "content" : "outage", code: "22001", message, row };
    },
    deadLetters: {
      async send(letters) {
        if (failures.deadLetters-- > 0) {
          trace.push("dead letters failed");
          throw new Error("dlq topic is away");
        }
        trace.push(`dead letters ${letters.map((l) => l.origin.offset).join(",")}`);
        sent.push(...letters);
        return letters;
      },
    },
    async commit(partition, offset, metadata) {
      if (failures.commit-- > 0) {
        trace.push(`commit ${partition}@${offset} ${metadata} failed`);
        throw new Error("kafka is away");
      }
      trace.push(`commit ${partition}@${offset} ${metadata}`);
    },
    setPaused(partition, paused) {
      trace.push(`${paused ? "pause" : "resume"} ${partition}`);
    },
    generations,
    logger,
    metrics,
    backoff: (attempt) => {
      backoffAttempts.push(attempt);
      return attempt * 300;
    },
    async sleep(ms) {
      sleeps.push(ms);
      clock += ms;
    },
    flushMs: options.flushMs ?? 5000,
    now: () => clock,
    schedule(fn, ms) {
      const timer: Timer = { ms, fire: fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
  });

  /** Partition 0 from `start`, holding the given offsets as rows, or dead letters where listed. */
  const partition = (start: number): PartitionState => ({
    partition: 0,
    batcher: createPartitionBatcher({
      topic: TOPIC,
      partition: 0,
      start: BigInt(start),
      batchSize: 100,
      flushMs: 5000,
    }),
    writing: false,
    written: Promise.resolve(),
    paused: false,
    uncommitted: undefined,
  });
  const collect = (state: PartitionState, offsets: number[], dead: number[] = []) => {
    for (const o of offsets) {
      const entry = dead.includes(o) ? { deadLetter: deadLetter(o) } : { row: row(o) };
      state.batcher.add(BigInt(o), entry, clock, source(o));
    }
  };
  const fireTimers = async () => {
    for (const t of timers.splice(0)) if (!t.cancelled) t.fire();
    await writer.drain();
  };
  const logged = (msg: string) => logger.lines.filter((l) => l.msg === msg);

  return {
    writer,
    failures,
    generations,
    trace,
    sleeps,
    backoffAttempts,
    timers,
    hooks,
    sent,
    metrics,
    partition,
    collect,
    fireTimers,
    logged,
    advance(ms: number) {
      clock += ms;
    },
  };
}

describe("batch writer: commits only what is stored or dead-lettered", () => {
  test("a store failing twice: the end offset is committed only after it accepts", async () => {
    const h = harness({ failures: { insert: 2 } });
    const state = h.partition(0);
    h.collect(state, [0, 1, 2]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=3",
      "insert t/0/0-2 failed",
      "pause 0",
      "insert t/0/0-2 failed",
      "insert t/0/0-2 (3 rows)",
      "resume 0",
    ]);
    // Stored: its commit waits for the next batch's intent, or this timer.
    expect(h.timers.map((t) => t.ms)).toEqual([1000]);
    await h.fireTimers();
    expect(h.trace.slice(-1)).toEqual(["commit 0@3 null"]);
    expect(state.uncommitted).toBeUndefined();
    expect(h.logged("sink rejected batch; will retry").map((l) => l.attempt)).toEqual([1]);
    expect(h.logged("sink accepted batch after retry").map((l) => l.attempt)).toEqual([3]);
    expect(await h.metrics.registry.metrics()).toContain('eft_sink_errors_total{sink="postgres"} 2');
  });

  test("retry backoff: each attempt's wait, slept in steps of at most 250 ms", async () => {
    const h = harness({ failures: { insert: 3 } });
    const state = h.partition(0);
    h.collect(state, [0]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.backoffAttempts).toEqual([1, 2, 3]);
    // 300 ms, 600 ms, 900 ms.
    expect(h.sleeps).toEqual([250, 50, 250, 250, 100, 250, 250, 250, 150]);
  });

  test("the intent (start offset, and the batch's end as metadata) is committed before the insert", async () => {
    const h = harness({});
    const state = h.partition(10);
    h.collect(state, [10, 11]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual(["commit 0@10 eft-batch-end=12", "insert t/0/10-11 (2 rows)"]);
  });

  test("a failing intent commit is retried, and nothing is inserted before it succeeds", async () => {
    const h = harness({ failures: { commit: 2 } });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=2 failed",
      "pause 0",
      "commit 0@0 eft-batch-end=2 failed",
      "commit 0@0 eft-batch-end=2",
      "insert t/0/0-1 (2 rows)",
      "resume 0",
    ]);
    expect(h.logged("batch intent failed; will retry")).toHaveLength(1);
  });

  test("dead letters are sent once, even when the insert after them is retried", async () => {
    const h = harness({ failures: { insert: 2 } });
    const state = h.partition(0);
    h.collect(state, [0, 1, 2], [1]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace.filter((x) => !x.startsWith("pause") && !x.startsWith("resume"))).toEqual([
      "commit 0@0 eft-batch-end=3",
      "dead letters 1",
      "insert t/0/0-2 failed",
      "insert t/0/0-2 failed",
      "insert t/0/0-2 (2 rows)",
    ]);
    expect(h.logged("invalid message dead-lettered")).toHaveLength(1);
  });

  test("a batch of dead letters only is committed at once, without intent or insert", async () => {
    const h = harness({ failures: { deadLetters: 1 } });
    const state = h.partition(5);
    h.collect(state, [5, 6], [5, 6]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual(["dead letters failed", "pause 0", "dead letters 5,6", "commit 0@7 null", "resume 0"]);
    expect(h.timers).toEqual([]);
    expect(state.uncommitted).toBeUndefined();
  });

  test("a stored batch's deferred commit is done by the next batch's intent at the same offset", async () => {
    const h = harness({ flushMs: 200 });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.timers.map((t) => t.ms)).toEqual([200]);
    h.collect(state, [2, 3, 4]);
    const atInsert: { cancelled: boolean[]; uncommitted: unknown }[] = [];
    h.hooks.onInsert = () =>
      atInsert.push({ cancelled: h.timers.map((t) => t.cancelled), uncommitted: state.uncommitted });
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    // Completed by the intent already, before the next batch is stored.
    expect(atInsert).toEqual([{ cancelled: [true], uncommitted: undefined }]);
    expect(h.timers.map((t) => t.cancelled)).toEqual([true, false]);
    await h.fireTimers();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=2",
      "insert t/0/0-1 (2 rows)",
      "commit 0@2 eft-batch-end=5",
      "insert t/0/2-4 (3 rows)",
      "commit 0@5 null",
    ]);
  });

  test("a failing deferred commit is retried until Kafka takes it", async () => {
    const h = harness({});
    const state = h.partition(0);
    h.collect(state, [0]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    h.trace.length = 0;
    h.failures.commit = 2;
    await h.fireTimers();
    expect(h.trace).toEqual(["commit 0@1 null failed", "commit 0@1 null failed", "commit 0@1 null"]);
    expect(h.sleeps).toEqual([250, 50, 250, 250, 100]);
    expect(h.logged("offset commit failed; will retry")).toHaveLength(1);
    expect(state.uncommitted).toBeUndefined();
  });

  test("a rebalance during the write abandons the batch: no commit, no further attempt", async () => {
    const h = harness({ failures: { insert: 5 } });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.hooks.onInsert = () => h.generations.next();
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual(["commit 0@0 eft-batch-end=2", "insert t/0/0-1 failed"]);
    expect(h.sleeps).toEqual([]);
    expect(h.timers).toEqual([]);
    expect(h.logged("batch not committed; it will be consumed again").map((l) => l.reason)).toEqual([
      "partitions reassigned",
    ]);
    // The new generation starts with nothing in flight: this partition state is forgotten.
    expect(state.writing).toBe(true);
  });

  test("a rebalance after the insert leaves the stored batch uncommitted", async () => {
    const h = harness({});
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.hooks.onInsert = () => h.generations.next();
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual(["commit 0@0 eft-batch-end=2", "insert t/0/0-1 (2 rows)"]);
    expect(h.timers).toEqual([]);
  });

  test("shutdown writes what is collected and commits it without waiting for the timer", async () => {
    const h = harness({});
    const state = h.partition(0);
    h.collect(state, [0, 1, 2]);
    h.generations.stop(10_000);
    await h.writer.finish(() => [state]);
    expect(h.trace).toEqual(["commit 0@0 eft-batch-end=3", "insert t/0/0-2 (3 rows)", "commit 0@3 null"]);
    expect(h.timers.map((t) => t.cancelled)).toEqual([true]);
  });

  test("a shutdown timeout abandons a batch the store keeps rejecting, uncommitted", async () => {
    const h = harness({ failures: { insert: 20 } });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.generations.stop(1000);
    await h.writer.finish(() => [state]);
    // Attempts after 300 ms and 600 ms of backoff; the third wait ends at the first step past the deadline.
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=2",
      "insert t/0/0-1 failed",
      "pause 0",
      "insert t/0/0-1 failed",
      "insert t/0/0-1 failed",
    ]);
    expect(h.sleeps).toEqual([250, 50, 250, 250, 100, 250]);
    expect(h.logged("batch not committed; it will be consumed again").map((l) => l.reason)).toEqual([
      "shutdown timeout",
    ]);
  });
});

describe("batch writer: rows a store refuses for their content", () => {
  const refusesLink =
    (...links: string[]) =>
    (r: FootprintRow) =>
      links.includes(r.link);

  test("one refused row: halves inserted on their own, the row dead-lettered with the store's verdict, then the commit", async () => {
    const h = harness({ refuses: refusesLink("/3") });
    const state = h.partition(0);
    h.collect(state, [0, 1, 2, 3, 4]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    await h.fireTimers();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=5",
      "insert t/0/0-4 refused",
      "insert t/0/0-4/0-2 (3 rows)",
      "insert t/0/0-4/3-4 refused",
      "insert t/0/0-4/3-3 refused",
      "insert t/0/0-4/4-4 (1 rows)",
      "dead letters 3",
      "commit 0@5 null",
    ]);
    expect(h.sent).toEqual([
      {
        origin: { topic: TOPIC, partition: 0, offset: "3" },
        rejectedBy: "postgres",
        storeCode: "22001",
        code: "MESSAGE_REJECTED_BY_STORE",
        message: "refused: value too long at row 1",
        value: Buffer.from("message 3"),
        headers: { "x-trace": "t3" },
        timestamp: "1700000000000",
      },
    ]);
    // Never paused: nothing is wrong with the store.
    expect(h.trace.filter((x) => x.startsWith("pause"))).toEqual([]);
    expect(h.logged("row refused by the store dead-lettered")).toHaveLength(1);
    expect(await h.metrics.registry.metrics()).toContain(
      'eft_dead_letters_total{code="MESSAGE_REJECTED_BY_STORE",rejected_by="postgres"} 1',
    );
    expect(await h.metrics.registry.metrics()).toContain('eft_sink_rows_total{sink="postgres"} 4');
  });

  test("an outage in the middle of isolating: paused and retried, the parts stored before are not sent again", async () => {
    const h = harness({ refuses: refusesLink("/3") });
    const state = h.partition(0);
    h.collect(state, [0, 1, 2, 3]);
    let inserts = 0;
    h.hooks.onInsert = () => {
      // The fourth insert (the second half's first half) meets an outage.
      if (++inserts === 4) h.failures.insert = 1;
    };
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=4",
      "insert t/0/0-3 refused",
      "insert t/0/0-3/0-1 (2 rows)",
      "insert t/0/0-3/2-3 refused",
      "insert t/0/0-3/2-2 failed",
      "pause 0",
      "insert t/0/0-3 refused",
      "insert t/0/0-3/2-3 refused",
      "insert t/0/0-3/2-2 (1 rows)",
      "insert t/0/0-3/3-3 refused",
      "dead letters 3",
      "resume 0",
    ]);
    expect(h.sent.map((l) => l.origin.offset)).toEqual(["3"]);
  });

  test("a store that names the refused row: the rows before it, it alone, the rows after it", async () => {
    const h = harness({ refuses: refusesLink("/2", "/6"), namesRow: true });
    const state = h.partition(0);
    h.collect(state, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace.filter((x) => x.startsWith("insert"))).toEqual([
      "insert t/0/0-9 refused",
      "insert t/0/0-9/0-1 (2 rows)",
      "insert t/0/0-9/2-2 refused",
      "insert t/0/0-9/3-9 refused",
      "insert t/0/0-9/3-5 (3 rows)",
      "insert t/0/0-9/6-6 refused",
      "insert t/0/0-9/7-9 (3 rows)",
    ]);
    expect(h.sent.map((l) => l.origin.offset)).toEqual(["2", "6"]);
  });

  test("a store that is down never dead-letters: the batch is retried whole", async () => {
    const h = harness({ failures: { insert: 3 }, refuses: () => false });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace.filter((x) => x.startsWith("insert"))).toEqual([
      "insert t/0/0-1 failed",
      "insert t/0/0-1 failed",
      "insert t/0/0-1 failed",
      "insert t/0/0-1 (2 rows)",
    ]);
    expect(h.sent).toEqual([]);
  });

  test("every row refused: all dead-lettered, nothing stored, the offsets committed", async () => {
    const h = harness({ refuses: () => true });
    const state = h.partition(7);
    h.collect(state, [7, 8]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    await h.fireTimers();
    expect(h.trace).toEqual([
      "commit 0@7 eft-batch-end=9",
      "insert t/0/7-8 refused",
      "insert t/0/7-8/7-7 refused",
      "insert t/0/7-8/8-8 refused",
      "dead letters 7,8",
      "commit 0@9 null",
    ]);
  });

  test("a failing dead-letter send after isolating: retried without inserting again", async () => {
    const h = harness({ refuses: refusesLink("/1"), failures: { deadLetters: 1 } });
    const state = h.partition(0);
    h.collect(state, [0, 1]);
    h.writer.sealAndWrite(state);
    await h.writer.drain();
    expect(h.trace).toEqual([
      "commit 0@0 eft-batch-end=2",
      "insert t/0/0-1 refused",
      "insert t/0/0-1/0-0 (1 rows)",
      "insert t/0/0-1/1-1 refused",
      "dead letters failed",
      "pause 0",
      "dead letters 1",
      "resume 0",
    ]);
  });
});
