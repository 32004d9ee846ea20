import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { chCounts, chRows, createChParams } from "./clickhouse-counts.ts";
import { pgCounts, withStatsSettings } from "./postgres-counts.ts";
import { coarsestTier, planSlices, rollupFamily } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";

/** Requests per status class; `other` = unknown status or outside 200-599 (1xx included). */
export type StatusClasses = { "2xx": number; "3xx": number; "4xx": number; "5xx": number; other: number };

export function getStatusClasses(db: StatsDb, q: StatsQuery): Promise<StatusClasses> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

type Row = { status_class: string | number; n: string | number };

function toResult(rows: readonly Row[]): StatusClasses {
  const result: StatusClasses = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, other: 0 };
  for (const r of rows) {
    const c = Number(r.status_class);
    const name = c >= 2 && c <= 5 ? (`${c}xx` as keyof StatusClasses) : "other";
    result[name] += Number(r.n);
  }
  return result;
}

function fromPostgres(sql: postgres.Sql, q: StatsQuery): Promise<StatusClasses> {
  const family = rollupFamily("kind", q.filters);
  const slices = planSlices(q.from, q.to, q.source, coarsestTier(family));
  return withStatsSettings(sql, slices, async (tx) => {
    const counts = pgCounts(tx, slices, family, q.filters, {
      status_class: (_, c) => c.statusClass,
    });
    return toResult(await tx<Row[]>`select status_class, sum(n)::int8 as n from (${counts}) s group by 1`);
  });
}

async function fromClickhouse(client: ClickHouseClient, q: StatsQuery): Promise<StatusClasses> {
  const params = createChParams();
  const family = rollupFamily("kind", q.filters);
  const slices = planSlices(q.from, q.to, q.source, coarsestTier(family));
  const counts = chCounts(params, slices, family, q.filters, {
    status_class: (_, c) => c.statusClass,
  });
  return toResult(
    await chRows<Row>(
      client,
      `SELECT k_status_class AS status_class, sum(c) AS n FROM (${counts}) GROUP BY status_class`,
      params,
    ),
  );
}
