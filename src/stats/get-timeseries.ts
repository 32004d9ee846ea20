import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { AppError } from "../errors.ts";
import { type ChTimeDimension, chCountsByTime, chLocalMinute, chRows, createChParams } from "./clickhouse-counts.ts";
import { type PgTimeDimension, pgCountsByTime, pgLocalMinute, withStatsSettings } from "./postgres-counts.ts";
import { planSlices, type RollupTier, rollupFamily } from "./slices.ts";
import type { StatsDb } from "./stats-db.ts";
import type { StatsQuery } from "./stats-query.ts";
import { type Bucket, type BucketKind, listBuckets, MAX_POINTS } from "./timeseries-buckets.ts";
import { alignedTo, alignedUnit, type ZoneSegment, zoneSegments } from "./zone.ts";

export type TimeseriesPoint = { t: string; count: number };
/** Requests per bucket, every bucket of the period included (count 0 when empty). */
export type Timeseries = { bucket: BucketKind; points: TimeseriesPoint[] };

export type TimeseriesQuery = StatsQuery & { bucket: BucketKind };

export function getTimeseries(db: StatsDb, q: TimeseriesQuery): Promise<Timeseries> {
  return db.kind === "postgres" ? fromPostgres(db.sql, q) : fromClickhouse(db.client, q);
}

function plan(q: TimeseriesQuery): { segments: ZoneSegment[]; buckets: Bucket[] } {
  const segments = zoneSegments(q.from, q.to, q.timeZone);
  const buckets = listBuckets(q.from, q.to, q.bucket, q.timeZone, segments);
  // The API checks this before asking (it answers 400); a direct caller gets the same rule.
  if (!buckets) throw new AppError("BAD_REQUEST", `more than ${MAX_POINTS} ${q.bucket} buckets in the period`);
  return { segments, buckets };
}

/** The coarsest rollup whose rows each fall in one bucket: never coarser than the bucket. */
function tierFor(bucket: BucketKind, segments: readonly ZoneSegment[]): RollupTier {
  const aligned = alignedUnit(segments);
  if (bucket === "minute" || aligned === "minute") return "minute";
  return bucket === "hour" ? "hour" : aligned;
}

type Row = { bucket: string | number; n: string | number };

function toResult(kind: BucketKind, buckets: readonly Bucket[], rows: readonly Row[]): Timeseries {
  const counts = new Map(rows.map((r) => [Number(r.bucket), Number(r.n)]));
  return { bucket: kind, points: buckets.map((b) => ({ t: b.t, count: counts.get(b.key) ?? 0 })) };
}

function pgBucket(kind: BucketKind, segments: readonly ZoneSegment[]): PgTimeDimension {
  if (kind === "minute") return (_, minute) => minute;
  if (kind === "hour") {
    return (sql, minute) => sql`(${minute} - ((${pgLocalMinute(sql, minute, segments)} % 60) + 60) % 60)`;
  }
  // Local minutes are positive (periods start in 2000 or later): integer division is floor.
  return (sql, minute) => sql`(${pgLocalMinute(sql, minute, segments)} / 1440)`;
}

function fromPostgres(sql: postgres.Sql, q: TimeseriesQuery): Promise<Timeseries> {
  const { segments, buckets } = plan(q);
  const slices = planSlices(q.from, q.to, q.source, tierFor(q.bucket, segments));
  return withStatsSettings(sql, slices, async (tx) => {
    const family = rollupFamily("time", q.filters);
    const counts = pgCountsByTime(tx, slices, family, q.filters, { bucket: pgBucket(q.bucket, segments) });
    const rows = await tx<Row[]>`select bucket, sum(n)::int8 as n from (${counts}) s group by 1`;
    return toResult(q.bucket, buckets, rows);
  });
}

function chBucket(kind: BucketKind, segments: readonly ZoneSegment[]): ChTimeDimension {
  if (kind === "minute") return (_, minute) => minute;
  if (kind === "hour") return (p, minute) => `(${minute} - ((${chLocalMinute(p, minute, segments)} % 60) + 60) % 60)`;
  return (p, minute) => `intDiv(${chLocalMinute(p, minute, segments)}, 1440)`;
}

async function fromClickhouse(client: ClickHouseClient, q: TimeseriesQuery): Promise<Timeseries> {
  const { segments, buckets } = plan(q);
  const params = createChParams();
  const slices = planSlices(q.from, q.to, q.source, tierFor(q.bucket, segments));
  const counts = chCountsByTime(
    params,
    slices,
    rollupFamily("time", q.filters),
    q.filters,
    {
      bucket: chBucket(q.bucket, segments),
    },
    q.bucket !== "minute" && alignedTo(segments, 15) ? "quarter" : "minute",
  );
  const rows = await chRows<Row>(
    client,
    `SELECT k_bucket AS bucket, sum(c) AS n FROM (${counts}) GROUP BY bucket`,
    params,
  );
  return toResult(q.bucket, buckets, rows);
}
