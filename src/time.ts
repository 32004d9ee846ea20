/**
 * Instants are carried as whole epoch microseconds: the wire format has microsecond precision,
 * PostgreSQL timestamptz and ClickHouse DateTime64(6) keep it, and JS Date would drop it.
 */
export type EpochMicros = number;

/** Whether this runtime knows the zone name (IANA, e.g. Asia/Seoul, or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Offset of `timeZone` from UTC at the given instant, in minutes (Asia/Seoul → 540). */
export function offsetMinutes(epochMs: number, timeZone: string): number {
  // Every request's footprint asks for "now", and formatToParts costs microseconds: the offset of
  // the last minute asked for is kept per zone. Zones change offset only on whole minutes.
  const minute = Math.floor(epochMs / 60_000);
  const last = lastOffsets.get(timeZone);
  if (last?.minute === minute) return last.offset;
  const offset = computeOffsetMinutes(epochMs, timeZone);
  lastOffsets.set(timeZone, { minute, offset });
  return offset;
}

const lastOffsets = new Map<string, { minute: number; offset: number }>();

function computeOffsetMinutes(epochMs: number, timeZone: string): number {
  const w = wallClock(epochMs, timeZone);
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((local - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

/** What a clock in `timeZone` shows at an instant (month 1–12, hour 0–23). */
export type WallClock = { year: number; month: number; day: number; hour: number; minute: number; second: number };

export function wallClock(epochMs: number, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(epochMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return parts as WallClock;
}

/** A UTC offset in minutes as ISO-8601 writes it: 540 → "+09:00", -270 → "-04:30". */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The wire format's timestamp: local time in `timeZone`, microseconds, numeric offset.
 *
 * @example
 * formatZoned(1747629930123456, "Asia/Seoul") // "2025-05-19T13:45:30.123456+09:00"
 */
export function formatZoned(micros: EpochMicros, timeZone: string): string {
  const ms = Math.floor(micros / 1000);
  const offset = offsetMinutes(ms, timeZone);
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 19);
  return `${local}.${fraction(micros)}${formatOffset(offset)}`;
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC: read exactly by ClickHouse DateTime64(6, 'UTC'). */
export function formatUtc(micros: EpochMicros): string {
  const ms = Math.floor(micros / 1000);
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}.${fraction(micros)}`;
}

/** ISO-8601 in UTC with microseconds and `Z`: read exactly by PostgreSQL timestamptz. */
export function formatIsoUtc(micros: EpochMicros): string {
  return `${formatUtc(micros).replace(" ", "T")}Z`;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Parses an ISO-8601 timestamp that carries its zone (numeric offset or `Z`); digits beyond
 * microseconds are truncated. Returns undefined for anything else, including impossible dates.
 */
export function parseTimestamp(text: string): EpochMicros | undefined {
  return parseCommonTimestamp(text) ?? parseTimestampByPattern(text);
}

/** Days in each month of a common year (February gains one in a leap year). */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The digits at [at, at + n) of `text` as a number, or -1 when one is not a digit. */
function digitsAt(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * parseTimestamp for the form every producer writes, `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM` (or `Z`),
 * read digit by digit: the consumer parses one per message, and the pattern's match, its captures
 * and a Date per call were most of its cost. Undefined for any other text, which the pattern then
 * reads: this path never decides that a text is not a timestamp (time.test.ts compares the two).
 */
function parseCommonTimestamp(text: string): EpochMicros | undefined {
  const zoned = text.length === 32;
  if (!zoned && text.length !== 27) return undefined;
  if (text[4] !== "-" || text[7] !== "-" || text[10] !== "T" || text[13] !== ":" || text[16] !== ":") return undefined;
  if (text[19] !== ".") return undefined;
  const y = digitsAt(text, 0, 4);
  const mo = digitsAt(text, 5, 2);
  const d = digitsAt(text, 8, 2);
  const h = digitsAt(text, 11, 2);
  const mi = digitsAt(text, 14, 2);
  const s = digitsAt(text, 17, 2);
  const micros = digitsAt(text, 20, 6);
  // Years before 100 are left to the pattern (Date.UTC reads them as 1900 + year).
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || micros < 0) return undefined;
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (MONTH_DAYS[mo - 1] as number) + (leap ? 1 : 0)) return undefined;
  let offset = 0;
  if (zoned) {
    const sign = text[26];
    if ((sign !== "+" && sign !== "-") || text[29] !== ":") return undefined;
    const oh = digitsAt(text, 27, 2);
    const om = digitsAt(text, 30, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offset = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  } else if (text[26] !== "Z") return undefined;
  return (Date.UTC(y, mo - 1, d, h, mi, s) - offset * 60_000) * 1000 + micros;
}

/** parseTimestamp for any form the pattern takes (exported for the test that compares the two paths). */
export function parseTimestampByPattern(text: string): EpochMicros | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined;
  const zone = m[8] as string;
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || "0");
    if (oh > 23 || om > 59) return undefined;
    offset = (zone.startsWith("-") ? -1 : 1) * (oh * 60 + om);
  }
  const micros = Number((m[7] ?? "").padEnd(6, "0").slice(0, 6));
  return (utc - offset * 60_000) * 1000 + micros;
}

function fraction(micros: EpochMicros): string {
  return String(((micros % 1_000_000) + 1_000_000) % 1_000_000).padStart(6, "0");
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
