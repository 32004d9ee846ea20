/**
 * Rows generated inside the stores by SQL (PostgreSQL generate_series, ClickHouse numbers()), for
 * the opt-in 100M-row run (generate-in-stores.ts). They follow the bench's synthetic traffic
 * (synthetic-footprints.ts: its routes and weights, daily curve in Korea, a sixth in the seed
 * format with raw paths) without its minute bursts, written hour by hour in time order.
 *
 * Two ways to fill the rollups, which must give the same contents (in-store-rows.*.test.ts):
 * - "views": ClickHouse's materialized views count each insert as the consumer's would;
 *   PostgreSQL gets its rollups from the raw rows afterwards (buildPostgresRollups);
 * - "fast": PostgreSQL loads the raw rows with its indexes dropped and builds them after;
 *   ClickHouse loads them with the views detached and then runs each view's own SELECT once
 *   per week of raw rows into its table — per-insert view work was most of ClickHouse's time.
 */
import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { ROLLUP_TABLES } from "../../src/store/rollup-key.ts";
import { buildPostgresRollups } from "./load.ts";
import { HOURLY, ROUTES } from "./synthetic-footprints.ts";

export type LoadPath = "views" | "fast";
export type HourPlan = { start: number; count: number }[];
export type Phases = Record<string, number>;

const HOUR_WEIGHT = HOURLY.reduce((a, b) => a + b, 0);
// Route index (1-based, SQL arrays) repeated by weight: a uniform pick from it is a weighted pick.
const PICKS = ROUTES.flatMap(([weight], i) => new Array<number>(weight).fill(i + 1));
const list = (xs: readonly (string | number)[]) =>
  xs.map((x) => (typeof x === "number" ? String(x) : `'${x}'`)).join(", ");
const KST = 9 * 3_600_000;
const WEEK_S = 7 * 86_400;
// 1970-01-01 was a Thursday: Mondays 00:00 UTC are 4 days after a multiple of a week.
const MONDAY_OFFSET_S = 4 * 86_400;

/** Hours of `days` days ending at `end` (epoch ms), oldest first, each with its start (epoch s) and its share of `rows`. */
export function hourPlan(rows: number, days: number, end: number): HourPlan {
  const firstDay = Math.floor((end + KST) / 86_400_000) * 86_400_000 - KST - (days - 1) * 86_400_000;
  return Array.from({ length: days * 24 }, (_, h) => ({
    start: (firstDay + h * 3_600_000) / 1000,
    count: Math.round((rows * (HOURLY[h % 24] as number)) / (days * HOUR_WEIGHT)),
  })).filter((h) => h.start * 1000 < end && h.count > 0);
}

/**
 * One hour's rows for PostgreSQL; ids in time order so the unique index only appends. The first
 * lateral names `i` so that it runs once per row: uncorrelated, PostgreSQL ran it once per
 * statement, and every row of an hour got the same route, status and bot flag.
 */
