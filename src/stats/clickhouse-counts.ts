/**
 * The ClickHouse side of every count: the same shape as postgres-counts.ts. Values travel as
 * query parameters (`{name:Type}` + `query_params`); only fixed SQL text is spliced.
 */
import type { ClickHouseClient } from "@clickhouse/client-web";
import { CH_ROLLUP_KEY, type RollupFamily, rollupTable } from "../store/rollup-key.ts";
import { type EpochMicros, formatUtc } from "../time.ts";
import type { Slice } from "./slices.ts";
import { STATUS_CLASS_NUMBER, STATUS_RANGES, type StatsFilters } from "./stats-query.ts";
import type { ZoneSegment } from "./zone.ts";

/** Collects query parameters; `bind` returns the placeholder to splice. */
export type ChParams = {
  readonly values: Record<string, unknown>;
  bind(value: unknown, type: string): string;
};

export function createChParams(): ChParams {
  const values: Record<string, unknown> = {};
  let next = 0;
  return {
    values,
    bind(value, type) {
      const name = `p${next++}`;
      values[name] = value;
      return `{${name}:${type}}`;
    },
  };
}

/** What every source offers, as expressions over that source's row. */
export type ChColumns = {
  /** UTC epoch minute of the row, Int64. */
  minute: string;
  /** UTC epoch minute starting the row's quarter hour (raw rows), or `minute` (rollup rows). */
  quarter: string;
  method: string;
  /** coalesce(route, link). */
  endpoint: string;
  /** 2..5, or 0 for unknown and outside 200-599. */
  statusClass: string;
};

/** One GROUP BY key of a statistic, written once for both sources. */
export type ChDimension = (params: ChParams, columns: ChColumns) => string;

const RAW: ChColumns = {
  // toUnixTimestamp truncates a DateTime64 to its second, which is floor for every instant since
  // 1970; a per-minute count of 10M rows took 85 ms so, 120-282 ms through toStartOfMinute
  // (docs/performance.md).
  minute: "toInt64(intDiv(toUnixTimestamp(footprint_time), 60))",
  // Not intDiv(minute, 15): one division per row, not two (74 against 89 ms, docs/performance.md).
  quarter: "toInt64(intDiv(toUnixTimestamp(footprint_time), 900)) * 15",
  method: CH_ROLLUP_KEY.method,
  endpoint: CH_ROLLUP_KEY.endpoint,
  statusClass: CH_ROLLUP_KEY.statusClass,
};

function columnsOf(table: Slice["table"]): ChColumns {
  if (table === "raw") return RAW;
  // The first minute of an hour or day row: every bucket a statistic may read from that tier
  // holds the whole unit (see planSlices' `coarsest`), so any minute of it would do.
  const minute = `intDiv(toInt64(toUnixTimestamp(${table})), 60)`;
  return {
    minute,
    quarter: minute,
    method: "method",
    endpoint: "endpoint",
    statusClass: "status_class",
  };
}

function filterConditions(params: ChParams, table: Slice["table"], filters: StatsFilters): string[] {
  const c = columnsOf(table);
  const where: string[] = [];
  if (filters.method !== undefined)
    where.push(`upper(${c.method}) = ${params.bind(filters.method.toUpperCase(), "String")}`);
  if (filters.route !== undefined) where.push(`startsWith(${c.endpoint}, ${params.bind(filters.route, "String")})`);
  if (filters.status !== undefined) {
    const [lo, hi] = STATUS_RANGES[filters.status];
    where.push(
      table === "raw"
        ? `status BETWEEN ${params.bind(lo, "UInt16")} AND ${params.bind(hi, "UInt16")}`
        : `status_class = ${params.bind(STATUS_CLASS_NUMBER[filters.status], "UInt8")}`,
    );
  }
  if (filters.excludeBots) where.push(table === "raw" ? "NOT ifNull(is_bot, false)" : "NOT is_bot");
  return where;
}

function periodConditions(params: ChParams, slice: Slice, filters: StatsFilters): string {
  const where =
    slice.table === "raw"
      ? [
          `footprint_time >= ${params.bind(formatUtc(slice.from), "DateTime64(6, 'UTC')")}`,
          `footprint_time < ${params.bind(formatUtc(slice.to), "DateTime64(6, 'UTC')")}`,
        ]
      : [
          // A rollup's time column is named after its tier: the start of its minute, hour or day, UTC.
          `${slice.table} >= toDateTime(${params.bind(slice.from / 1_000_000, "Int64")}, 'UTC')`,
          `${slice.table} < toDateTime(${params.bind(slice.to / 1_000_000, "Int64")}, 'UTC')`,
        ];
  return [...where, ...filterConditions(params, slice.table, filters)].join(" AND ");
}

