import { ROLLUP_FAMILY_TIERS, type RollupFamily, type RollupTier } from "../store/rollup-key.ts";
import type { EpochMicros } from "../time.ts";
import type { StatsFilters, StatsSource } from "./stats-query.ts";

export type { RollupFamily, RollupTier };

const DAY_US = 86_400_000_000;
const UNIT_US: Record<RollupTier, number> = {
  minute: 60_000_000,
  hour: 3_600_000_000,
  day: DAY_US,
  week: 7 * DAY_US,
};
/** Where the units start: epoch day 0 (1970-01-01) was a Thursday, weeks start on Monday. */
const ORIGIN_US: Record<RollupTier, number> = { minute: 0, hour: 0, day: 0, week: 4 * DAY_US };
const FINER: Record<RollupTier, RollupTier | undefined> = {
  week: "day",
  day: "hour",
  hour: "minute",
  minute: undefined,
};

/** A part of a period read from one table; a rollup slice covers whole units of its tier. */
export type Slice = { table: "raw" | RollupTier; from: EpochMicros; to: EpochMicros };

/**
 * How to read [from, to) from `source`: all raw, or as much as possible from the coarsest rollup
 * allowed (whole UTC weeks, then whole days at the edges, then hours, then minutes), and the
 * partial minutes at either end from raw rows, so the answer equals the raw one exactly.
 * `coarsest` is what the statistic and its family can use: a minute histogram needs minutes, a
 * local hour needs hours whose offset is whole, counts without time buckets can use days, or
 * weeks where the family has them (ROLLUP_FAMILY_TIERS).
 *
 * @example
 * planSlices(parse("10:00:30"), parse("12:05:00"), "rollup", "hour")
 * // [raw 10:00:30–10:01, minute 10:01–11:00, hour 11:00–12:00, minute 12:00–12:05]
 */
export function planSlices(
  from: EpochMicros,
  to: EpochMicros,
  source: StatsSource,
  coarsest: RollupTier = "minute",
): Slice[] {
  if (to <= from) return [];
  if (source === "raw") return [{ table: "raw", from, to }];
  return plan(from, to, coarsest);
}

function plan(from: EpochMicros, to: EpochMicros, tier: RollupTier | undefined): Slice[] {
  if (to <= from) return [];
  if (!tier) return [{ table: "raw", from, to }];
  const unit = UNIT_US[tier];
  const origin = ORIGIN_US[tier];
  const first = origin + Math.ceil((from - origin) / unit) * unit;
  const last = origin + Math.floor((to - origin) / unit) * unit;
  if (first >= last) return plan(from, to, FINER[tier]);
  return [...plan(from, first, FINER[tier]), { table: tier, from: first, to: last }, ...plan(last, to, FINER[tier])];
}

/** True when [from, to) holds at least one whole minute, so a rollup would be read at all. */
export function holdsWholeMinute(from: EpochMicros, to: EpochMicros): boolean {
  return planSlices(from, to, "rollup").some((s) => s.table !== "raw");
}

/** What a statistic groups by besides time: nothing, the request kind, or the endpoint. */
export type RollupNeeds = "time" | "kind" | "endpoint";

/**
 * The rollup family with the fewest rows that still holds what is asked: the statistic's own
 * keys and every filter's column (a route filter needs the endpoint; method, status and bot
 * filters the request kind). Rows read per minute: total 1, kind a few, endpoint about one per
 * distinct path (src/store/rollup-key.ts).
 */
export function rollupFamily(needs: RollupNeeds, filters: StatsFilters): RollupFamily {
  if (needs === "endpoint" || filters.route !== undefined) return "endpoint";
  if (needs === "kind" || filters.method !== undefined || filters.status !== undefined || filters.excludeBots) {
    return "kind";
  }
  return "total";
}

/** The coarsest tier `family` exists in: where counts without time buckets read their middle. */
export function coarsestTier(family: RollupFamily): RollupTier {
  return ROLLUP_FAMILY_TIERS[family].at(-1) as RollupTier;
}

/**
 * A rollup plan split for a top-N that reads the edges of the period only for the keys that can
 * be in it: `whole` (weeks and whole days, exact for every key), `edges` (the hours, minutes and
 * raw rows at either end) and `bounds`, the whole UTC days the edges lie in. A key's count over
 * the period is at least its count in `whole` and at most that plus its count in `bounds`, so a
 * key whose upper bound is below the N-th largest lower bound has N keys above it.
 *
 * @example
 * splitEdges(planSlices(parse("2025-05-01T12:00Z"), parse("2025-05-21T00:30Z"), "rollup", "week"))
 * // whole: day 05-02–05-05, week 05-05–05-19, day 05-19–05-21; edges: hour 05-01 12:00–24:00,
 * // minute 05-21 00:00–00:30; bounds: day 05-01, day 05-21
 */
export function splitEdges(slices: readonly Slice[]): { whole: Slice[]; edges: Slice[]; bounds: Slice[] } {
  const isWhole = (s: Slice) => s.table === "week" || s.table === "day";
  const edges = slices.filter((s) => !isWhole(s));
  const days = new Set<number>();
  for (const s of edges) for (let d = Math.floor(s.from / DAY_US) * DAY_US; d < s.to; d += DAY_US) days.add(d);
  return {
    whole: slices.filter(isWhole),
    edges,
    bounds: [...days].sort((a, b) => a - b).map((d) => ({ table: "day", from: d, to: d + DAY_US })),
  };
}
