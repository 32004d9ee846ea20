/**
 * Test data for the stats queries, and a reference implementation that computes the same
 * statistics from the rows in plain JS, the slow obvious way: Intl per row for local time, a
 * full sort for percentiles. It shares nothing with the SQL (no zone segments, no epoch-minute
 * arithmetic), so agreement between the two is evidence, not an echo.
 */
import { type FootprintRow, NO_RICH_FIELDS } from "../store/store.ts";
import { type EpochMicros, parseTimestamp } from "../time.ts";
import type { StatsFilters } from "./stats-query.ts";

let nextId = 0;
function eventId(): string {
  nextId++;
  return `0190b2f8-0000-7000-8000-${nextId.toString(16).padStart(12, "0")}`;
}

function at(text: string): EpochMicros {
  const micros = parseTimestamp(text);
  if (micros === undefined) throw new Error(`bad fixture time ${text}`);
  return micros;
}

type RowSpec = {
  time: string;
  method?: string;
  link: string;
  route?: string | null;
  status?: number | null;
  durationMs?: number | null;
  isBot?: boolean | null;
};

function row(spec: RowSpec): FootprintRow {
  return {
    ...NO_RICH_FIELDS,
    eventId: eventId(),
    method: spec.method ?? "GET",
    link: spec.link,
    route: spec.route ?? null,
    status: spec.status ?? null,
    durationMs: spec.durationMs ?? null,
    isBot: spec.isBot ?? null,
    footprintTime: at(spec.time),
  };
}

/**
 * Monday 2025-05-19 in Korea and its edges. The answers for this day are worked out by hand in
 * stats.pg.test.ts: 8 rows from 00:00 KST to 23:59:59.999999 KST, 3 in the day before.
 */
export function kstDayRows(): FootprintRow[] {
  return [
    // Sunday 23:59:59.999999 KST: the day before.
    row({ time: "2025-05-18T14:59:59.999999Z", link: "/api/items", route: "/api/items", status: 200 }),
    // Monday 00:00:00 KST exactly, and one microsecond later.
    row({ time: "2025-05-18T15:00:00Z", link: "/api/items", route: "/api/items", status: 200, durationMs: 1 }),
    row({
      time: "2025-05-18T15:00:00.000001Z",
      link: "/api/items/1",
      route: "/api/items/:id",
      status: 200,
      durationMs: 2,
    }),
    row({ time: "2025-05-18T15:00:40Z", link: "/api/items/2", route: "/api/items/:id", status: 404, durationMs: 3 }),
    row({
      time: "2025-05-18T15:01:00Z",
      method: "POST",
      link: "/api/items",
      route: "/api/items",
      status: 201,
      durationMs: 4,
    }),
    row({
      time: "2025-05-18T23:30:00Z",
      link: "/api/items/3",
      route: "/api/items/:id",
      status: 200,
      durationMs: 10,
      isBot: true,
    }),
    // A seed-format row: no route, status, duration or bot flag.
    row({ time: "2025-05-19T03:00:00Z", link: "/about" }),
    row({
      time: "2025-05-19T03:00:59.999999Z",
      method: "DELETE",
      link: "/api/items/4",
      route: "/api/items/:id",
      status: 500,
      durationMs: 7,
    }),
    row({ time: "2025-05-19T14:59:59.999999Z", link: "/about", status: 301, isBot: false }),
    // Tuesday 00:00 KST: the day after.
    row({ time: "2025-05-19T15:00:00Z", link: "/api/items", route: "/api/items", status: 200 }),
    // Sunday 00:00 KST and 23:00 KST (a 1xx status counts as other).
    row({ time: "2025-05-17T15:00:00Z", link: "/api/items", route: "/api/items", status: 200 }),
    row({ time: "2025-05-18T14:00:00Z", method: "HEAD", link: "/healthz", route: "/healthz", status: 101 }),
  ];
}

