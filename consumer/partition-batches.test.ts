import { describe, expect, test } from "bun:test";
import { NO_RICH_FIELDS } from "../src/store/store.ts";
import { createPartitionBatcher, formatBatchIntent, parseBatchIntent } from "./partition-batches.ts";

const row = (i: number) => ({
  row: { ...NO_RICH_FIELDS, eventId: `e${i}`, method: "GET", link: `/${i}`, footprintTime: 0 },
});
const options = { topic: "t", partition: 3, batchSize: 3, flushMs: 1000 };
const source = (o: bigint) => ({ offset: String(o), value: Buffer.from(`m${o}`), headers: {}, timestamp: "0" });

describe("partition batches are cut at offsets that a restart finds again", () => {
  test("at batch size; the token names the exact offsets", () => {
    const b = createPartitionBatcher({ ...options, start: 10n });
    for (const o of [10n, 11n, 12n]) {
      expect(b.accepts(o)).toBe(true);
      b.add(o, row(Number(o)), 0, source(o));
    }
    expect(b.isDue(0)).toBe(true);
    expect(b.accepts(13n)).toBe(false);
    const batch = b.seal();
    expect(batch).toMatchObject({ start: 10n, end: 13n, token: "t/3/10-12" });
    expect(batch.rows.map((r) => r.link)).toEqual(["/10", "/11", "/12"]);
    expect(b.next).toBe(13n);
    expect(b.size).toBe(0);
  });

  test("by age, counted from the oldest message", () => {
    const b = createPartitionBatcher({ ...options, start: 0n });
    expect(b.isDue(5000)).toBe(false); // empty
    b.add(0n, row(0), 100, source(0n));
    b.add(1n, row(1), 900, source(1n));
    expect(b.isDue(1099)).toBe(false);
    expect(b.isDue(1100)).toBe(true);
    expect(b.seal().token).toBe("t/3/0-1");
  });

  test("a recorded intent fixes the end, whatever the size or age", () => {
    const b = createPartitionBatcher({ ...options, start: 5n, cutAt: 7n });
    b.add(5n, row(5), 0, source(5n));
    expect(b.isDue(1_000_000)).toBe(false); // old, but its end is not reached
    expect(b.canSealEarly()).toBe(false); // nor written early at shutdown
    b.add(6n, row(6), 0, source(6n));
    expect(b.accepts(7n)).toBe(false);
    expect(b.isDue(0)).toBe(true);
    expect(b.seal().token).toBe("t/3/5-6");
    // The next batch is cut by size and age again.
    for (const o of [7n, 8n, 9n]) b.add(o, row(Number(o)), 0, source(o));
    expect(b.accepts(10n)).toBe(false);
    expect(b.seal().token).toBe("t/3/7-9");
  });

  test("a gap before the recorded end (a transaction marker) still ends the batch there", () => {
    const b = createPartitionBatcher({ ...options, start: 0n, cutAt: 3n });
    b.add(0n, row(0), 0, source(0n));
    b.add(1n, row(1), 0, source(1n));
    expect(b.accepts(3n)).toBe(false);
    expect(b.seal()).toMatchObject({ end: 3n, token: "t/3/0-2" });
  });

  test("dead letters count toward the batch and ride along", () => {
    const b = createPartitionBatcher({ ...options, start: 0n });
    b.add(0n, row(0), 0, source(0n));
    const deadLetter = {
      origin: { topic: "t", partition: 3, offset: "1" },
      code: "MESSAGE_NOT_JSON" as const,
      message: "x",
      value: Buffer.from("x"),
      headers: {},
      timestamp: "0",
    };
    b.add(1n, { deadLetter }, 0, source(1n));
    const batch = b.seal();
    expect(batch.rows).toHaveLength(1);
    expect(batch.sources).toEqual([source(0n)]);
    expect(batch.deadLetters).toEqual([deadLetter]);
    expect(batch.end).toBe(2n);
  });

  test("a message skipped (a replay meant for another sink) counts toward the batch, adds nothing", () => {
    const b = createPartitionBatcher({ ...options, start: 0n });
    b.add(0n, { skip: true }, 0, source(0n));
    b.add(1n, row(1), 0, source(1n));
    const batch = b.seal();
    expect(batch.rows.map((r) => r.link)).toEqual(["/1"]);
    expect(batch.sources).toEqual([source(1n)]);
    expect(batch.end).toBe(2n);
  });
});

test("intent metadata round-trips and ignores anything else", () => {
  expect(parseBatchIntent(formatBatchIntent(12345678901234n))).toBe(12345678901234n);
  expect(parseBatchIntent(null)).toBeUndefined();
  expect(parseBatchIntent("")).toBeUndefined();
  expect(parseBatchIntent("something else=5")).toBeUndefined();
});
