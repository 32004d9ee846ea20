#!/usr/bin/env bun
/**
 * Stats API response times at N rows, per endpoint and period, raw vs rollup, PostgreSQL vs
 * ClickHouse. Not a test: it prints a table of medians.
 *
 *   bun app/bench/stats-api.ts [--rows 1000000] [--days 30] [--runs 5] [--periods 24h,7d,30d]
 *                              [--endpoints top,total,...] [--keep]
 *
 * Loads synthetic rows (app/bench/synthetic-footprints.ts) into a fresh PostgreSQL
 * database and a fresh ClickHouse database on the local stack (./scripts/stack up), through the
 * product's insert path (PostgreSQL: one unnest INSERT per 50k rows that also upserts the rollup;
 * ClickHouse: one JSONEachRow INSERT per 100k rows, the view feeds the rollup), then asks the
 * stats API (statsRoutes, in process, no HTTP socket) each question `runs` times per store and
 * source after one warm-up, and reports the median of the `query_ms` each store's query took (the
 * number the dashboard shows) and of the whole request. Databases are dropped unless --keep.
 */
import { parseArgs } from "node:util";
import { statsRoutes } from "../../routes/stats.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase } from "../../test/support/stack.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rows: { type: "string", default: "1000000" },
    days: { type: "string", default: "30" },
    runs: { type: "string", default: "5" },
    periods: { type: "string", default: "24h,7d,30d" },
    endpoints: { type: "string", default: "top,total,time-of-day,heatmap,timeseries,status,latency" },
    keep: { type: "boolean", default: false },
  },
});
const rows = Number(opts.rows);
const days = Number(opts.days);
const runs = Number(opts.runs);
if (!Number.isInteger(rows) || rows < 1) throw new Error("--rows must be a positive whole number");
if (!Number.isInteger(days) || days < 1 || days > 400) throw new Error("--days must be 1..400");
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive whole number");
const periods = opts.periods.split(",");
const endpoints = opts.endpoints.split(",");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const log = (line: string) => process.stderr.write(`${line}\n`);

const [pgDb, chDb] = await Promise.all([createTestPostgresDatabase(), createTestClickhouseDatabase()]);
const pg = createPostgresStore({ url: pgDb.url });
const ch = createClickhouseStore({ url: chDb.url, username: "default", password: "", database: chDb.database });
try {
  await pg.migrate();
  await ch.migrate();

  // One anchor for data and questions: presets (from=24h) end at `now`.
  const now = Date.now();
  const load = { postgres: 0, clickhouse: 0 };
  let loaded = 0;
  for (const chunk of syntheticFootprints({ count: rows, days, end: now }, 100_000)) {
    let started = performance.now();
    for (let i = 0; i < chunk.length; i += 50_000) await pg.insertFootprints(chunk.slice(i, i + 50_000));
    load.postgres += performance.now() - started;
    started = performance.now();
    await ch.insertFootprints(chunk);
    load.clickhouse += performance.now() - started;
    loaded += chunk.length;
    log(`loaded ${loaded.toLocaleString("en-US")} rows`);
  }
  await pg.stats.sql`vacuum analyze user_footprint`;
  await pg.stats.sql`vacuum analyze user_footprint_minute`;
  await ch.stats.client.command({ query: "OPTIMIZE TABLE user_footprint_minute FINAL" });

  const [pgCounts] = await pg.stats.sql<{ raw: string; rollup: string }[]>`
    select (select count(*) from user_footprint) as raw, (select count(*) from user_footprint_minute) as rollup`;
  const chCount = async (query: string) => {
    const rs = await ch.stats.client.query({ query, format: "JSONEachRow" });
    return Number(((await rs.json<{ n: string | number }>())[0] as { n: string | number }).n);
  };
  const chRaw = await chCount("SELECT count() AS n FROM user_footprint");
  const chRollup = await chCount("SELECT count() AS n FROM user_footprint_minute");

  const app = statsRoutes({
    stores: [pg, ch],
    timeZone: "Asia/Seoul",
    logger: createMemoryLogger(),
    now: () => now,
  });

  type Cell = { server: number; wall: number } | undefined;
  const table: { endpoint: string; period: string; cells: Record<string, Cell> }[] = [];
  for (const period of periods) {
    for (const endpoint of endpoints) {
      const cells: Record<string, Cell> = {};
      for (const store of ["postgres", "clickhouse"]) {
        for (const source of ["raw", "rollup"]) {
          if (endpoint === "latency" && source === "rollup") continue;
          const url = `/${endpoint}?from=${period}&store=${store}&source=${source}`;
          const server: number[] = [];
          const wall: number[] = [];
          for (let run = 0; run <= runs; run++) {
            const started = performance.now();
            const res = await app.request(url);
            const body = (await res.json()) as {
              results?: { ms: number; query_ms: number | null; error?: { message: string } }[];
            };
            const elapsed = performance.now() - started;
            const result = body.results?.[0];
            if (res.status !== 200 || !result || result.error) {
              throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
            }
            if (run === 0) continue; // warm-up
            server.push(result.query_ms ?? result.ms);
            wall.push(elapsed);
          }
          cells[`${store}/${source}`] = { server: median(server), wall: median(wall) };
        }
      }
      table.push({ endpoint, period, cells });
      log(`timed ${endpoint} ${period}`);
    }
  }

  const fmt = (c: Cell) => (c ? `${c.server.toFixed(1)} (${c.wall.toFixed(0)})` : "—");
  const columns = ["postgres/raw", "postgres/rollup", "clickhouse/raw", "clickhouse/rollup"];
  console.log(
    `\n${rows.toLocaleString("en-US")} rows over ${days} days; median of ${runs} runs after a warm-up; ` +
      "ms = the database's own time as the API reports it (query_ms; whole in-process request in parentheses)",
  );
  console.log(
    `load: PostgreSQL ${(load.postgres / 1000).toFixed(1)} s, ClickHouse ${(load.clickhouse / 1000).toFixed(1)} s; ` +
      `rollup rows: PostgreSQL ${Number(pgCounts?.rollup).toLocaleString("en-US")} of ${Number(pgCounts?.raw).toLocaleString("en-US")}, ` +
      `ClickHouse ${chRollup.toLocaleString("en-US")} of ${chRaw.toLocaleString("en-US")}\n`,
  );
  console.log(`| endpoint | period | ${columns.join(" | ")} |`);
  console.log(`|---|---|${columns.map(() => "---:").join("|")}|`);
  for (const r of table)
    console.log(`| ${r.endpoint} | ${r.period} | ${columns.map((c) => fmt(r.cells[c])).join(" | ")} |`);
} finally {
  await Promise.all([pg.close(), ch.close()]);
  if (!opts.keep) await Promise.all([pgDb.drop(), chDb.drop()]);
  else log(`kept PostgreSQL ${pgDb.url} and ClickHouse database ${chDb.database}`);
}
