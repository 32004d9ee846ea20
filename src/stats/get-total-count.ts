import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { chCounts, chRows, createChParams } from "./clickhouse-counts.ts";
import { pgCounts, withStatsSettings } from "./postgres-counts.ts";
import { coarsestTier, planSlices, rollupFamily } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";

/** Requests in the period, and in the period of equal length just before it (for a delta). */
export type TotalCount = { count: number; previous: number };

export function getTotalCount(db: StatsDb, q: StatsQuery): Promise<TotalCount> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

function periods(q: StatsQuery) {
  const previousFrom = q.from - (q.to - q.from);
  const family = rollupFamily("time", q.filters);
  const tier = coarsestTier(family);
  return {
    family,
    current: planSlices(q.from, q.to, q.source, tier),
    previous: planSlices(previousFrom, q.from, q.source, tier),
  };
}

type Row = { count: string | number | null; previous: string | number | null };

function toResult(row: Row | undefined): TotalCount {
  return { count: Number(row?.count ?? 0), previous: Number(row?.previous ?? 0) };
}

function fromPostgres(sql: postgres.Sql, q: StatsQuery): Promise<TotalCount> {
  const { family, current, previous } = periods(q);
  return withStatsSettings(sql, [...current, ...previous], async (tx) => {
    const [row] = await tx<Row[]>`
      select (select coalesce(sum(n), 0)::int8 from (${pgCounts(tx, current, family, q.filters, {})}) a) as count,
             (select coalesce(sum(n), 0)::int8 from (${pgCounts(tx, previous, family, q.filters, {})}) b) as previous`;
    return toResult(row);
  });
}

async function fromClickhouse(client: ClickHouseClient, q: StatsQuery): Promise<TotalCount> {
  const { family, current, previous } = periods(q);
  const params = createChParams();
  const [row] = await chRows<Row>(
    client,
    `SELECT (SELECT sum(c) FROM (${chCounts(params, current, family, q.filters, {})})) AS count,
            (SELECT sum(c) FROM (${chCounts(params, previous, family, q.filters, {})})) AS previous`,
    params,
  );
  return toResult(row);
}