/** WHERE conditions for raw rows of [from, to) that pass the filters. */
export function chRawConditions(params: ChParams, from: EpochMicros, to: EpochMicros, filters: StatsFilters): string {
  return periodConditions(params, { table: "raw", from, to }, filters);
}

/**
 * `SELECT <dims>, c` over the slices: one grouped SELECT per slice, UNION ALL, rollup slices from
 * `family`'s table of their tier (see rollupFamily). The caller sums `c` per key. A rollup is a
 * SummingMergeTree whose rows of one key are folded only by background merges, so it is always
 * read with sum() and GROUP BY, never as one row per key.
 */
export function chCounts(
  params: ChParams,
  slices: readonly Slice[],
  family: RollupFamily,
  filters: StatsFilters,
  dimensions: Readonly<Record<string, ChDimension>>,
): string {
  const names = Object.keys(dimensions);
  const parts = slices.map((slice) => {
    const raw = slice.table === "raw";
    const columns = columnsOf(slice.table);
    const where = periodConditions(params, slice, filters);
    // Aliases are prefixed: an alias equal to a column name (method, endpoint) would shadow it
    // in WHERE for the other source.
    const keys = names.map((name) => `${(dimensions[name] as ChDimension)(params, columns)} AS k_${name}`);
    const select = [...keys, `${raw ? "count()" : "sum(n)"} AS c`].join(", ");
    const groupBy = names.length ? ` GROUP BY ${names.map((n) => `k_${n}`).join(", ")}` : "";
    return `SELECT ${select} FROM ${slice.table === "raw" ? "user_footprint" : rollupTable(family, slice.table)} WHERE ${where}${groupBy}`;
  });
  if (parts.length === 0) {
    const keys = names.map((name) => `toInt64(0) AS k_${name}`);
    return `SELECT ${[...keys, "toUInt64(0) AS c"].join(", ")} WHERE 0`;
  }
  return parts.join(" UNION ALL ");
}

/** A time bucket of a statistic, from the UTC epoch minute (Int64 expression) of the rows counted. */
export type ChTimeDimension = (params: ChParams, minute: string) => string;

/**
 * Like chCounts for statistics bucketed by time only: raw rows are first counted per UTC epoch
 * minute, or per quarter hour (`grain`; 2,880 in 30 days rather than 43,200) where every quarter
 * lies in one bucket (zone.ts alignedTo 15, buckets of an hour or more), and the zone and bucket
 * arithmetic runs on those counts rather than on every row (docs/performance.md). Exact: every row
 * of a minute or quarter falls in the same bucket. Rollup rows are few already (one or a few per
 * unit): they are bucketed as they are, as chCounts does; counting them per unit first only added
 * a GROUP BY.
 */
export function chCountsByTime(
  params: ChParams,
  slices: readonly Slice[],
  family: RollupFamily,
  filters: StatsFilters,
  dimensions: Readonly<Record<string, ChTimeDimension>>,
  grain: "minute" | "quarter" = "minute",
): string {
  const onRows = Object.fromEntries(
    Object.entries(dimensions).map(([name, dim]): [string, ChDimension] => [name, (p, c) => dim(p, c.minute)]),
  );
  if (slices.length === 0) return chCounts(params, slices, family, filters, onRows);
  const parts = slices.map((slice) => {
    if (slice.table !== "raw") return chCounts(params, [slice], family, filters, onRows);
    const perUnit = chCounts(params, [slice], family, filters, { t: (_, c) => c[grain] });
    const keys = Object.entries(dimensions).map(([name, dim]) => `${dim(params, "k_t")} AS k_${name}`);
    return `SELECT ${[...keys, "c"].join(", ")} FROM (${perUnit})`;
  });
  return parts.join(" UNION ALL ");
}

/** Local epoch minute (UTC epoch minute + the zone's offset then), as in pgLocalMinute. */
export function chLocalMinute(params: ChParams, minute: string, segments: readonly ZoneSegment[]): string {
  const [first, ...rest] = segments;
  if (!first) throw new Error("no zone segments");
  if (rest.length === 0) return `(${minute} + ${params.bind(first.offset, "Int64")})`;
  const branches = [...rest]
    .reverse()
    .flatMap((s) => [`${minute} >= ${params.bind(s.startMinute, "Int64")}`, params.bind(s.offset, "Int64")]);
  return `(${minute} + multiIf(${branches.join(", ")}, ${params.bind(first.offset, "Int64")}))`;
}

/** Runs a SELECT and returns its rows (JSONEachRow; 64-bit integers may arrive as strings). */
export async function chRows<T>(client: ClickHouseClient, query: string, params: ChParams): Promise<T[]> {
  const rs = await client.query({ query, query_params: params.values, format: "JSONEachRow" });
  return rs.json<T>();
}
