import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { type FootprintRow, NO_RICH_FIELDS, type Store, type StoreName } from "../src/store/store.ts";
import { createBatchWriter } from "./batch-writer.ts";

function fakeStore(name: StoreName, failuresBeforeSuccess = 0): Store & { batches: FootprintRow[][] } {
  let failures = failuresBeforeSuccess;
  const batches: FootprintRow[][] = [];
  return {
    name,
    batches,
    async insertFootprints(rows) {
      if (failures-- > 0) throw new Error(`${name} unavailable`);
      batches.push([...rows]);
    },
    migrate: async () => [],
    countFootprints: async () => batches.flat().length,
    ping: async () => {},
    close: async () => {},
  };
}

const rows: FootprintRow[] = [{ ...NO_RICH_FIELDS, eventId: "a", method: "GET", link: "/", footprintTime: 1 }];

describe("batch writer", () => {
  test("the contract: true only once every store holds the batch", async () => {
    const pg = fakeStore("postgres");
    const ch = fakeStore("clickhouse");
    const write = createBatchWriter({ stores: [pg, ch], logger: createMemoryLogger() });
    expect(await write(rows)).toBe(true);
    expect(pg.batches).toEqual([rows]);
    expect(ch.batches).toEqual([rows]);
  });

  test("a failing store is retried with the backoff's waits; the other is not written twice", async () => {
    const pg = fakeStore("postgres", 3);
    const ch = fakeStore("clickhouse");
    const waits: number[] = [];
    let heartbeats = 0;
    const write = createBatchWriter({
      stores: [pg, ch],
      logger: createMemoryLogger(),
      backoff: (attempt) => 2 ** attempt * 10,
      sleep: async (ms) => void waits.push(ms),
      onWait: () => void heartbeats++,
    });
    expect(await write(rows)).toBe(true);
    expect(waits).toEqual([20, 40, 80]);
    expect(heartbeats).toBe(3);
    expect(pg.batches).toEqual([rows]);
    expect(ch.batches).toEqual([rows]);
  });

  test("while stopping, a failure is reported as not written instead of retried", async () => {
    const pg = fakeStore("postgres", 100);
    const ch = fakeStore("clickhouse");
    const waits: number[] = [];
    const write = createBatchWriter({
      stores: [pg, ch],
      logger: createMemoryLogger(),
      sleep: async (ms) => void waits.push(ms),
      isStopping: () => true,
    });
    expect(await write(rows)).toBe(false);
    expect(waits).toEqual([]);
    expect(pg.batches).toEqual([]);
  });

  test("the failure is logged once, then every 10th attempt", async () => {
    const logger = createMemoryLogger();
    const write = createBatchWriter({
      stores: [fakeStore("postgres", 25)],
      logger,
      backoff: () => 0,
      sleep: async () => {},
    });
    await write(rows);
    const attempts = logger.lines.filter((l) => l.msg === "store rejected batch; will retry").map((l) => l.attempt);
    expect(attempts).toEqual([1, 10, 20]);
  });
});