/** America/New_York around both 2025 DST changes (March 9 spring forward, November 2 fall back). */
export function newYorkDstRows(): FootprintRow[] {
  return [
    row({ time: "2025-11-02T04:59:59Z", link: "/ny" }), // 00:59:59 EDT
    row({ time: "2025-11-02T05:30:00Z", link: "/ny" }), // 01:30 EDT
    row({ time: "2025-11-02T06:30:00Z", link: "/ny" }), // 01:30 EST, the second 01:30
    row({ time: "2025-11-02T07:00:00Z", link: "/ny" }), // 02:00 EST
    row({ time: "2025-11-03T04:59:59Z", link: "/ny" }), // Sunday 23:59:59 EST
    row({ time: "2025-11-03T05:00:00Z", link: "/ny" }), // Monday 00:00 EST
    row({ time: "2025-03-09T06:59:00Z", link: "/ny" }), // 01:59 EST
    row({ time: "2025-03-09T07:00:00Z", link: "/ny" }), // 03:00 EDT, a minute later
    row({ time: "2025-03-09T07:30:00Z", link: "/ny" }), // 03:30 EDT
  ];
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` rows spread over [from, to) with a mix of everything the statistics look at; a fifth
 * of them exactly on a minute boundary, where rollup and raw edges meet.
 */
export function randomRows(count: number, from: string, to: string, seed = 1): FootprintRow[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const start = at(from);
  const span = at(to) - start;
  const routes = ["/api/items", "/api/items/:id", "/api/users/:id", "/search", "/", "/api/items/:id/reviews"];
  return Array.from({ length: count }, () => {
    let time = start + Math.floor(next() * span);
    if (next() < 0.2) time -= time % 60_000_000;
    const seedFormat = next() < 0.2;
    const route = pick(routes);
    const link = route.replace(":id", String(1 + Math.floor(next() * 30)));
    return {
      ...NO_RICH_FIELDS,
      eventId: eventId(),
      method: pick(["GET", "GET", "GET", "POST", "PUT", "DELETE"]),
      link,
      route: seedFormat ? null : route,
      status: seedFormat ? null : pick([200, 200, 200, 201, 204, 301, 304, 400, 404, 404, 500, 503, 101, 600]),
      durationMs: seedFormat ? null : Math.round(next() * 50_000) / 100,
      isBot: seedFormat ? null : pick([true, false, false, false, null]),
      footprintTime: Math.max(start, time),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The reference implementation.

export type ReferenceQuery = { from: EpochMicros; to: EpochMicros; timeZone: string; filters: StatsFilters };

const endpointOf = (r: FootprintRow) => r.route ?? r.link;

function selected(rows: readonly FootprintRow[], q: ReferenceQuery): FootprintRow[] {
  const f = q.filters;
  return rows.filter((r) => {
    if (r.footprintTime < q.from || r.footprintTime >= q.to) return false;
    if (f.method !== undefined && r.method.toUpperCase() !== f.method.toUpperCase()) return false;
    if (f.route !== undefined && !endpointOf(r).startsWith(f.route)) return false;
    if (f.status !== undefined) {
      const lo = Number(f.status[0]) * 100;
      if (r.status === null || r.status < lo || r.status > lo + 99) return false;
    }
    if (f.excludeBots && r.isBot === true) return false;
    return true;
  });
}

type Local = { date: string; hour: number; minute: number; weekday: number; offset: string };

const localFormats = new Map<string, Intl.DateTimeFormat>();
function local(micros: EpochMicros, timeZone: string): Local {
  let format = localFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      weekday: "short",
      timeZoneName: "longOffset",
    });
    localFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(
    format.formatToParts(new Date(Math.floor(micros / 1000))).map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = (parts.timeZoneName ?? "GMT").replace("GMT", "") || "+00:00";
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(parts.weekday as string),
    offset,
  };
}

const compareBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function referenceTop(rows: readonly FootprintRow[], q: ReferenceQuery, limit: number) {
  const picked = selected(rows, q);
  const counts = new Map<string, { method: string; endpoint: string; count: number }>();
  for (const r of picked) {
    const key = JSON.stringify([r.method, endpointOf(r)]);
    const entry = counts.get(key) ?? { method: r.method, endpoint: endpointOf(r), count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  const sorted = [...counts.values()].sort(
    (a, b) => b.count - a.count || compareBytes(a.method, b.method) || compareBytes(a.endpoint, b.endpoint),
  );
  return {
    rows: sorted.slice(0, limit).map((e) => ({ ...e, share: Math.round((e.count / picked.length) * 10_000) / 10_000 })),
  };
}

export function referenceTotal(rows: readonly FootprintRow[], q: ReferenceQuery) {
  const previous = { ...q, from: q.from - (q.to - q.from), to: q.from };
  return { count: selected(rows, q).length, previous: selected(rows, previous).length };
}

export function referenceTimeOfDay(rows: readonly FootprintRow[], q: ReferenceQuery) {
  const hours = new Array<number>(24).fill(0);
  const minutes = new Array<number>(1440).fill(0);
  for (const r of selected(rows, q)) {
    const l = local(r.footprintTime, q.timeZone);
    hours[l.hour] = (hours[l.hour] as number) + 1;
    minutes[l.hour * 60 + l.minute] = (minutes[l.hour * 60 + l.minute] as number) + 1;
  }
  return { hours, minutes };
}

export function referenceHeatmap(rows: readonly FootprintRow[], q: ReferenceQuery) {
  const cells = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  for (const r of selected(rows, q)) {
    const l = local(r.footprintTime, q.timeZone);
    const day = cells[l.weekday] as number[];
    day[l.hour] = (day[l.hour] as number) + 1;
  }
  return { weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], cells };
}

/**
 * The non-empty points of a timeseries, labelled as the API labels buckets: the local start of
 * the minute / hour with the offset then, or local midnight with the offset at midnight.
 */
export function referenceTimeseriesPoints(
  rows: readonly FootprintRow[],
  q: ReferenceQuery,
  bucket: "minute" | "hour" | "day",
) {
  const counts = new Map<string, number>();
  for (const r of selected(rows, q)) {
    const l = local(r.footprintTime, q.timeZone);
    const hh = String(l.hour).padStart(2, "0");
    const mm = String(l.minute).padStart(2, "0");
    let t: string;
    if (bucket === "minute") t = `${l.date}T${hh}:${mm}:00.000${l.offset}`;
    else if (bucket === "hour") t = `${l.date}T${hh}:00:00.000${l.offset}`;
    else t = `${l.date}T00:00:00.000${midnightOffset(r.footprintTime, q.timeZone)}`;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return [...counts]
    .map(([t, count]) => ({ t, count }))
    .sort((a, b) => (parseTimestamp(a.t) as number) - (parseTimestamp(b.t) as number));
}

/** The offset at the first instant of the local day holding `micros`: walk back a minute at a time. */
const midnightOffsets = new Map<string, string>();
function midnightOffset(micros: EpochMicros, timeZone: string): string {
  const date = local(micros, timeZone).date;
  const key = `${timeZone} ${date}`;
  let offset = midnightOffsets.get(key);
  if (offset === undefined) {
    let m = Math.floor(micros / 60_000_000) * 60_000_000;
    while (local(m - 60_000_000, timeZone).date === date) m -= 60_000_000;
    offset = local(m, timeZone).offset;
    midnightOffsets.set(key, offset);
  }
  return offset;
}

export function referenceStatus(rows: readonly FootprintRow[], q: ReferenceQuery) {
  const result = { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, other: 0 };
  for (const r of selected(rows, q)) {
    const s = r.status;
    const name = s !== null && s >= 200 && s <= 599 ? (`${Math.floor(s / 100)}xx` as "2xx") : "other";
    result[name]++;
  }
  return result;
}

/** Percentiles with linear interpolation between closest ranks (percentile_cont / Excel PERCENTILE.INC). */
function percentile(sorted: readonly number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export function referenceLatency(rows: readonly FootprintRow[], q: ReferenceQuery, limit: number) {
  const byEndpoint = new Map<string, number[]>();
  for (const r of selected(rows, q)) {
    if (r.durationMs === null) continue;
    const list = byEndpoint.get(endpointOf(r)) ?? [];
    list.push(r.durationMs);
    byEndpoint.set(endpointOf(r), list);
  }
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    rows: [...byEndpoint]
      .sort(([a, x], [b, y]) => y.length - x.length || compareBytes(a, b))
      .slice(0, limit)
      .map(([endpoint, values]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return {
          endpoint,
          count: sorted.length,
          p50: round2(percentile(sorted, 0.5)),
          p95: round2(percentile(sorted, 0.95)),
          p99: round2(percentile(sorted, 0.99)),
        };
      }),
  };
}
