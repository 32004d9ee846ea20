/**
 * The PostgreSQL side of every count: rows of the period, filtered and grouped by the query's
 * dimensions, read from raw rows and/or the per-minute rollup (migration 0003). Every value is a
 * bound parameter; only fixed SQL text is spliced.
 */
import type postgres from "postgres";
import { PG_ROLLUP_KEY, type RollupFamily, rollupTable } from "../store/rollup-key.ts";
import type { EpochMicros } from "../time.ts";
import type { Slice } from "./slices.ts";
import { STATUS_CLASS_NUMBER, STATUS_RANGES, type StatsFilters } from "./stats-query.ts";
import type { ZoneSegment } from "./zone.ts";

/** Queries run inside withStatsSettings' transaction. */
export type Sql = postgres.TransactionSql;
export type Fragment = postgres.PendingQuery<postgres.Row[]>;

/** What every source offers, as expressions over that source's row. */
export type PgColumns = {
  /** Start of the row's minute (raw) or of its rollup unit, timestamptz. */
  time: Fragment;
  /** UTC epoch minute of `time`, int8. */
  minute: Fragment;
  method: Fragment;
  /** coalesce(route, link). */
  endpoint: Fragment;
  /** 2..5, or 0 for unknown and outside 200-599. */
  statusClass: Fragment;
};

/** One GROUP BY key of a statistic, written once for both sources. */
export type PgDimension = (sql: Sql, columns: PgColumns) => Fragment;

/** An extra condition on the rows counted, written once for both sources. */
export type PgCondition = (sql: Sql, columns: PgColumns) => Fragment;

function columnsOf(sql: Sql, table: Slice["table"]): PgColumns {
  // date_bin is exact integer arithmetic; date_part of a whole minute is an exact integer. An
  // hour or day row stands for its first minute: every bucket a statistic may read from that
  // tier holds the whole unit (see planSlices' `coarsest`), so any minute of it would do.
  const time =
    table === "raw"
      ? sql`date_bin('1 minute', footprint_time, timestamptz '1970-01-01 00:00:00+00')`
      : sql`${sql(table)}`;
  const minute = sql`(date_part('epoch', ${time})::int8 / 60)`;
  if (table === "raw") {
    return {
      time,
      minute,
      method: sql.unsafe(PG_ROLLUP_KEY.method),
      endpoint: sql.unsafe(PG_ROLLUP_KEY.endpoint),
      statusClass: sql.unsafe(PG_ROLLUP_KEY.statusClass),
    };
  }
  return { time, minute, method: sql`method`, endpoint: sql`endpoint`, statusClass: sql`status_class` };
}

function filterConditions(sql: Sql, table: Slice["table"], filters: StatsFilters): Fragment[] {
  const c = columnsOf(sql, table);
  const where: Fragment[] = [];
  if (filters.method !== undefined) where.push(sql`upper(${c.method}) = ${filters.method.toUpperCase()}`);
  if (filters.route !== undefined) where.push(sql`starts_with(${c.endpoint}, ${filters.route})`);
  if (filters.status !== undefined) {
    const [lo, hi] = STATUS_RANGES[filters.status];
    where.push(
      table === "raw"
        ? sql`status between ${lo} and ${hi}`
        : sql`status_class = ${STATUS_CLASS_NUMBER[filters.status]}`,
    );
  }
  if (filters.excludeBots) where.push(table === "raw" ? sql`is_bot is not true` : sql`not is_bot`);
  return where;
}

function periodConditions(sql: Sql, slice: Slice, filters: StatsFilters, only?: PgCondition): Fragment {
  // A rollup's time column is named after its tier: the start of its minute, hour or day, UTC.
  const time = slice.table === "raw" ? sql`footprint_time` : sql(slice.table);
  const where = [
    sql`${time} >= ${instant(sql, slice.from)}`,
    sql`${time} < ${instant(sql, slice.to)}`,
    ...filterConditions(sql, slice.table, filters),
    ...(only ? [only(sql, columnsOf(sql, slice.table))] : []),
  ];
  return join(sql, where, sql` and `);
}

/**
 * A bound instant, exact to the microsecond: epoch seconds as float8 through to_timestamp. Not a
 * timestamptz parameter (postgres.js serializes those through a JS Date, milliseconds only), nor
 * text cast to timestamptz: that cast is only STABLE, so a sequential scan parsed the text again
 * for every row (46 of 96 ms of a 43,000-row rollup scan; seconds over 10M raw rows), while
 * to_timestamp(float8) is IMMUTABLE and folds to a constant when the statement is planned. The
 * double nearest to micros / 1e6 rounds back to the same microsecond until past 2100 (checked
 * for 200,000 random instants; PostgreSQL rounds to the microsecond).
 */
function instant(sql: Sql, micros: EpochMicros): Fragment {
  return sql`to_timestamp(${micros / 1_000_000}::float8)`;
}

/** WHERE conditions for raw rows of [from, to) that pass the filters. */
export function pgRawConditions(sql: Sql, from: EpochMicros, to: EpochMicros, filters: StatsFilters): Fragment {
  return periodConditions(sql, { table: "raw", from, to }, filters);
}

function join(sql: Sql, parts: readonly Fragment[], separator: Fragment): Fragment {
  return sql`${parts.flatMap((p, i) => (i === 0 ? [p] : [separator, p]))}`;
}

/**
 * `select <dims>, n` over the slices: one grouped SELECT per slice, UNION ALL, rollup slices from
 * `family`'s table of their tier (which must hold every dimension and filter, see rollupFamily).
 * The caller sums `n` per key (a key may appear once per slice). Zero slices give no rows. `only`
 * counts only the rows it holds true for, besides the filters.
 */
