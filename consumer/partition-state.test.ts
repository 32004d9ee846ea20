import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { NO_RICH_FIELDS } from "../src/store/store.ts";
import { createGenerations } from "./generation.ts";
import { type CommittedOffset, createPartitionTable } from "./partition-state.ts";

const row = (o: bigint) => ({ ...NO_RICH_FIELDS, eventId: `e${o}`, method: "GET", link: `/${o}`, footprintTime: 0 });

function table(committed: () => Promise<Map<number, CommittedOffset>>) {
  const generations = createGenerations();
  const logger = createMemoryLogger();
  let fetches = 0;
  const partitions = createPartitionTable({
    topic: "t",
    batchSize: 100,
    flushMs: 1000,
    generations,
    logger,
    fetchCommitted: () => {
      fetches++;
      return committed();
    },
  });
  return { partitions, generations, logger, fetches: () => fetches };
}

describe("partition states, per generation", () => {
  test("a batch intent at the committed offset makes the first batch end where it said", async () => {
    const t = table(async () => new Map([[2, { offset: "40", metadata: "eft-batch-end=45" }]]));
    const state = await t.partitions.stateFor(2, 40n, t.generations.current);
    for (const o of [40n, 41n, 42n, 43n])
      state?.batcher.add(o, { row: row(o) }, 0, { offset: String(o), value: null, headers: {}, timestamp: "0" });
    expect(state?.batcher.isDue(0)).toBe(false);
    expect(state?.batcher.accepts(45n)).toBe(false);
    expect(t.logger.lines.find((l) => l.msg === "resuming a batch recorded before a restart")).toMatchObject({
      partition: 2,
      start: "40",
      end: "45",
    });
  });

  test("an intent at another offset than the fetch start is not followed", async () => {
    const t = table(async () => new Map([[0, { offset: "40", metadata: "eft-batch-end=45" }]]));
    const state = await t.partitions.stateFor(0, 50n, t.generations.current);
    expect(state?.batcher.accepts(60n)).toBe(true);
  });

  test("offsets are read once per generation; a rebalance meanwhile drops the state", async () => {
    const t = table(async () => new Map());
    const gen = t.generations.current;
    const a = await t.partitions.stateFor(0, 0n, gen);
    expect(await t.partitions.stateFor(0, 5n, gen)).toBe(a);
    await t.partitions.stateFor(1, 0n, gen);
    expect(t.fetches()).toBe(1);
    t.partitions.newGeneration();
    expect([...t.partitions.values()]).toEqual([]);
    expect(await t.partitions.stateFor(0, 0n, gen)).toBeUndefined();
    expect(t.fetches()).toBe(2);
  });

  test("a failed read of the committed offsets is tried again on the next fetch", async () => {
    let fail = true;
    const t = table(async () => {
      if (fail) throw new Error("kafka is away");
      return new Map();
    });
    await expect(t.partitions.stateFor(0, 0n, 0)).rejects.toThrow("kafka is away");
    fail = false;
    expect(await t.partitions.stateFor(0, 0n, 0)).toBeDefined();
    expect(t.fetches()).toBe(2);
  });
});
