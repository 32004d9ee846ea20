import type { ClickhouseStatsDb, PostgresStatsDb, StatsDb } from "../stats/stats-db.ts";
import type { EpochMicros } from "../time.ts";
import type { RetentionOutcome } from "./retention.ts";

export type StoreName = "postgres" | "clickhouse";

/** One footprint as both stores keep it; absent optional fields are null in both. */
export type FootprintRow = {
  eventId: string;
  /** The HTTP method; the column is called `request` after the old schema. */
  method: string;
  link: string;
  route: string | null;
  status: number | null;
  durationMs: number | null;
  footprintTime: EpochMicros;
  query: string | null;
  host: string | null;
  userAgent: string | null;
  referrer: string | null;
  /** SHA-256 hex of IP + user agent + daily salt; the raw IP is never stored. */
  ipHash: string | null;
  isBot: boolean | null;
  bytesOut: number | null;
};

/** The optional columns, all null: what a seed-format message carries. */
export const NO_RICH_FIELDS = {
  route: null,
  status: null,
  durationMs: null,
  query: null,
  host: null,
  userAgent: null,
  referrer: null,
  ipHash: null,
  isBot: null,
  bytesOut: null,
} as const satisfies Partial<FootprintRow>;

/** Where a batch came from: the same messages always give the same token (see consumer/). */
export type BatchIdentity = { token: string };

/** What `doctor` reports of a store's server; read-only, and it answers before anything is migrated. */
export type StoreDescription = {
  serverVersion: string;
  /** False when the database itself is missing (ClickHouse: migrate creates it). */
  databaseExists: boolean;
  /** Rows in user_footprint (PostgreSQL: the planner's estimate); undefined before the table exists. */
  footprintRows: number | undefined;
};

/**
 * One footprint store. `Db` narrows the statistics handle for code that knows which store it
 * made (tests, bench); everything else takes a plain `Store`.
 */
export type Store<Db extends StatsDb = StatsDb> = {
  readonly name: StoreName;
  /** The handle the statistics queries take (src/stats/, one file per statistic). */
  readonly stats: Db;
  /** Applies pending migrations in order; returns the versions applied now. */
  migrate(): Promise<string[]>;
  /** Versions recorded as applied, whether this binary knows them or not ([] before the first migrate). */
  appliedMigrations(): Promise<string[]>;
  /** Versions this binary ships that the store has not applied yet (for /readyz). */
  pendingMigrations(): Promise<string[]>;
  /**
   * Writes all rows or none; rows whose event_id is already stored, or that repeat one of the batch,
   * are not written again. `batch` names the exact Kafka messages the rows came from (a delivery):
   * a store that cannot refuse a duplicate key on insert (ClickHouse) looks the batch's event_ids
   * up first, and drops a batch it has already stored by that identity; without it (bulk loads of
   * rows known to be new) ClickHouse writes the rows as given.
   */
  insertFootprints(rows: readonly FootprintRow[], batch?: BatchIdentity): Promise<void>;
  countFootprints(): Promise<number>;
  /** Enforces RETENTION_DAYS (undefined: keep forever); see retention.ts. */
  applyRetention(days: number | undefined): Promise<RetentionOutcome>;
  describe(): Promise<StoreDescription>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

export type PostgresStore = Store<PostgresStatsDb>;
export type ClickhouseStore = Store<ClickhouseStatsDb>;