export function pgCounts(
  sql: Sql,
  slices: readonly Slice[],
  family: RollupFamily,
  filters: StatsFilters,
  dimensions: Readonly<Record<string, PgDimension>>,
  only?: PgCondition,
): Fragment {
  const names = Object.keys(dimensions);
  const parts = slices.map((slice) => {
    const columns = columnsOf(sql, slice.table);
    const where = periodConditions(sql, slice, filters, only);
    const keys = names.map((name) => sql`${(dimensions[name] as PgDimension)(sql, columns)} as ${sql(name)}`);
    const count = slice.table === "raw" ? sql`count(*)` : sql`sum(n)::int8`;
    const select = join(sql, [...keys, sql`${count} as n`], sql`, `);
    const groupBy = names.length
      ? sql` group by ${join(
          sql,
          names.map((_, i) => sql.unsafe(String(i + 1))),
          sql`, `,
        )}`
      : sql``;
    const from = sql(slice.table === "raw" ? "user_footprint" : rollupTable(family, slice.table));
    return sql`select ${select} from ${from} where ${where}${groupBy}`;
  });
  if (parts.length === 0) {
    // Keeps the caller's SQL valid for an empty period: no rows, same columns.
    const keys = names.map((name) => sql`null::int8 as ${sql(name)}`);
    return sql`select ${join(sql, [...keys, sql`0::int8 as n`], sql`, `)} where false`;
  }
  return join(sql, parts, sql` union all `);
}

/** A time bucket of a statistic, from the UTC epoch minute (int8) of the rows counted. */
export type PgTimeDimension = (sql: Sql, minute: Fragment) => Fragment;

/**
 * Like pgCounts for statistics bucketed by time only: each slice is first counted per start of
 * its unit (its rollup's time column as it is, raw rows per minute), and the bucket arithmetic
 * runs on those few rows rather than on every row (a heatmap of 30 days of hourly rollup: 37 ms
 * instead of 67 ms). Exact: every row of a unit falls in the same bucket (planSlices' `coarsest`).
 */
export function pgCountsByTime(
  sql: Sql,
  slices: readonly Slice[],
  family: RollupFamily,
  filters: StatsFilters,
  dimensions: Readonly<Record<string, PgTimeDimension>>,
): Fragment {
  // The total family holds one row per unit already: read as it is, not grouped again (43,000
  // minutes of 30 days: a hash aggregate of 10-30 ms saved).
  const perUnit =
    family === "total" && slices.length > 0
      ? join(
          sql,
          slices.map((slice) =>
            slice.table === "raw"
              ? pgCounts(sql, [slice], family, filters, { t: (_, c) => c.time })
              : sql`select ${sql(slice.table)} as t, n::int8 as n from ${sql(rollupTable(family, slice.table))}
                    where ${periodConditions(sql, slice, filters)}`,
          ),
          sql` union all `,
        )
      : pgCounts(sql, slices, family, filters, { t: (_, c) => c.time });
  const minute = sql`(date_part('epoch', t)::int8 / 60)`;
  const keys = Object.entries(dimensions).map(([name, dim]) => sql`${dim(sql, minute)} as ${sql(name)}`);
  return sql`select ${join(sql, [...keys, sql`n`], sql`, `)} from (${perUnit}) per_unit`;
}

/**
 * Local epoch minute (UTC epoch minute + the zone's offset then) as an SQL expression: a constant
 * shift for a zone without transitions in the period, else a CASE over the transitions.
 */
export function pgLocalMinute(sql: Sql, minute: Fragment, segments: readonly ZoneSegment[]): Fragment {
  const [first, ...rest] = segments;
  if (!first) throw new Error("no zone segments");
  if (rest.length === 0) return sql`(${minute} + ${first.offset}::int8)`;
  const whens = [...rest].reverse().map((s) => sql` when ${minute} >= ${s.startMinute}::int8 then ${s.offset}::int8`);
  return sql`(${minute} + case${whens} else ${first.offset}::int8 end)`;
}

/**
 * Runs a statistics query in a read-only transaction with settings of its own, which end with it:
 * - no JIT: compiling a plan costs 50–1000 ms more than it saves on queries of a second or less
 *   (top of 1M raw rows: 1.6 s with JIT, 0.4 s without, measured with app/bench/stats-api.ts);
 * - no parallel workers when a rollup is read: starting them took 20–60 ms on our 2-core
 *   machines, the rollup scans themselves 2–10 ms. Raw scans keep them (more cores, more gain);
 * - raw scans get 64 MB of work_mem per sort or hash: the planner over-estimates the groups of a
 *   per-minute or per-endpoint count (millions instead of 43,000 or 10,000) and, at the default
 *   4 MB, plans a hash aggregate that spills or a sort of every row instead (top of 10M rows:
 *   parallel hash aggregates instead of a sort and group aggregate); and random_page_cost 1.1:
 *   the raw rows are stored in time order and the time index is a seventh of the table, so a
 *   count reads it (parallel index-only scan) rather than the whole heap;
 * - at most 30 s, like the ClickHouse client's request timeout: a dashboard refreshing every few
 *   seconds must not pile up queries that no one waits for any more.
 */
export async function withStatsSettings<T>(
  sql: postgres.Sql,
  slices: readonly Slice[],
  run: (tx: Sql) => Promise<T>,
): Promise<T> {
  const rollup = slices.some((s) => s.table !== "raw");
  return (await sql.begin("read only", async (tx) => {
    await tx`select set_config('jit', 'off', true), set_config('statement_timeout', '30s', true)`;
    if (rollup) await tx`select set_config('max_parallel_workers_per_gather', '0', true)`;
    else await tx`select set_config('work_mem', '64MB', true), set_config('random_page_cost', '1.1', true)`;
    return run(tx);
  })) as T;
}
