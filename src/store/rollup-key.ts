import type { FootprintRow } from "./store.ts";

/**
 * The key every rollup (per minute, hour, day, week; migrations 0003, 0007, 0010) counts a
 * footprint under, besides its time bucket. Written here once: in TypeScript, and as the SQL expressions over a
 * user_footprint row for the places that count rows already in the database. The ClickHouse
 * materialized views hold the same key in their migrations, which are never edited.
 */
export type RollupKey = {
  method: string;
  /** The route pattern when known, else the raw path. */
  endpoint: string;
  /** 2..5, or 0 for unknown and outside 200-599. */
  statusClass: number;
  /** Unknown counts as not a bot. */
  isBot: boolean;
};

export function statusClass(status: number | null): number {
  return status !== null && status >= 200 && status <= 599 ? Math.floor(status / 100) : 0;
}

export function rollupKey(row: Pick<FootprintRow, "method" | "route" | "link" | "status" | "isBot">): RollupKey {
  return {
    method: row.method,
    endpoint: row.route ?? row.link,
    statusClass: statusClass(row.status),
    isBot: row.isBot ?? false,
  };
}

/** The same key in PostgreSQL, over a user_footprint row (fixed SQL text, nothing bound). */
export const PG_ROLLUP_KEY: Record<keyof RollupKey, string> = {
  method: "request",
  endpoint: "coalesce(route, link)",
  statusClass: "(case when status between 200 and 599 then status / 100 else 0 end)::int2",
  isBot: "coalesce(is_bot, false)",
};

/** The same key in ClickHouse, over a user_footprint row. */
export const CH_ROLLUP_KEY: Record<keyof RollupKey, string> = {
  method: "request",
  endpoint: "coalesce(route, link)",
  statusClass: "toUInt8(if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0))",
  isBot: "coalesce(is_bot, false)",
};

/**
 * Rollup granularity: every rollup table counts per whole UTC minute, hour, day or week (weeks
 * start on Monday 00:00 UTC, PostgreSQL's date_trunc('week') and ClickHouse's toMonday).
 */
export type RollupTier = "minute" | "hour" | "day" | "week";

/**
 * Rollups shaped by the questions asked (migrations 0003, 0007, 0008, 0010). Each family keeps
 * part of the key besides time, and exists per minute, hour and day (ROLLUP_FAMILY_TIERS):
 * - endpoint: the whole key; top endpoints and anything filtered by route;
 * - kind: method, status class and bot flag, without the endpoint (a few rows per minute, not one
 *   per endpoint); status classes and time statistics filtered by method, status or bots;
 * - total: nothing but time (one row per minute); unfiltered time statistics and totals.
 */
export type RollupFamily = "endpoint" | "kind" | "total";

/** The key columns (besides time) of each family, in table key order. */
export const ROLLUP_FAMILY_KEY: Record<RollupFamily, readonly (keyof RollupKey)[]> = {
  endpoint: ["method", "endpoint", "statusClass", "isBot"],
  kind: ["method", "statusClass", "isBot"],
  total: [],
};

/** Column name of each key part in every rollup table (both stores). */
export const ROLLUP_COLUMN: Record<keyof RollupKey, string> = {
  method: "method",
  endpoint: "endpoint",
  statusClass: "status_class",
  isBot: "is_bot",
};

export const ROLLUP_TIERS: readonly RollupTier[] = ["minute", "hour", "day", "week"];

/**
 * The tiers each family exists in (finest first). Only the endpoint family has weeks (migration
 * 0010): it holds about one row per distinct endpoint per unit, so a 30-day top-10 read 29 day
 * rows per endpoint; the kind and total families hold a few rows per day, and days are enough.
 */
export const ROLLUP_FAMILY_TIERS: Record<RollupFamily, readonly RollupTier[]> = {
  endpoint: ["minute", "hour", "day", "week"],
  kind: ["minute", "hour", "day"],
  total: ["minute", "hour", "day"],
};
export const ROLLUP_FAMILIES: readonly RollupFamily[] = ["endpoint", "kind", "total"];

/** Table of a family and tier; its time column is named after the tier (minute, hour, day, week). */
export function rollupTable(family: RollupFamily, tier: RollupTier): string {
  return family === "endpoint" ? `user_footprint_${tier}` : `user_footprint_${family}_${tier}`;
}

export type RollupTable = { table: string; family: RollupFamily; tier: RollupTier; columns: readonly string[] };

/** Every rollup table, families and tiers in one fixed order (writers lock them in this order). */
export const ROLLUP_TABLES: readonly RollupTable[] = ROLLUP_FAMILIES.flatMap((family) =>
  ROLLUP_FAMILY_TIERS[family].map((tier) => ({
    table: rollupTable(family, tier),
    family,
    tier,
    columns: ROLLUP_FAMILY_KEY[family].map((k) => ROLLUP_COLUMN[k]),
  })),
);
