import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { type ChDimension, chCounts, chRows, createChParams } from "./clickhouse-counts.ts";
import { type PgDimension, pgCounts, withStatsSettings } from "./postgres-counts.ts";
import { coarsestTier, planSlices } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";

export type TopEndpoint = { method: string; endpoint: string; count: number; share: number };
export type TopEndpoints = { rows: TopEndpoint[] };

/**
 * The `limit` most requested method + endpoint pairs of the period, by count, then method and
 * endpoint in byte order (the same in both stores); `share` is of all requests that match.
 */
export function getTopEndpoints(db: StatsDb, q: StatsQuery & { limit: number }): Promise<TopEndpoints> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

type Row = { method: string; endpoint: string; n: string | number; total: string | number };

function toResult(rows: readonly Row[]): TopEndpoints {
  return {
    rows: rows.map((r) => ({
      method: r.method,
      endpoint: r.endpoint,
      count: Number(r.n),
      share: Math.round((Number(r.n) / Number(r.total)) * 10_000) / 10_000,
    })),
  };
}

const PG_DIMS: Record<string, PgDimension> = { method: (_, c) => c.method, endpoint: (_, c) => c.endpoint };

function fromPostgres(sql: postgres.Sql, q: StatsQuery & { limit: number }): Promise<TopEndpoints> {
  const slices = planSlices(q.from, q.to, q.source, coarsestTier("endpoint"));
  return withStatsSettings(sql, slices, async (tx) => {
    const counts = pgCounts(tx, slices, "endpoint", q.filters, PG_DIMS);
    // The window total is taken before LIMIT: the share is of every matching request.
    const rows = await tx<Row[]>`
      select method, endpoint, n, (sum(n) over ())::int8 as total
      from (select method, endpoint, sum(n)::int8 as n from (${counts}) s group by 1, 2) g
      order by n desc, method collate "C", endpoint collate "C"
      limit ${q.limit}`;
    return toResult(rows);
  });
}

const CH_DIMS: Record<string, ChDimension> = { method: (_, c) => c.method, endpoint: (_, c) => c.endpoint };

async function fromClickhouse(client: ClickHouseClient, q: StatsQuery & { limit: number }): Promise<TopEndpoints> {
  const params = createChParams();
  const counts = chCounts(
    params,
    planSlices(q.from, q.to, q.source, coarsestTier("endpoint")),
    "endpoint",
    q.filters,
    CH_DIMS,
  );
  const rows = await chRows<Row>(
    client,
    `SELECT k_method AS method, k_endpoint AS endpoint, n, sum(n) OVER () AS total
     FROM (SELECT k_method, k_endpoint, sum(c) AS n FROM (${counts}) GROUP BY k_method, k_endpoint)
     ORDER BY n DESC, method, endpoint
     LIMIT ${params.bind(q.limit, "UInt32")}`,
    params,
  );
  return toResult(rows);
}
