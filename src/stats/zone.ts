/**
 * Time zones for the statistics, computed once here and handed to both stores as plain numbers.
 *
 * Every bucket (minute or hour of day, weekday, timeseries bucket) is derived from the UTC epoch
 * minute of a row plus the zone's offset at that minute. Both stores get the same offsets, so
 * they cannot disagree about a zone (each database bundles its own copy of the tz database), and
 * the arithmetic is exact for any zone whose offsets are whole minutes (every zone since 1972),
 * with DST or without, whole-hour or not (India, Nepal). PostgreSQL then needs no per-row
 * `AT TIME ZONE`, which dominated its time-of-day queries (see local-stack-facts.md).
 */
import { type EpochMicros, formatOffset } from "../time.ts";

/** From `startMinute` (UTC epoch minute) on, until the next segment, the zone is `offset` minutes ahead of UTC. */
export type ZoneSegment = { startMinute: number; offset: number };

const MINUTE_US = 60_000_000;
// No zone changes its offset twice within 6 hours; a change back within one step would be missed.
const STEP_MINUTES = 6 * 60;

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at epoch minute `minute`, in seconds. */
function offsetSecondsAt(minute: number, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    // "longOffset" renders only "GMT+09:00": ten times faster than formatToParts on every field.
    format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    offsetFormats.set(timeZone, format);
  }
  const text = format.format(new Date(minute * 60_000));
  const m = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new Error(`cannot read the UTC offset of ${timeZone} from "${text}"`);
  if (!m[1]) return 0;
  const seconds = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0);
  return m[1] === "-" ? -seconds : seconds;
}

export class ZoneOffsetError extends Error {
  override readonly name = "ZoneOffsetError";
}

function offsetAt(minute: number, timeZone: string): number {
  const seconds = offsetSecondsAt(minute, timeZone);
  if (seconds % 60 !== 0) {
    throw new ZoneOffsetError(
      `${timeZone} is ${seconds} s off UTC at that time: only whole-minute offsets are supported`,
    );
  }
  return seconds / 60;
}

/** Epoch minute containing `micros` (floor, also before 1970). */
export function minuteOf(micros: EpochMicros): number {
  return Math.floor(micros / MINUTE_US);
}

/**
 * The zone's offsets over the minutes that hold [from, to): at least one segment, the first
 * starting at the minute containing `from`.
 *
 * @example
 * zoneSegments(fromMicros, toMicros, "America/New_York") // [{startMinute, offset: -240}, {startMinute, offset: -300}]
 */
export function zoneSegments(from: EpochMicros, to: EpochMicros, timeZone: string): ZoneSegment[] {
  const first = minuteOf(from);
  const last = Math.max(first, minuteOf(to - 1));
  const segments: ZoneSegment[] = [{ startMinute: first, offset: offsetAt(first, timeZone) }];
  let at = first;
  let offset = segments[0]?.offset as number;
  while (at < last) {
    const next = Math.min(at + STEP_MINUTES, last);
    const nextOffset = offsetAt(next, timeZone);
    if (nextOffset === offset) {
      at = next;
      continue;
    }
    // The first minute in (at, next] with another offset.
    let lo = at;
    let hi = next;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetAt(mid, timeZone) === offset) lo = mid;
      else hi = mid;
    }
    offset = offsetAt(hi, timeZone);
    segments.push({ startMinute: hi, offset });
    at = hi;
  }
  return segments;
}

/** The offset in effect at epoch minute `minute`, from segments that cover it. */
export function offsetIn(segments: readonly ZoneSegment[], minute: number): number {
  let offset = segments[0]?.offset ?? 0;
  for (const s of segments) {
    if (s.startMinute > minute) break;
    offset = s.offset;
  }
  return offset;
}

/** Offset in minutes at epoch minute `minute`, straight from the zone (outside any period). */
export function zoneOffsetAt(minute: number, timeZone: string): number {
  return offsetAt(minute, timeZone);
}

/** Floor modulo: the result has the sign of `n`, as the SQL of both stores computes it. */
export function mod(x: number, n: number): number {
  return ((x % n) + n) % n;
}

/**
 * An instant as ISO-8601 local time in a zone with its offset, milliseconds (microseconds when
 * the instant has them), e.g. `2025-05-19T00:00:00.000+09:00`.
 */
export function formatInZone(micros: EpochMicros, offsetMinutes: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = mod(micros, 1000);
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  return `${local}${sub ? String(sub).padStart(3, "0") : ""}${formatOffset(offsetMinutes)}`;
}

/** `formatInZone` with the zone's own offset at that instant. */
export function formatZonedInstant(micros: EpochMicros, timeZone: string): string {
  return formatInZone(micros, offsetAt(minuteOf(micros), timeZone));
}

/**
 * The coarsest UTC unit (minute, hour, day) of which each one lies within one local hour or day
 * of the zone throughout the period: offsets and their changes whole hours (Seoul, New York) →
 * hour; the zone is UTC → day; else minute (India, Nepal, Lord Howe).
 */
export function alignedUnit(segments: readonly ZoneSegment[]): "minute" | "hour" | "day" {
  if (alignedTo(segments, 1440)) return "day";
  if (alignedTo(segments, 60)) return "hour";
  return "minute";
}

/**
 * True when every UTC span of `minutes` (from the epoch on) lies within one local span of that
 * length throughout the period: the offsets and the minutes they change at are multiples of it.
 * For 15 minutes, every zone the statistics tests use is so over 2000-2026 (Nepal +05:45, Lord
 * Howe's 30-minute DST; zone.test.ts), but not all of the tz database: St. John's changed at 00:01
 * local time until 2011, and Goose Bay, Moncton, Gaza, Hebron and Casey fail too in those years.
 */
export function alignedTo(segments: readonly ZoneSegment[], minutes: number): boolean {
  return (
    segments.every((s) => s.offset % minutes === 0) && segments.slice(1).every((s) => s.startMinute % minutes === 0)
  );
}
