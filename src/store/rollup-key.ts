import type { FootprintRow } from "./store.ts";

/**
 * The key every rollup (per minute, hour, day; migrations 0003, 0007) counts a footprint under,
 * besides its time bucket. Written here once: in TypeScript, and as the SQL expressions over a
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
