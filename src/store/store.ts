import type { EpochMicros } from "../time.ts";

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
};

export type Store = {
  readonly name: StoreName;
  /** Applies pending migrations in order; returns the versions applied now. */
  migrate(): Promise<string[]>;
  /** Writes all rows or none; rows whose event_id is already stored are not written again. */
  insertFootprints(rows: readonly FootprintRow[]): Promise<void>;
  countFootprints(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
};
