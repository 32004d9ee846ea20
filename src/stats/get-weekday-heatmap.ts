import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { chCountsByTime, chLocalMinute, chRows, createChParams } from "./clickhouse-counts.ts";
import { pgCountsByTime, pgLocalMinute, withStatsSettings } from "./postgres-counts.ts";
import { planSlices, type RollupTier, rollupFamily } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";
import { alignedTo, alignedUnit, type ZoneSegment, zoneSegments } from "./zone.ts";

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** Requests per local weekday (Monday first) and hour of day: `cells[weekday][hour]`. */
export type WeekdayHeatmap = { weekdays: typeof WEEKDAYS; cells: number[][] };

export function getWeekdayHeatmap(db: StatsDb, q: StatsQuery): Promise<WeekdayHeatmap> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

type Row = { hour_of_week: string | number; n: string | number };

function toResult(rows: readonly Row[]): WeekdayHeatmap {
  const cells = WEEKDAYS.map(() => new Array<number>(24).fill(0));
  for (const r of rows) {
    const how = Number(r.hour_of_week);
    (cells[Math.floor(how / 24)] as number[])[how % 24] = Number(r.n);
  }
  return { weekdays: WEEKDAYS, cells };
}

/** Local hours from the hour rollup where the zone's hours are UTC hours, else from minutes. */
function hourTier(segments: readonly ZoneSegment[]): RollupTier {
  return alignedUnit(segments) === "minute" ? "minute" : "hour";
}

// Hour of the week, Monday 00:00 = 0: epoch day 0 (1970-01-01) was a Thursday, weekday 3.
// Local minutes are positive (periods start in 2000 or later), so integer division is floor.

function fromPostgres(sql: postgres.Sql, q: StatsQuery): Promise<WeekdayHeatmap> {
  const segments = zoneSegments(q.from, q.to, q.timeZone);
  const slices = planSlices(q.from, q.to, q.source, hourTier(segments));
  return withStatsSettings(sql, slices, async (tx) => {
    const counts = pgCountsByTime(tx, slices, rollupFamily("time", q.filters), q.filters, {
      hour_of_week: (sql, minute) => {
        const local = pgLocalMinute(sql, minute, segments);
        return sql`((${local} / 1440 + 3) % 7) * 24 + (${local} % 1440) / 60`;
      },
    });
    const rows = await tx<Row[]>`select hour_of_week, sum(n)::int8 as n from (${counts}) s group by 1`;
    return toResult(rows);
  });
}

async function fromClickhouse(client: ClickHouseClient, q: StatsQuery): Promise<WeekdayHeatmap> {
  const segments = zoneSegments(q.from, q.to, q.timeZone);
  const params = createChParams();
  const slices = planSlices(q.from, q.to, q.source, hourTier(segments));
  const counts = chCountsByTime(
    params,
    slices,
    rollupFamily("time", q.filters),
    q.filters,
    {
      hour_of_week: (p, minute) => {
        const local = chLocalMinute(p, minute, segments);
        return `(intDiv(${local}, 1440) + 3) % 7 * 24 + intDiv(${local} % 1440, 60)`;
      },
    },
    alignedTo(segments, 15) ? "quarter" : "minute",
  );
  const rows = await chRows<Row>(
    client,
    `SELECT k_hour_of_week AS hour_of_week, sum(c) AS n FROM (${counts}) GROUP BY hour_of_week`,
    params,
  );
  return toResult(rows);
}
