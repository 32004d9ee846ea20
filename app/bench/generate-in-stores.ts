#!/usr/bin/env bun
/**
 * Opt-in: dashboard query times at 100M rows (or --rows N), the data generated inside the stores
 * by SQL (PostgreSQL generate_series, ClickHouse numbers()) rather than sent from this process,
 * which would take hours at that size. Not a test: it prints a Markdown table.
 *
 *   bun app/bench/generate-in-stores.ts [--rows 100000000] [--days 30] [--reps 5]
 *                                       [--stores postgres,clickhouse] [--sources rollup] [--keep]
 *
 * Fresh databases eft_bench_<random> beside the configured ones (DATABASE_URL, CLICKHOUSE_URL),
 * dropped at the end unless --keep. The rows follow the bench's synthetic traffic
 * (synthetic-footprints.ts: its routes and weights, daily curve in Korea, a sixth in the seed
 * format with raw paths) without its minute bursts, written hour by hour in time order. PostgreSQL
 * gets its rollups afterwards from the raw rows (as after a COPY, load.ts); ClickHouse's views
 * fill its rollups during the inserts. Raw queries at this size take minutes: --sources rollup
 * by default.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.ts";
import type { StatsSource } from "../../src/stats/index.ts";
import { ROLLUP_TABLES } from "../../src/store/rollup-key.ts";
import { createBenchStores } from "./bench-databases.ts";
import { buildPostgresRollups } from "./load.ts";
import { timeQueries } from "./queries.ts";
import { HOURLY, ROUTES } from "./synthetic-footprints.ts";

const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rows: { type: "string", default: "100000000" },
    days: { type: "string", default: "30" },
    reps: { type: "string", default: "5" },
    stores: { type: "string", default: "postgres,clickhouse" },
    sources: { type: "string", default: "rollup" },
    keep: { type: "boolean", default: false },
  },
});
const rows = Number(opts.rows);
const days = Number(opts.days);
const reps = Number(opts.reps);
const storeNames = opts.stores.split(",");
const sources = opts.sources.split(",") as StatsSource[];
const log = (line: string) => process.stderr.write(`${line}\n`);

const HOUR_WEIGHT = HOURLY.reduce((a, b) => a + b, 0);
// Route index (1-based, SQL arrays) repeated by weight: a uniform pick from it is a weighted pick.
const PICKS = ROUTES.flatMap(([weight], i) => new Array<number>(weight).fill(i + 1));
const list = (xs: readonly (string | number)[]) =>
  xs.map((x) => (typeof x === "number" ? String(x) : `'${x}'`)).join(", ");
const KST = 9 * 3_600_000;

/** Hours of the period, oldest first, each with its start (epoch s) and its share of the rows. */
function hours(end: number): { start: number; count: number }[] {
  const firstDay = Math.floor((end + KST) / 86_400_000) * 86_400_000 - KST - (days - 1) * 86_400_000;
  return Array.from({ length: days * 24 }, (_, h) => ({
    start: (firstDay + h * 3_600_000) / 1000,
    count: Math.round((rows * (HOURLY[h % 24] as number)) / (days * HOUR_WEIGHT)),
  })).filter((h) => h.start * 1000 < end);
}

/**
 * One hour's rows for PostgreSQL; ids in time order so the unique index only appends. The first
 * lateral names `i` so that it runs once per row: uncorrelated, PostgreSQL ran it once per
 * statement, and every row of an hour got the same route, status and bot flag.
 */
function postgresHour(h: number, start: number, count: number): string {
  return `
    insert into user_footprint (event_id, request, link, route, status, duration_ms, footprint_time, host, is_bot)
    select ('00000000-0000-7000-8000-' || lpad(to_hex(${h}::int8 * 4294967296 + i), 12, '0'))::uuid,
           (array[${list(ROUTES.map((r) => r[1]))}])[k],
           case when ids > 0 then replace(route, ':id', (1 + floor(r2 * r2 * ids))::int::text) else route end,
           case when seed then null else route end,
           case when seed then null when r4 < 0.9 then 200 when r4 < 0.93 then 304 when r4 < 0.98 then 404
                when r4 < 0.995 then 500 else 503 end,
           case when seed then null else round((2 - ln(1 - r6) * 18)::numeric, 3) end,
           to_timestamp(${start} + (i - 1 + r7) * 3600.0 / ${count}),
           case when seed then null else 'eft.example.com' end,
           case when seed then null else r5 < 0.08 end
    from generate_series(1, ${count}) i,
         lateral (select (array[${list(PICKS)}])[1 + floor(random() * ${PICKS.length})::int] as k,
                         random() as r2, random() < 1.0 / 6 as seed, random() as r4, random() as r5,
                         random() as r6, random() as r7 where i > 0 offset 0) r,
         lateral (select (array[${list(ROUTES.map((r) => r[2]))}])[k] as route,
                         (array[${list(ROUTES.map((r) => r[3]))}])[k] as ids offset 0) x`;
}

