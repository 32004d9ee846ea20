import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { type ChDimension, chCounts, chRows, createChParams } from "./clickhouse-counts.ts";
import {
  type Fragment,
  type PgCondition,
  type PgDimension,
  pgCounts,
  type Sql,
  withStatsSettings,
} from "./postgres-counts.ts";
import { coarsestTier, planSlices, rollupFamily, splitEdges } from "./slices.ts";
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
  const split = splitEdges(slices);
  return withStatsSettings(sql, slices, async (tx) => {
    if (split.whole.length === 0 || split.edges.length === 0 || q.limit < 1) {
      const counts = pgCounts(tx, slices, "endpoint", q.filters, PG_DIMS);
      // The window total is taken before LIMIT: the share is of every matching request.
      return toResult(
        await tx<Row[]>`
          select method, endpoint, n, (sum(n) over ())::int8 as total
          from (select method, endpoint, sum(n)::int8 as n from (${counts}) s group by 1, 2) g
          order by n desc, method collate "C", endpoint collate "C"
          limit ${q.limit}`,
      );
    }
    return toResult(await tx<Row[]>`${pgBoundedTop(tx, q, split)}`);
  });
}

/**
 * The top `limit` keys reading the edges of the period only for the keys that can be in it
 * (splitEdges): every key's whole-unit count is its lower bound, that plus its count over the
 * days the edges lie in its upper bound; the candidates are the keys whose upper bound reaches
 * the `limit`-th largest lower bound, and only their edge rows are read (by endpoint first,
 * migration 0010's indexes). The total, for the share, is every matching request's, from the
 * smallest family that holds the filters.
 */
function pgBoundedTop(
  tx: Sql,
  q: StatsQuery & { limit: number },
  { whole, edges, bounds }: ReturnType<typeof splitEdges>,
) {
  const perKey = (counts: Fragment) => tx`select method, endpoint, sum(n)::int8 as n from (${counts}) s group by 1, 2`;
  const candidate: PgCondition = (sql, c) =>
    sql`(${c.method}, ${c.endpoint}) in (select method, endpoint from candidates)`;
  const timeFamily = rollupFamily("time", q.filters);
  return tx`
    with whole as materialized (${perKey(pgCounts(tx, whole, "endpoint", q.filters, PG_DIMS))}),
         bounds as (${perKey(pgCounts(tx, bounds, "endpoint", q.filters, PG_DIMS))}),
         ranked as (
           select method, endpoint, coalesce(w.n, 0) as low, coalesce(w.n, 0) + coalesce(b.n, 0) as high
           from whole w full join bounds b using (method, endpoint)),
         candidates as materialized (
           select method, endpoint from (
             select method, endpoint, high,
                    nth_value(low, ${q.limit}::int) over (order by low desc rows between unbounded preceding and unbounded following) as cut
             from ranked) r
           where high >= coalesce(cut, 0)),
         edges as (${perKey(pgCounts(tx, edges, "endpoint", q.filters, PG_DIMS, candidate))}),
         counted as (
           select c.method, c.endpoint, (coalesce(w.n, 0) + coalesce(e.n, 0))::int8 as n
           from candidates c left join whole w using (method, endpoint) left join edges e using (method, endpoint))
    select method, endpoint, n,
           ((select coalesce(sum(n), 0) from whole)
            + (select coalesce(sum(n), 0) from (${pgCounts(tx, edges, timeFamily, q.filters, {})}) t))::int8 as total
    from counted
    where n > 0
    order by n desc, method collate "C", endpoint collate "C"
    limit ${q.limit}`;
}

/**
 * ClickHouse groups by one String key, method NUL endpoint, rather than by the two columns: over
 * 10M raw rows the two-column key (a LowCardinality method and a String endpoint) took 2.4 times
 * as long (1,054 against 441 ms engine time, docs/performance.md). A method never holds a NUL (an
 * HTTP token; footprint/message.ts accepts [A-Za-z_-] only), so the first NUL splits the key back.
 */
const CH_DIMS: Record<string, ChDimension> = { key: (_, c) => `concat(${c.method}, '\\0', ${c.endpoint})` };

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
    `SELECT substring(k_key, 1, nul - 1) AS method, substring(k_key, nul + 1) AS endpoint, n, sum(n) OVER () AS total
     FROM (SELECT k_key, position(k_key, '\\0') AS nul, sum(c) AS n FROM (${counts}) GROUP BY k_key)
     ORDER BY n DESC, method, endpoint
     LIMIT ${params.bind(q.limit, "UInt32")}`,
    params,
  );
  return toResult(rows);
}
