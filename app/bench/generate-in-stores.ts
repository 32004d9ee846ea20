#!/usr/bin/env bun
/**
 * Opt-in: dashboard query times at 100M rows (or --rows N), the data generated inside the stores
 * by SQL (in-store-rows.ts) rather than sent from this process, which would take hours at that
 * size. Not a test: it prints a Markdown table.
 *
 *   bun app/bench/generate-in-stores.ts [--rows 100000000] [--days 30] [--reps 5]
 *        [--stores postgres,clickhouse] [--sources rollup] [--path fast|views] [--keep]
 *
 * Fresh databases eft_bench_<random> beside the configured ones (DATABASE_URL, CLICKHOUSE_URL),
 * dropped at the end unless --keep. --path: how the rollups are filled (in-store-rows.ts); "fast"
 * by default. Each query's time is given as wall time and as the store's own time for it
 * (src/stats/query-timer.ts: ClickHouse's query summary, PostgreSQL's statement time on a held
 * connection). Raw queries at this size take minutes: --sources rollup by default.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.ts";
import type { StatsSource } from "../../src/stats/index.ts";
import { createBenchStores } from "./bench-databases.ts";
import { hourPlan, type LoadPath, loadClickhouseInStore, loadPostgresInStore } from "./in-store-rows.ts";
import { timeQueries } from "./queries.ts";

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rows: { type: "string", default: "100000000" },
    days: { type: "string", default: "30" },
    reps: { type: "string", default: "5" },
    stores: { type: "string", default: "postgres,clickhouse" },
    sources: { type: "string", default: "rollup" },
    path: { type: "string", default: "fast" },
    keep: { type: "boolean", default: false },
  },
});
const rows = Number(opts.rows);
const days = Number(opts.days);
const reps = Number(opts.reps);
const storeNames = opts.stores.split(",");
const sources = opts.sources.split(",") as StatsSource[];
if (opts.path !== "fast" && opts.path !== "views") throw new Error("--path: fast or views");
const path = opts.path as LoadPath;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line} (load ${load()})\n`);

/** Progress once a day of the period, with the rows so far and the time left at that rate. */
function progress(name: string, plan: ReturnType<typeof hourPlan>) {
  const started = performance.now();
  let done = 0;
  return (h: number) => {
    done += plan[h]?.count ?? 0;
    if (h % 24 !== 23 && h !== plan.length - 1) return;
    const s = (performance.now() - started) / 1000;
    log(
      `${name}: ${done.toLocaleString("en-US")} of ${rows.toLocaleString("en-US")} rows in ${s.toFixed(0)} s, ` +
        `${Math.round(done / s).toLocaleString("en-US")} rows/s, ~${(((rows - done) * s) / done / 60).toFixed(1)} min left`,
    );
  };
}

const config = loadConfig(process.env);
const stores = await createBenchStores(config, {
  clickhouseTimeoutMs: 3 * 3_600_000,
  migrate: storeNames.filter((s) => s === "postgres" || s === "clickhouse"),
});
log(`PostgreSQL ${stores.pgUrl}, ClickHouse database ${stores.chDatabase}, ${rows} rows, path ${path}`);
try {
  const end = Date.now();
  const plan = hourPlan(rows, days, end);
  const phases: Record<string, Record<string, number>> = {};
  if (storeNames.includes("postgres")) {
    const t = performance.now();
    phases.postgres = await loadPostgresInStore(stores.pg.stats.sql, plan, path, progress("PostgreSQL", plan));
    phases.postgres.total = (performance.now() - t) / 1000;
    log(`PostgreSQL loaded: ${JSON.stringify(phases.postgres)}`);
  }
  if (storeNames.includes("clickhouse")) {
    const t = performance.now();
    phases.clickhouse = await loadClickhouseInStore(stores.ch.stats.client, plan, path, progress("ClickHouse", plan));
    phases.clickhouse.total = (performance.now() - t) / 1000;
    log(`ClickHouse loaded: ${JSON.stringify(phases.clickhouse)}`);
  }

  const selected = [stores.pg, stores.ch].filter((s) => storeNames.includes(s.name));
  const counts = await Promise.all(selected.map((s) => s.countFootprints()));
  log("timing the queries");
  const loadBefore = load();
  const period = { from: (end - days * 86_400_000) * 1000, to: end * 1000, timeZone: config.timeZone, filters: {} };
  const timings = await timeQueries(selected, period, reps, () => {}, sources);
  const phaseText = Object.entries(phases)
    .map(
      ([k, v]) =>
        `${k} ${Object.entries(v)
          .map(([p, s]) => `${p} ${s.toFixed(0)} s`)
          .join(", ")}`,
    )
    .join("; ");
  console.log(
    `\n${counts.map((n, i) => `${selected[i]?.name} ${n.toLocaleString("en-US")} rows`).join(", ")} over ${days} days ` +
      `ending ${new Date(end).toISOString()}; path ${path}; load: ${phaseText}.\n` +
      `Median ms of ${reps} runs after a warm-up, ${config.timeZone}; load average ${loadBefore} before, ${load()} after.\n`,
  );
  console.log("| query | store | source | wall | store's own time |\n|---|---|---|---:|---:|");
  for (const t of timings)
    console.log(`| ${t.query} | ${t.store} | ${t.source} | ${t.median} | ${t.own ?? "not reported"} |`);
} finally {
  if (opts.keep) {
    log(`kept PostgreSQL ${stores.pgUrl} and ClickHouse database ${stores.chDatabase}`);
    // Open connections would keep the process alive.
    await Promise.allSettled([stores.pg.close(), stores.ch.close()]);
  } else await stores.drop();
}