export function postgresHourSql(h: number, start: number, count: number): string {
  return `
    insert into user_footprint (event_id, request, link, route, status, duration_ms, footprint_time, host, is_bot)
    select ('00000000-0000-7000-8000-' || lpad(to_hex(${h}::int8 * 4294967296 + i), 12, '0'))::uuid,
           (array[${list(ROUTES.map((r) => r[1]))}])[k],
           case when ids > 0 then replace(route, ':id', (1 + floor(r2 * r2 * ids))::int::text) else route end,
           case when seed then null else route end,
           case when seed then null when r4 < 0.9 then 200 when r4 < 0.93 then 304 when r4 < 0.98 then 404
                when r4 < 0.995 then 500 else 503 end,
           case when seed then null else round((2 - ln(1 - r6) * 18) * 1000) / 1000 end,
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
export function clickhouseHourSql(h: number, start: number, count: number): string {
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

const seconds = (t: number) => (performance.now() - t) / 1000;

/**
 * Loads the planned hours into PostgreSQL's user_footprint and builds every rollup from them.
 * "fast" drops the indexes and constraints of the raw table (primary key, unique event_id, time)
 * and of the rollup tables for the load and the rollup build, and builds them once after, with
 * maintenance_work_mem raised.
 */
export async function loadPostgresInStore(
  sql: postgres.Sql,
  plan: HourPlan,
  path: LoadPath,
  onHour: (h: number) => void = () => {},
): Promise<Phases> {
  const phases: Phases = {};
  let t = performance.now();
  const tables = path === "fast" ? ["user_footprint", ...ROLLUP_TABLES.map((r) => r.table)] : [];
  const rebuild: string[] = [];
  for (const table of tables) rebuild.push(...(await dropPostgresIndexes(sql, table)));
  // A statement's rows are built by one backend: "fast" builds two hours at once, in two backends.
  let next = 0;
  const worker = async () => {
    for (let h = next++; h < plan.length; h = next++) {
      const { start, count } = plan[h] as HourPlan[number];
      await sql.unsafe(postgresHourSql(h, start, count));
      onHour(h);
    }
  };
  await Promise.all(Array.from({ length: path === "fast" ? 2 : 1 }, worker));
  phases.insert = seconds(t);
  // VACUUM ANALYZE included; the visibility map it sets stays valid for the indexes built after.
  const { rollupSeconds, analyzeSeconds } = await buildPostgresRollups(sql);
  Object.assign(phases, { rollups: rollupSeconds, analyze: analyzeSeconds });
  t = performance.now();
  await sql.begin(async (tx) => {
    await tx.unsafe("set local maintenance_work_mem = '1GB'");
    for (const statement of rebuild) await tx.unsafe(statement);
  });
  if (rebuild.length) phases.indexes = seconds(t);
  return phases;
}

/** Drops a table's constraints and indexes; returns the statements that make them again. */
async function dropPostgresIndexes(sql: postgres.Sql, table: string): Promise<string[]> {
  const constraints = await sql<{ name: string; def: string }[]>`
    select conname as name, pg_get_constraintdef(oid) as def from pg_constraint
    where conrelid = ${table}::regclass and contype in ('p', 'u')`;
  const indexes = await sql<{ name: string; def: string }[]>`
    select indexname as name, indexdef as def from pg_indexes
    where tablename = ${table} and schemaname = current_schema()
      and indexname not in (select conname from pg_constraint where conrelid = ${table}::regclass)`;
  for (const c of constraints) await sql.unsafe(`alter table ${table} drop constraint ${c.name}`);
  for (const i of indexes) await sql.unsafe(`drop index ${i.name}`);
  return [
    ...constraints.map((c) => `alter table ${table} add constraint ${c.name} ${c.def}`),
    ...indexes.map((i) => i.def),
  ];
}

/** Settings of every load statement: no block hashing for deduplication (each block is new). */
const CH_LOAD_SETTINGS = { insert_deduplicate: 0 } as const;

/**
 * Loads the planned hours into ClickHouse's user_footprint. "views": the materialized views fill
 * the rollups during the inserts. "fast": the views are detached for the load; then each view's
 * own SELECT (system.tables, so exactly what it would have written) runs over the raw rows one
 * UTC week at a time — weeks hold whole minutes, hours, days and weeks, so every key is written
 * by one chunk — into its table, and the view is attached again. OPTIMIZE FINAL either way.
 */
export async function loadClickhouseInStore(
  client: ClickHouseClient,
  plan: HourPlan,
  path: LoadPath,
  onHour: (h: number) => void = () => {},
): Promise<Phases> {
  const phases: Phases = {};
  let t = performance.now();
  const views = await clickhouseViews(client);
  if (path === "fast") for (const v of views) await client.command({ query: `DETACH TABLE ${v.name}` });
  try {
    for (const [h, { start, count }] of plan.entries()) {
      await client.command({ query: clickhouseHourSql(h, start, count), clickhouse_settings: CH_LOAD_SETTINGS });
      onHour(h);
    }
    phases.insert = seconds(t);
    t = performance.now();
    if (path === "fast") {
      const first = plan[0]?.start ?? 0;
      const last = (plan.at(-1)?.start ?? 0) + 3600;
      for (const v of views) await fillFromView(client, v, first, last);
      phases.rollups = seconds(t);
    }
  } finally {
    if (path === "fast") for (const v of views) await client.command({ query: `ATTACH TABLE ${v.name}` });
  }
  t = performance.now();
  // Merged rollup parts, as a long-running server would have them.
  for (const { table } of ROLLUP_TABLES) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  phases.optimize = seconds(t);
  return phases;
}

type View = { name: string; target: string; select: string };

/** The database's materialized views over user_footprint: name, target table and SELECT. */
async function clickhouseViews(client: ClickHouseClient): Promise<View[]> {
  const rs = await client.query({
    query: `SELECT name, as_select, create_table_query FROM system.tables
            WHERE database = currentDatabase() AND engine = 'MaterializedView' ORDER BY name`,
    format: "JSONEachRow",
  });
  const rows = await rs.json<{ name: string; as_select: string; create_table_query: string }>();
  return rows.map((r) => {
    const target = /\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?/.exec(r.create_table_query)?.[1];
    if (!target) throw new Error(`materialized view ${r.name}: no TO table in its definition`);
    return { name: r.name, target, select: r.as_select };
  });
}

/** INSERT of the view's SELECT over the raw rows, one Monday-aligned UTC week at a time. */
async function fillFromView(client: ClickHouseClient, view: View, first: number, last: number): Promise<void> {
  const rollup = ROLLUP_TABLES.find((r) => r.table === view.target);
  if (!rollup) throw new Error(`materialized view ${view.name} feeds ${view.target}, not a known rollup`);
  const columns = [rollup.tier, ...rollup.columns, "n"].join(", ");
  let from = Math.floor((first - MONDAY_OFFSET_S) / WEEK_S) * WEEK_S + MONDAY_OFFSET_S;
  for (; from < last; from += WEEK_S) {
    // The view's SELECT names user_footprint once, in FROM: a subquery of one week stands in.
    const select = view.select.replace(
      /\bFROM\s+(?:`?\w+`?\.)?`?user_footprint`?(?=\s|$)/,
      `FROM (SELECT * FROM user_footprint WHERE footprint_time >= toDateTime64(${from}, 6, 'UTC') AND footprint_time < toDateTime64(${from + WEEK_S}, 6, 'UTC'))`,
    );
    if (select === view.select) throw new Error(`materialized view ${view.name}: FROM user_footprint not found`);
    await client.command({
      query: `INSERT INTO ${view.target} (${columns}) ${select}`,
      clickhouse_settings: CH_LOAD_SETTINGS,
    });
  }
}
