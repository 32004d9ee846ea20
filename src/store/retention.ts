import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { ROLLUP_TABLES } from "./rollup-key.ts";

/**
 * RETENTION_DAYS, applied by each store its own way, both cutting raw rows at whole minutes so the
 * raw table and its per-minute rollup lose the same requests; an hour or day rollup row goes once
 * its whole hour or day is past the cut (until then it still counts the requests of its first
 * minutes, which are gone from the raw table):
 * - ClickHouse: a TTL on each table, set (or removed) by ALTER … MODIFY TTL whenever it differs
 *   from the setting. It cannot be a numbered migration: those run once, the setting changes.
 *   ClickHouse then drops expired rows in its background merges (and rows already expired when
 *   inserted are never written).
 * - PostgreSQL: no TTL exists, so rows older than the cut-off are deleted in batches, by one
 *   process at a time, from a job serve and consume run every hour.
 */
export type RetentionOutcome = {
  /** Rows deleted now (PostgreSQL). */
  deleted?: number;
  /** The TTL the tables had and now have, in days; undefined means none (ClickHouse). */
  ttlDays?: { before: number | undefined; after: number | undefined };
  /** Why nothing was done, e.g. another process holds the job. */
  skipped?: string;
};

// Same in every eft-footprint process; differs from the migration lock.
const RETENTION_LOCK = 0x4546_5452; // "EFTR"

/** Deletes footprints (and rollup minutes) older than `days`, `batchSize` rows per statement. */
export async function deleteExpiredPostgres(
  sql: postgres.Sql,
  days: number | undefined,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<RetentionOutcome> {
  if (days === undefined) return { deleted: 0 };
  const batchSize = options.batchSize ?? 10_000;
  const reserved = await sql.reserve();
  try {
    const [lock] = await reserved<{ locked: boolean }[]>`select pg_try_advisory_lock(${RETENTION_LOCK}) as locked`;
    if (!lock?.locked) return { skipped: "another eft-footprint process is deleting expired rows" };
    try {
      const [row] = await reserved<{ cutoff: Date }[]>`
        select date_trunc('minute', now() - make_interval(days => ${days})) as cutoff`;
      const cutoff = row?.cutoff as Date;
      let deleted = 0;
      // Small batches, each its own transaction: no long lock on the table the consumer writes to.
      for (;;) {
        const result = await reserved`
          delete from user_footprint where id in (
            select id from user_footprint where footprint_time < ${cutoff} limit ${batchSize})`;
        deleted += result.count;
        if (result.count < batchSize || options.signal?.aborted) break;
      }
      for (const { table, tier } of ROLLUP_TABLES) {
        const [rollup] = await reserved<{ exists: boolean }[]>`select to_regclass(${table}) is not null as exists`;
        if (!rollup?.exists) continue; // an older schema
        // Every rollup's time column is named after its tier (minute, hour, day).
        await reserved.unsafe(`delete from ${table} where ${tier} + interval '1 ${tier}' <= $1`, [cutoff]);
      }
      return { deleted };
    } finally {
      await reserved`select pg_advisory_unlock(${RETENTION_LOCK})`;
    }
  } finally {
    reserved.release();
  }
}

/**
 * Each table that gets a TTL and the instant its rows are past the cut from: a raw row's minute,
 * a rollup row's bucket end (DateTime, which every TTL version accepts, unlike DateTime64).
 */
const TTL_TABLES: readonly { table: string; expires: string }[] = [
  { table: "user_footprint", expires: "toStartOfMinute(toDateTime(footprint_time))" },
  ...ROLLUP_TABLES.map(({ table, tier }) => ({
    table,
    expires: tier === "minute" ? "minute" : `${tier} + INTERVAL 1 ${tier.toUpperCase()}`,
  })),
];

/** Sets the tables' TTL to `days` (or removes it) when it differs; cheap when it does not. */
export async function applyClickhouseTtl(
  client: ClickHouseClient,
  database: string,
  days: number | undefined,
): Promise<RetentionOutcome> {
  const current = await readClickhouseTtlDays(client, database);
  const before = current.get("user_footprint");
  for (const { table, expires } of TTL_TABLES) {
    if (!current.has(table)) continue; // the rollup may not exist in an older schema
    const now = current.get(table);
    if (now === days) continue;
    // MODIFY TTL also rewrites existing parts in the background (materialize_ttl_after_modify),
    // so a newly shortened retention removes old rows without waiting for new merges.
    await client.command({
      query:
        days === undefined
          ? `ALTER TABLE ${table} REMOVE TTL`
          : `ALTER TABLE ${table} MODIFY TTL ${expires} + INTERVAL ${Math.trunc(days)} DAY`,
    });
  }
  return { ttlDays: { before, after: days } };
}

/**
 * The TTL in days of each of our tables that exists (undefined: no TTL), read back from the
 * table definition ClickHouse keeps, so what is reported is what the server really applies.
 */
export async function readClickhouseTtlDays(
  client: ClickHouseClient,
  database: string,
): Promise<Map<string, number | undefined>> {
  const rs = await client.query({
    query: `SELECT name, engine_full FROM system.tables
            WHERE database = {database:String} AND name IN {tables:Array(String)}`,
    query_params: { database, tables: TTL_TABLES.map((t) => t.table) },
    format: "JSONEachRow",
  });
  const rows = await rs.json<{ name: string; engine_full: string }>();
  return new Map(rows.map((r) => [r.name, ttlDaysOf(r.engine_full)]));
}

/** `… TTL toStartOfMinute(toDateTime(footprint_time)) + toIntervalDay(30) SETTINGS …` → 30. */
export function ttlDaysOf(engineFull: string): number | undefined {
  const ttl = /\sTTL\s(.+?)(?:\sSETTINGS\s|$)/.exec(engineFull)?.[1];
  if (!ttl) return undefined;
  // The last one: a day rollup's expression is (day + toIntervalDay(1)) + toIntervalDay(N).
  const days = [...ttl.matchAll(/toIntervalDay\((\d+)\)/g)].at(-1)?.[1];
  // A TTL someone set by hand in other units still counts as "a TTL": -1 never equals a setting.
  return days === undefined ? -1 : Number(days);
}

export type RetentionTarget = {
  readonly name: string;
  applyRetention?(days: number | undefined): Promise<RetentionOutcome>;
};

/**
 * Applies retention on every store now, then every `intervalMs` (PostgreSQL deletes what expired
 * since; ClickHouse only checks its TTL) until `signal` aborts. Failures are logged and retried on
 * the next round: retention must never stop the pipeline.
 */
export function startRetentionJob(options: {
  stores: readonly RetentionTarget[];
  days: number | undefined;
  logger: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  signal: AbortSignal;
  intervalMs?: number;
}): { done: Promise<void> } {
  const { stores, days, logger, signal } = options;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const round = () =>
    Promise.all(
      stores.map(async (store) => {
        if (!store.applyRetention) return;
        try {
          const outcome = await store.applyRetention(days);
          const ttlChanged = outcome.ttlDays && outcome.ttlDays.before !== outcome.ttlDays.after;
          if (outcome.deleted || ttlChanged) logger.info("retention applied", { store: store.name, days, ...outcome });
        } catch (err) {
          logger.warn("retention failed; retrying next round", { store: store.name, err });
        }
      }),
    );
  const done = (async () => {
    await round();
    while (days !== undefined && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (!signal.aborted) await round();
    }
  })();
  return { done };
}
