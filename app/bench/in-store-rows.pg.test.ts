/**
 * The 100M-row generator's fast PostgreSQL path (indexes dropped during the load, rollups built by
 * GROUP BY) leaves the same rollups, and the same indexes, as the consumer's insert of the same rows.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type postgres from "postgres";
import { ROLLUP_TABLES } from "../../src/store/rollup-key.ts";
import type { FootprintRow, PostgresStore } from "../../src/store/store.ts";
import { NO_RICH_FIELDS } from "../../src/store/store.ts";
import { openTestStore, type TestStore } from "../../test/support/test-store.ts";
import { hourPlan, loadPostgresInStore } from "./in-store-rows.ts";

let fast: TestStore<PostgresStore>;
let normal: TestStore<PostgresStore>;

beforeAll(async () => {
  [fast, normal] = await Promise.all([openTestStore("postgres"), openTestStore("postgres")]);
  await Promise.all([fast.store.migrate(), normal.store.migrate()]);
}, 60_000);

afterAll(async () => {
  for (const s of [fast, normal]) {
    await s?.store.close();
    await s?.drop();
  }
});

async function storedRows(sql: postgres.Sql): Promise<FootprintRow[]> {
  const rows = await sql<
    {
      event_id: string;
      request: string;
      link: string;
      route: string | null;
      status: number | null;
      duration_ms: number | null;
      micros: string;
      host: string | null;
      is_bot: boolean | null;
    }[]
  >`select event_id, request, link, route, status, duration_ms, host, is_bot,
           (extract(epoch from footprint_time) * 1000000)::int8::text as micros
    from user_footprint order by id`;
  return rows.map((r) => ({
    ...NO_RICH_FIELDS,
    eventId: r.event_id,
    method: r.request,
    link: r.link,
    route: r.route,
    status: r.status,
    durationMs: r.duration_ms,
    footprintTime: Number(r.micros),
    host: r.host,
    isBot: r.is_bot,
  }));
}

const rollupContents = (sql: postgres.Sql, table: string, keys: readonly string[]) =>
  sql.unsafe(`select ${keys.join(", ")}, n from ${table} order by ${keys.map((_, i) => i + 1).join(", ")}`);

const indexDefinitions = (sql: postgres.Sql) =>
  sql`select tablename, indexdef from pg_indexes where schemaname = current_schema() order by 1, 2`;

test("the fast path's rollups and indexes equal those of the consumer's insert of the same rows", async () => {
  const plan = hourPlan(20_000, 3, Date.UTC(2026, 10, 30, 17));
  const phases = await loadPostgresInStore(fast.store.stats.sql, plan, "fast");
  expect(Object.keys(phases).sort()).toEqual(["analyze", "indexes", "insert", "rollups"]);

  const rows = await storedRows(fast.store.stats.sql);
  expect(rows.length).toBe(plan.reduce((n, h) => n + h.count, 0));
  for (let i = 0; i < rows.length; i += 5_000) await normal.store.insertFootprints(rows.slice(i, i + 5_000));

  for (const { table, tier, columns } of ROLLUP_TABLES) {
    const keys = [tier, ...columns];
    const [a, b] = await Promise.all([
      rollupContents(fast.store.stats.sql, table, keys),
      rollupContents(normal.store.stats.sql, table, keys),
    ]);
    expect(a.length).toBeGreaterThan(0);
    expect({ table, rows: [...a] }).toEqual({ table, rows: [...b] });
  }
  expect([...(await indexDefinitions(fast.store.stats.sql))]).toEqual([
    ...(await indexDefinitions(normal.store.stats.sql)),
  ]);
}, 300_000);
