import type { EpochMicros } from "../time.ts";

export type StatusClass = "2xx" | "3xx" | "4xx" | "5xx";

/** Narrow the rows counted; every filter is optional and they combine with AND. */
export type StatsFilters = {
  /** Exact HTTP method, compared case-insensitively. */
  method?: string;
  /** Prefix of the endpoint, `coalesce(route, link)`. */
  route?: string;
  status?: StatusClass;
  /** Leave out rows with is_bot true (NULL counts as not a bot). */
  excludeBots?: boolean;
};

/** Where counts come from: raw rows, or the per-minute rollup (raw rows for partial minutes). */
export type StatsSource = "raw" | "rollup";

/** What every statistic is asked for: the half-open period [from, to), its zone, filters, source. */
export type StatsQuery = {
  from: EpochMicros;
  to: EpochMicros;
  /** IANA zone the buckets are computed in. */
  timeZone: string;
  filters: StatsFilters;
  source: StatsSource;
};

export const STATUS_RANGES: Record<StatusClass, readonly [number, number]> = {
  "2xx": [200, 299],
  "3xx": [300, 399],
  "4xx": [400, 499],
  "5xx": [500, 599],
};

/** The rollup's status_class column: 2..5, or 0 for unknown and outside 200-599. */
export const STATUS_CLASS_NUMBER: Record<StatusClass, number> = { "2xx": 2, "3xx": 3, "4xx": 4, "5xx": 5 };
