import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { chCountsByTime, chLocalMinute, chRows, createChParams } from "./clickhouse-counts.ts";
import { pgCountsByTime, pgLocalMinute, withStatsSettings } from "./postgres-counts.ts";
import { planSlices, rollupFamily } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";
import { zoneSegments } from "./zone.ts";

/** Requests per hour of day (24) and per minute of day (1440), local time in the query's zone. */
export type TimeOfDay = { hours: number[]; minutes: number[] };

export function getTimeOfDay(db: StatsDb, q: StatsQuery): Promise<TimeOfDay> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

type Row = { minute_of_day: string | number; n: string | number };

function toResult(rows: readonly Row[]): TimeOfDay {
  const minutes = new Array<number>(1440).fill(0);
  for (const r of rows) minutes[Number(r.minute_of_day)] = Number(r.n);
  // Hours are sums of their minutes: one query, and the two arrays cannot disagree.
  const hours = new Array<number>(24).fill(0);
  minutes.forEach((n, i) => {
    hours[Math.floor(i / 60)] = (hours[Math.floor(i / 60)] as number) + n;
  });
  return { hours, minutes };
}

function fromPostgres(sql: postgres.Sql, q: StatsQuery): Promise<TimeOfDay> {
  const segments = zoneSegments(q.from, q.to, q.timeZone);
  const slices = planSlices(q.from, q.to, q.source);
  return withStatsSettings(sql, slices, async (tx) => {
    const counts = pgCountsByTime(tx, slices, rollupFamily("time", q.filters), q.filters, {
      minute_of_day: (sql, minute) => sql`((${pgLocalMinute(sql, minute, segments)} % 1440) + 1440) % 1440`,
    });
    const rows = await tx<Row[]>`select minute_of_day, sum(n)::int8 as n from (${counts}) s group by 1`;
    return toResult(rows);
  });
}

async function fromClickhouse(client: ClickHouseClient, q: StatsQuery): Promise<TimeOfDay> {
  const segments = zoneSegments(q.from, q.to, q.timeZone);
  const params = createChParams();
  const slices = planSlices(q.from, q.to, q.source);
  const counts = chCountsByTime(params, slices, rollupFamily("time", q.filters), q.filters, {
    minute_of_day: (p, minute) => `((${chLocalMinute(p, minute, segments)} % 1440) + 1440) % 1440`,
  });
  const rows = await chRows<Row>(
    client,
    `SELECT k_minute_of_day AS minute_of_day, sum(c) AS n FROM (${counts}) GROUP BY minute_of_day`,
    params,
  );
  return toResult(rows);
}