/** The same hour for ClickHouse. */
function clickhouseHour(h: number, start: number, count: number): string {
  const r = (n: number) => `(rand(${n}) / 4294967296.0)`;
  return `
    INSERT INTO user_footprint (event_id, request, link, route, status, duration_ms, footprint_time, host, is_bot)
    SELECT toUUID(concat('00000000-0000-7000-8000-', leftPad(lower(hex(toUInt64(${h}) * 4294967296 + number + 1)), 12, '0'))),
           [${list(ROUTES.map((r) => r[1]))}][k],
           if(ids > 0, replace(route_, ':id', toString(1 + toUInt32(floor(r2 * r2 * ids)))), route_),
           if(seed, NULL, route_),
           if(seed, NULL, multiIf(r4 < 0.9, 200, r4 < 0.93, 304, r4 < 0.98, 404, r4 < 0.995, 500, 503)),
           if(seed, NULL, round(2 - log(1 - r6) * 18, 3)),
           toDateTime64(${start} + (number + r7) * 3600.0 / ${count}, 6, 'UTC'),
           if(seed, NULL, 'eft.example.com'),
           if(seed, NULL, r5 < 0.08)
    FROM (SELECT number, [${list(PICKS)}][1 + toUInt32(floor(${r(1)} * ${PICKS.length}))] AS k,
                 ${r(2)} AS r2, ${r(3)} < 1.0 / 6 AS seed, ${r(4)} AS r4, ${r(5)} AS r5, ${r(6)} AS r6, ${r(7)} AS r7,
                 [${list(ROUTES.map((x) => x[2]))}][k] AS route_, [${list(ROUTES.map((x) => x[3]))}][k] AS ids
          FROM numbers(${count}))`;
}

const config = loadConfig(process.env);
const stores = await createBenchStores(config);
try {
  const end = Date.now();
  const plan = hours(end);
  const seconds: Record<string, number> = {};
  if (storeNames.includes("postgres")) {
    const t = performance.now();
    for (const [h, { start, count }] of plan.entries()) {
      await stores.pg.stats.sql.unsafe(postgresHour(h, start, count));
      if (h % 24 === 23) log(`PostgreSQL: day ${(h + 1) / 24} of ${days}`);
    }
    const phases = await buildPostgresRollups(stores.pg.stats.sql);
    seconds.postgres = (performance.now() - t) / 1000;
    log(`PostgreSQL loaded in ${seconds.postgres.toFixed(0)} s (rollups ${phases.rollupSeconds.toFixed(0)} s)`);
  }
  if (storeNames.includes("clickhouse")) {
    const t = performance.now();
    for (const [h, { start, count }] of plan.entries()) {
      await stores.ch.stats.client.command({ query: clickhouseHour(h, start, count) });
      if (h % 24 === 23) log(`ClickHouse: day ${(h + 1) / 24} of ${days}`);
    }
    for (const { table } of ROLLUP_TABLES)
      await stores.ch.stats.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    seconds.clickhouse = (performance.now() - t) / 1000;
    log(`ClickHouse loaded in ${seconds.clickhouse.toFixed(0)} s`);
  }

  const selected = [stores.pg, stores.ch].filter((s) => storeNames.includes(s.name));
  const counts = await Promise.all(selected.map((s) => s.countFootprints()));
  const timings = await timeQueries(
    selected,
    { from: (end - days * 86_400_000) * 1000, to: end * 1000, timeZone: config.timeZone, filters: {} },
    reps,
    () => {},
    sources,
  );
  console.log(
    `\n${counts.map((n, i) => `${selected[i]?.name} ${n.toLocaleString("en-US")} rows`).join(", ")} over ${days} days; ` +
      `load ${Object.entries(seconds)
        .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
        .join(", ")}; ` +
      `median / p95 ms of ${reps} runs after a warm-up, ${config.timeZone}\n`,
  );
  console.log("| query | store | source | median | p95 |\n|---|---|---|---:|---:|");
  for (const t of timings) console.log(`| ${t.query} | ${t.store} | ${t.source} | ${t.median} | ${t.p95} |`);
} finally {
  if (opts.keep) log(`kept PostgreSQL ${stores.pgUrl} and ClickHouse database ${stores.chDatabase}`);
  else await stores.drop();
}
