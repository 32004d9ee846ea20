#!/usr/bin/env bun
/**
 * Rows each dashboard statistic reads, per store, beside its time: the figure issue 13 asks of
 * every rollup read ("at most a few tens of thousands of rows whatever the traffic"). Not a test:
 * it prints a Markdown table. Run it on databases kept by generate-in-stores.ts --keep:
 *
 *   bun app/bench/stats-rows-read.ts --pg-url postgres://…/eft_bench_x [--ch-database eft_bench_y]
 *       [--end 2026-11-30T16:00:00Z] [--days 30] [--zones Asia/Seoul] [--reps 5] [--sources rollup]
 *
 * - PostgreSQL: every statement the statistic sends is captured (postgres.js `debug`) and run
 *   again in one transaction, the same settings first, each SELECT under EXPLAIN (ANALYZE,
 *   BUFFERS, FORMAT JSON); rows read = per scan node, (actual rows + rows removed by filter or
 *   recheck) × loops, summed per table.
 * - ClickHouse: system.events' SelectedRows (rows read from tables; the engine's own counter)
 *   before and after each query, less what reading system.events itself adds (measured with
 *   nothing between). The development endpoint runs one query at a time, so no other query
 *   counts in between — run it on a stack of your own. `EXPLAIN ESTIMATE` (rows of the granules
 *   the primary key selects) is printed beside it.
 *
 * The period is the same for every query and store: `--days` before `--end` (default: the
 * newest PostgreSQL row + 1 s, so the edges hold partial minutes as a dashboard's "now" does).
 */
import { parseArgs } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client-web";
import postgres from "postgres";
import { loadConfig } from "../../src/config.ts";
import type { StatsDb, StatsSource } from "../../src/stats/index.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { DASHBOARD_QUERIES, type QueryName } from "./queries.ts";
import { summarize } from "./summary.ts";

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    "pg-url": { type: "string" },
    "ch-database": { type: "string" },
    end: { type: "string" },
    days: { type: "string", default: "30" },
    zones: { type: "string", default: "Asia/Seoul" },
    reps: { type: "string", default: "5" },
    sources: { type: "string", default: "rollup" },
    queries: { type: "string", default: Object.keys(DASHBOARD_QUERIES).join(",") },
  },
});
const pgUrl = opts["pg-url"];
const chDatabase = opts["ch-database"];
if (!pgUrl) {
  console.error("usage: bun app/bench/stats-rows-read.ts --pg-url <url> --ch-database <name> [--end ISO] [--days 30]");
  process.exit(2);
}

type PlanNode = {
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
};

/** Rows read per table by the scan nodes of a plan. */
function scannedRows(node: PlanNode, into: Map<string, number>): Map<string, number> {
  if (node["Relation Name"]) {
    const rows =
      ((node["Actual Rows"] ?? 0) +
        (node["Rows Removed by Filter"] ?? 0) +
        (node["Rows Removed by Index Recheck"] ?? 0)) *
      (node["Actual Loops"] ?? 1);
    if (!node["Relation Name"].startsWith("pg_"))
      into.set(node["Relation Name"], (into.get(node["Relation Name"]) ?? 0) + rows);
  }
  for (const child of node.Plans ?? []) scannedRows(child, into);
  return into;
}

