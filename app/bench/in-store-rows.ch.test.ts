/**
 * The 100M-row generator's fast ClickHouse path (views detached during the load, then each view's
 * SELECT run once per week over the raw rows) leaves every rollup table with the contents the
 * materialized views give the same rows, and the views attached again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ClickHouseClient } from "@clickhouse/client-web";
import { ROLLUP_TABLES } from "../../src/store/rollup-key.ts";
import type { ClickhouseStore } from "../../src/store/store.ts";
import { openTestStore, type TestStore } from "../../test/support/test-store.ts";
import { hourPlan, loadClickhouseInStore } from "./in-store-rows.ts";

let fast: TestStore<ClickhouseStore>;
let viaViews: TestStore<ClickhouseStore>;

beforeAll(async () => {
  fast = await openTestStore("clickhouse");
  viaViews = await openTestStore("clickhouse");
  await fast.store.migrate();
  await viaViews.store.migrate();
}, 120_000);

afterAll(async () => {
  for (const s of [fast, viaViews]) {
    await s?.store.close();
    await s?.drop();
  }
});

async function rowsOf(client: ClickHouseClient, query: string): Promise<unknown[]> {
  return (await client.query({ query, format: "JSONEachRow" })).json();
}

const views = (client: ClickHouseClient) =>
  rowsOf(
    client,
    "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name",
  );

test("the fast path's rollups equal what the materialized views write for the same rows", async () => {
  const plan = hourPlan(20_000, 9, Date.UTC(2026, 10, 30, 17));
  const phases = await loadClickhouseInStore(fast.store.stats.client, plan, "fast");
  expect(Object.keys(phases).sort()).toEqual(["insert", "optimize", "rollups"]);

  // The same raw rows into a database whose views are attached: the consumer's path.
  const other = viaViews.store.stats.client;
  await other.command({ query: `INSERT INTO user_footprint SELECT * FROM ${fast.database}.user_footprint` });
  for (const { table } of ROLLUP_TABLES) await other.command({ query: `OPTIMIZE TABLE ${table} FINAL` });

  const [total] = (await rowsOf(fast.store.stats.client, "SELECT toString(count()) AS n FROM user_footprint")) as {
    n: string;
  }[];
  expect(Number(total?.n)).toBe(plan.reduce((n, h) => n + h.count, 0));
  for (const { table } of ROLLUP_TABLES) {
    const query = `SELECT * FROM ${table} ORDER BY ALL`;
    const [a, b] = [await rowsOf(fast.store.stats.client, query), await rowsOf(other, query)];
    expect(a.length).toBeGreaterThan(0);
    expect({ table, rows: a }).toEqual({ table, rows: b });
  }
  const attached = await views(fast.store.stats.client);
  expect(attached.length).toBe(ROLLUP_TABLES.length);
  expect(attached).toEqual(await views(other));
}, 300_000);
