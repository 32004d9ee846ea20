import type { EpochMicros } from "../time.ts";
import type { StatsSource } from "./stats-query.ts";

const MINUTE_US = 60_000_000;

/** A part of a period read from one table; `rollup` slices are whole UTC minutes. */
export type Slice = { table: "raw" | "rollup"; from: EpochMicros; to: EpochMicros };

/**
 * How to read [from, to) from `source`: all raw, or the whole minutes from the rollup and the
 * partial minutes at either edge from raw rows, so the answer equals the raw one exactly.
 *
 * @example
 * planSlices(parse("10:00:30"), parse("10:05:00"), "rollup")
 * // [{raw 10:00:30–10:01:00}, {rollup 10:01–10:05}]
 */
export function planSlices(from: EpochMicros, to: EpochMicros, source: StatsSource): Slice[] {
  if (to <= from) return [];
  if (source === "raw") return [{ table: "raw", from, to }];
  const firstWhole = Math.ceil(from / MINUTE_US) * MINUTE_US;
  const lastWhole = Math.floor(to / MINUTE_US) * MINUTE_US;
  if (firstWhole >= lastWhole) return [{ table: "raw", from, to }];
  const slices: Slice[] = [];
  if (from < firstWhole) slices.push({ table: "raw", from, to: firstWhole });
  slices.push({ table: "rollup", from: firstWhole, to: lastWhole });
  if (lastWhole < to) slices.push({ table: "raw", from: lastWhole, to });
  return slices;
}

/** True when [from, to) holds at least one whole minute, so a rollup would be read at all. */
export function holdsWholeMinute(from: EpochMicros, to: EpochMicros): boolean {
  return planSlices(from, to, "rollup").some((s) => s.table === "rollup");
}
