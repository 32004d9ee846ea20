#!/usr/bin/env bun
/**
 * The same ClickHouse statistics timed two ways, to tell the engine's time from the development
 * endpoint's (scripts/lib/stack/chdb-server.ts, which puts the chdb engine behind ClickHouse's
 * HTTP interface and runs one query at a time). Not a test: it prints a Markdown table.
 *
 *   # 1. through the endpoint (CLICKHOUSE_URL), as the stats API runs them:
 *   bun app/bench/chdb-direct.ts --via http --database eft_bench_x [--end ISO] [--days 30]
 *   # 2. the endpoint stopped (the engine's data directory is opened by one process only):
 *   bun app/bench/chdb-direct.ts --via engine --data-dir /tmp/stack-x/clickhouse --database eft_bench_x
 *
 * Each query's SQL and parameters are the ones src/stats/ sends (captured from a client that
 * answers nothing). `http`: wall time of the statistic and the engine time the endpoint reports
 * (X-ClickHouse-Summary elapsed_ns); `engine`: wall time of the chdb call in this process and the
 * engine's own elapsed.
 *
 * `--baseline <checkout>` (e.g. /work/main) also times that checkout's statistics (its
 * app/bench/queries.ts) on the same data, A (baseline) and B (this checkout) alternated run by
 * run, so that both see the same machine load; the table gets a row for each.
 */
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ClickHouseClient } from "@clickhouse/client-web";
import { loadConfig } from "../../src/config.ts";
import type { StatsQuery, StatsSource } from "../../src/stats/index.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { DASHBOARD_QUERIES, type QueryName } from "./queries.ts";
import { summarize } from "./summary.ts";

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    via: { type: "string", default: "http" },
    database: { type: "string" },
    "data-dir": { type: "string" },
    end: { type: "string" },
    days: { type: "string", default: "30" },
    reps: { type: "string", default: "5" },
    queries: { type: "string", default: "top,total,heatmap" },
    sources: { type: "string", default: "raw" },
    baseline: { type: "string" },
    zone: { type: "string" },
  },
});
if (!opts.database || (opts.via === "engine" && !opts["data-dir"])) {
  console.error("usage: bun app/bench/chdb-direct.ts --via http|engine --database <name> [--data-dir <dir>]");
  process.exit(2);
}
const database = opts.database;
const reps = Number(opts.reps);
const endMs = opts.end ? Date.parse(opts.end) : Date.now();
const period = { from: (endMs - Number(opts.days) * 86_400_000) * 1000, to: endMs * 1000 };

type Sent = { query: string; params: Record<string, unknown> };

/** The statements a statistic sends, from a client that answers every query with no rows. */
async function capture(run: (client: ClickHouseClient) => Promise<unknown>): Promise<Sent[]> {
  const sent: Sent[] = [];
  const client = {
    query: async (args: { query: string; query_params?: Record<string, unknown> }) => {
      sent.push({ query: args.query, params: args.query_params ?? {} });
      return { json: async () => [] };
    },
  } as unknown as ClickHouseClient;
  await run(client);
  return sent;
}

/** ClickHouse's text form of a parameter, as client-web sends it (numbers and strings only here). */
const paramText = (v: unknown) => String(v);

type Native = {
  QueryAsyncConnection(
    conn: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<{ elapsed: number }>;
};

/** One run of a statistic: its wall time and the engine's elapsed, in ms. */
type Run = () => Promise<{ wall: number; engine: number }>;

/** A warm-up of each, then `reps` rounds running each once in turn; median / p95 per variant. */
async function alternate(runs: readonly Run[]) {
  const samples = runs.map(() => ({ walls: [] as number[], engine: [] as number[] }));
  for (let i = 0; i <= reps; i++) {
    for (const [k, run] of runs.entries()) {
      const t = await run();
      if (i === 0) continue;
      samples[k]?.walls.push(t.wall);
      samples[k]?.engine.push(t.engine);
    }
  }
  return samples.map((s) => ({ wall: summarize(s.walls), engine: summarize(s.engine) }));
}

function engineRun(statements: Sent[], conn: unknown, native: Native): Run {
  return async () => {
    let wall = 0;
    let elapsed = 0;
    for (const s of statements) {
      const params = Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, paramText(v)]));
      const started = performance.now();
      const result = await native.QueryAsyncConnection(conn, s.query, "JSONEachRow", params);
      wall += performance.now() - started;
      elapsed += result.elapsed * 1000;
    }
    return { wall, engine: elapsed };
  };
}

function httpRun(run: (client: ClickHouseClient) => Promise<unknown>, client: ClickHouseClient): Run {
  let elapsed = 0;
  const counting = new Proxy(client, {
    get: (target, key) =>
      key === "query"
        ? async (args: Parameters<ClickHouseClient["query"]>[0]) => {
            const rs = await target.query(args);
            const summary = JSON.parse(String(rs.response_headers["x-clickhouse-summary"] ?? "{}"));
            elapsed += Number(summary.elapsed_ns ?? 0) / 1e6;
            return rs;
          }
        : Reflect.get(target, key),
  });
  return async () => {
    elapsed = 0;
    const started = performance.now();
    await run(counting);
    return { wall: performance.now() - started, engine: elapsed };
  };
}

const config = loadConfig(process.env);
const http = opts.via === "http" ? createClickhouseStore({ ...config.clickhouse, database }).stats.client : undefined;
let engine: { conn: unknown; native: Native; close(): void } | undefined;
if (opts.via === "engine") {
  const { Session } = await import("chdb");
  const require = createRequire(import.meta.url);
  const native: Native = require(join(dirname(require.resolve("chdb/package.json")), "dist/loader.js")).loadNative();
  const session = new Session(opts["data-dir"] as string, { connectionArgs: ["--implicit_select=0"] });
  await native.QueryAsyncConnection(session.connection, `USE ${database}`, "TabSeparated");
  engine = { conn: session.connection, native, close: () => session.close() };
}
const variants: { name: string; queries: typeof DASHBOARD_QUERIES }[] = [
  ...(opts.baseline
    ? [
        {
          name: "A baseline",
          queries: (await import(resolve(opts.baseline, "app/bench/queries.ts"))).DASHBOARD_QUERIES,
        },
      ]
    : []),
  { name: opts.baseline ? "B this checkout" : "", queries: DASHBOARD_QUERIES },
];
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
try {
  console.log(`ClickHouse via ${opts.via}; median / p95 ms of ${reps} runs after a warm-up; load average ${load()}\n`);
  console.log("| query | source | variant | wall | engine elapsed |\n|---|---|---|---:|---:|");
  for (const name of opts.queries.split(",") as QueryName[]) {
    for (const source of opts.sources.split(",") as StatsSource[]) {
      const q: StatsQuery = { ...period, timeZone: opts.zone ?? config.timeZone, filters: {}, source };
      const runs: Run[] = [];
      for (const v of variants) {
        const run = (client: ClickHouseClient) => v.queries[name]({ kind: "clickhouse", client }, q);
        runs.push(
          engine ? engineRun(await capture(run), engine.conn, engine.native) : httpRun(run, http as ClickHouseClient),
        );
      }
      for (const [k, t] of (await alternate(runs)).entries())
        console.log(
          `| ${name} | ${source} | ${variants[k]?.name} | ${t.wall.median} / ${t.wall.p95} | ${t.engine.median} / ${t.engine.p95} |`,
        );
    }
  }
  console.log(`\nload average after: ${load()}`);
} finally {
  engine?.close();
  await http?.close();
}