/** Runs `run` once with every statement captured, then again under EXPLAIN ANALYZE. */
async function postgresRowsRead(url: string, run: (db: StatsDb) => Promise<unknown>): Promise<Map<string, number>> {
  const captured: { text: string; params: unknown[] }[] = [];
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params: params as unknown[] }),
  });
  try {
    await run({ kind: "postgres", sql });
    const statements = captured.filter((s) => /^\s*(select|with)\b/i.test(s.text));
    const rows = new Map<string, number>();
    await sql.begin("read only", async (tx) => {
      for (const s of statements) {
        if (s.text.includes("set_config(")) {
          await tx.unsafe(s.text, s.params as postgres.ParameterOrJSON<never>[]);
          continue;
        }
        const [plan] = await tx.unsafe(
          `explain (analyze, buffers, format json) ${s.text}`,
          s.params as postgres.ParameterOrJSON<never>[],
        );
        const root = (plan?.["QUERY PLAN"] as { Plan: PlanNode }[] | undefined)?.[0]?.Plan;
        if (root) scannedRows(root, rows);
      }
    });
    return rows;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function selectedRows(client: ClickHouseClient): Promise<number> {
  const rs = await client.query({
    query: "SELECT value FROM system.events WHERE event = 'SelectedRows'",
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ value: string }>();
  return Number(row?.value ?? 0);
}

/**
 * A client that runs each query as asked and adds the rows the engine read for it (SelectedRows)
 * and its EXPLAIN ESTIMATE rows per table to `tally`.
 */
function countingClient(
  client: ClickHouseClient,
  overhead: number,
  tally: { read: number; estimate: Map<string, number> },
): ClickHouseClient {
  const query = (async (args: Parameters<ClickHouseClient["query"]>[0]) => {
    const before = await selectedRows(client);
    const result = await client.query(args);
    tally.read += (await selectedRows(client)) - before - overhead;
    const estimate = await client.query({
      query: `EXPLAIN ESTIMATE ${args.query}`,
      query_params: args.query_params,
      format: "JSONEachRow",
    });
    for (const r of await estimate.json<{ table: string; rows: string }>())
      tally.estimate.set(r.table, (tally.estimate.get(r.table) ?? 0) + Number(r.rows));
    return result;
  }) as ClickHouseClient["query"];
  return new Proxy(client, { get: (target, key) => (key === "query" ? query : Reflect.get(target, key)) });
}

// Catalog tables (postgres.js reads pg_type once per connection) are left out.
const perTable = (rows: Map<string, number>) =>
  [...rows]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([table, n]) => `${table.replace(/^user_footprint_?/, "") || "raw"} ${n.toLocaleString("en-US")}`)
    .join(", ");
const total = (rows: Map<string, number>) => [...rows.values()].reduce((a, b) => a + b, 0);

async function timeIt(run: () => Promise<unknown>, reps: number) {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

const config = loadConfig(process.env);
const reps = Number(opts.reps);
// Without --ch-database, PostgreSQL only.
const ch = chDatabase ? createClickhouseStore({ ...config.clickhouse, database: chDatabase }) : undefined;
const pg = postgres(pgUrl, { max: 1, onnotice: () => {} });
try {
  const [newest] = await pg<
    { t: number }[]
  >`select extract(epoch from max(footprint_time))::float8 as t from user_footprint`;
  const endMs = opts.end ? Date.parse(opts.end) : Math.floor((newest?.t ?? Date.now() / 1000) * 1000) + 1000;
  const from = (endMs - Number(opts.days) * 86_400_000) * 1000;
  const to = endMs * 1000;
  // What reading system.events itself adds to SelectedRows.
  const overhead = ch ? -((await selectedRows(ch.stats.client)) - (await selectedRows(ch.stats.client))) : 0;
  console.log(
    `Period ${new Date(from / 1000).toISOString()} – ${new Date(to / 1000).toISOString()}; median / p95 ms of ${reps} runs after a warm-up. ` +
      "PG rows: EXPLAIN ANALYZE scan nodes; CH rows: SelectedRows (EXPLAIN ESTIMATE per table in brackets).\n",
  );
  console.log(
    "| query | zone | source | PG rows read | PG ms | CH rows read | CH ms |\n|---|---|---|---|---:|---|---:|",
  );
  for (const query of opts.queries.split(",") as QueryName[]) {
    const statistic = DASHBOARD_QUERIES[query];
    for (const timeZone of opts.zones.split(",")) {
      for (const source of opts.sources.split(",") as StatsSource[]) {
        const q = { from, to, timeZone, filters: {}, source };
        const pgRows = await postgresRowsRead(pgUrl, (db) => statistic(db, q));
        const pgTime = await timeIt(() => statistic({ kind: "postgres", sql: pg }, q), reps);
        let chCells = "— | —";
        if (ch) {
          const tally = { read: 0, estimate: new Map<string, number>() };
          await statistic({ kind: "clickhouse", client: countingClient(ch.stats.client, overhead, tally) }, q);
          const chTime = await timeIt(() => statistic(ch.stats, q), reps);
          chCells = `${tally.read.toLocaleString("en-US")} (${perTable(tally.estimate)}) | ${chTime.median} / ${chTime.p95}`;
        }
        console.log(
          `| ${query} | ${timeZone} | ${source} | ${total(pgRows).toLocaleString("en-US")} (${perTable(pgRows)}) | ` +
            `${pgTime.median} / ${pgTime.p95} | ${chCells} |`,
        );
      }
    }
  }
} finally {
  await Promise.allSettled([pg.end({ timeout: 5 }), ch?.close()]);
}
