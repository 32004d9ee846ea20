import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { chRawConditions, chRows, createChParams } from "./clickhouse-counts.ts";
import { pgRawConditions, withStatsSettings } from "./postgres-counts.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";

export type EndpointLatency = { endpoint: string; count: number; p50: number; p95: number; p99: number };
/** The `limit` endpoints with the most timed requests, and their duration percentiles in ms. */
export type LatencyPercentiles = { rows: EndpointLatency[] };

/**
 * Exact percentiles with linear interpolation between the two nearest durations: PostgreSQL
 * percentile_cont and ClickHouse quantileExactInclusive compute the same value (checked in
 * stats tests). From raw rows only: per-minute counts cannot give exact percentiles.
 */
export function getLatencyPercentiles(
  db: StatsDb,
  q: Omit<StatsQuery, "source"> & { limit: number },
): Promise<LatencyPercentiles> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

type Row = { endpoint: string; n: string | number; p: number[] };

const round2 = (x: number) => Math.round(x * 100) / 100;

function toResult(rows: readonly Row[]): LatencyPercentiles {
  return {
    rows: rows.map((r) => ({
      endpoint: r.endpoint,
      count: Number(r.n),
      p50: round2(Number(r.p[0])),
      p95: round2(Number(r.p[1])),
      p99: round2(Number(r.p[2])),
    })),
  };
}

function fromPostgres(
  sql: postgres.Sql,
  q: Omit<StatsQuery, "source"> & { limit: number },
): Promise<LatencyPercentiles> {
  return withStatsSettings(sql, [], async (tx) => {
    const where = pgRawConditions(tx, q.from, q.to, q.filters);
    const rows = await tx<Row[]>`
      select coalesce(route, link) as endpoint, count(*) as n,
             percentile_cont(array[0.5, 0.95, 0.99]::float8[]) within group (order by duration_ms) as p
      from user_footprint
      where ${where} and duration_ms is not null
      group by 1
      order by n desc, coalesce(route, link) collate "C"
      limit ${q.limit}`;
    return toResult(rows);
  });
}

async function fromClickhouse(
  client: ClickHouseClient,
  q: Omit<StatsQuery, "source"> & { limit: number },
): Promise<LatencyPercentiles> {
  const params = createChParams();
  const where = chRawConditions(params, q.from, q.to, q.filters);
  const rows = await chRows<Row>(
    client,
    `SELECT coalesce(route, link) AS endpoint, count() AS n,
            quantilesExactInclusive(0.5, 0.95, 0.99)(assumeNotNull(duration_ms)) AS p
     FROM user_footprint
     WHERE ${where} AND duration_ms IS NOT NULL
     GROUP BY endpoint
     ORDER BY n DESC, endpoint
     LIMIT ${params.bind(q.limit, "UInt32")}`,
    params,
  );
  return toResult(rows);
}
