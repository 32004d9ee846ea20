/**
 * The buckets of a timeseries, listed in JS so the series is dense (empty buckets included) and
 * labelled once for both stores. A bucket is identified by a key both stores compute from a row's
 * UTC epoch minute `m` and the zone's offset `o` then (see get-timeseries.ts):
 * - minute: `m`;
 * - hour: `m - mod(m + o, 60)`, the UTC minute its local hour starts (so the two 01:00 hours of
 *   a DST fall-back are two buckets, each one real hour long, each labelled with its offset);
 * - day: `floor((m + o) / 1440)`, the local calendar day (23 or 25 hours long around DST).
 */
import type { EpochMicros } from "../time.ts";
import { formatInZone, minuteOf, mod, offsetIn, type ZoneSegment, zoneOffsetAt } from "./zone.ts";

export type BucketKind = "minute" | "hour" | "day";
export type Bucket = { key: number; t: string };

export const MAX_POINTS = 5000;

const HOUR_US = 3_600_000_000;

/** minute for periods up to 6 hours, hour up to 14 days, day beyond. */
export function autoBucket(from: EpochMicros, to: EpochMicros): BucketKind {
  const span = to - from;
  if (span <= 6 * HOUR_US) return "minute";
  if (span <= 14 * 24 * HOUR_US) return "hour";
  return "day";
}

export function bucketKey(kind: BucketKind, minute: number, offset: number): number {
  if (kind === "minute") return minute;
  if (kind === "hour") return minute - mod(minute + offset, 60);
  return Math.floor((minute + offset) / 1440);
}

/** The first UTC minute whose local date is epoch day `day` (midnight, or the end of a gap over it). */
function dayStart(day: number, timeZone: string): number {
  const dayOf = (m: number) => Math.floor((m + zoneOffsetAt(m, timeZone)) / 1440);
  let start = day * 1440 - zoneOffsetAt(day * 1440 - zoneOffsetAt(day * 1440, timeZone), timeZone);
  for (let i = 0; i < 180 && dayOf(start) < day; i++) start++;
  for (let i = 0; i < 180 && dayOf(start - 1) === day; i++) start--;
  return start;
}

/**
 * Every bucket that holds a minute of [from, to), in time order; undefined when there would be
 * more than `MAX_POINTS`.
 */
export function listBuckets(
  from: EpochMicros,
  to: EpochMicros,
  kind: BucketKind,
  timeZone: string,
  segments: readonly ZoneSegment[],
): Bucket[] | undefined {
  const buckets: Bucket[] = [];
  const seen = new Set<number>();
  const last = minuteOf(to - 1);
  let minute = minuteOf(from);
  while (minute <= last) {
    const offset = offsetIn(segments, minute);
    const key = bucketKey(kind, minute, offset);
    if (!seen.has(key)) {
      if (buckets.length === MAX_POINTS) return undefined;
      seen.add(key);
      buckets.push({ key, t: label(kind, key, minute, offset, timeZone) });
    }
    // The next minute whose key may differ: the end of this bucket under this offset, or the
    // next offset change, whichever comes first.
    const end = kind === "minute" ? minute + 1 : kind === "hour" ? key + 60 : (key + 1) * 1440 - offset;
    const change = segments.find((s) => s.startMinute > minute)?.startMinute ?? Number.POSITIVE_INFINITY;
    minute = Math.max(minute + 1, Math.min(end, change));
  }
  return buckets;
}

function label(kind: BucketKind, key: number, minute: number, offset: number, timeZone: string): string {
  if (kind === "minute") return formatInZone(minute * 60_000_000, offset);
  if (kind === "hour") return formatInZone(key * 60_000_000, offset);
  const start = dayStart(key, timeZone);
  return formatInZone(start * 60_000_000, zoneOffsetAt(start, timeZone));
}
