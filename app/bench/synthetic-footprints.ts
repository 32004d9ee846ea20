/**
 * Synthetic footprints for benchmarks: a wiki-like API over `days` days ending at `end`, with a
 * daily rhythm (busy evenings in Korea), minute-level bursts, popular routes far ahead of rare
 * ones, and a sixth of the rows in the seed format (no route, so the endpoint is the raw path
 * with an id: thousands of distinct endpoints, what makes a rollup compress badly).
 * Deterministic for a given seed.
 */
import { seededRandom } from "../../src/seeded-random.ts";
import type { FootprintRow } from "../../src/store/store.ts";

export const ROUTES: [weight: number, method: string, route: string, ids: number][] = [
  [30, "GET", "/api/v1/items", 0],
  [25, "GET", "/api/v1/items/:id", 4000],
  [12, "GET", "/api/v1/quests/:id", 400],
  [8, "GET", "/api/v1/quests", 0],
  [8, "GET", "/api/v1/traders/:id", 8],
  [6, "GET", "/api/v1/maps/:id", 12],
  [5, "GET", "/api/v1/search", 0],
  [3, "POST", "/api/v1/comments", 0],
  [2, "POST", "/api/v1/auth/login", 0],
  [1, "PUT", "/api/v1/comments/:id", 3000],
  [1, "DELETE", "/api/v1/comments/:id", 3000],
  [1, "GET", "/wp-login.php", 0],
];
const TOTAL_WEIGHT = ROUTES.reduce((s, [w]) => s + w, 0);
// Requests per hour of day in KST, relative: quiet nights, busy evenings.
export const HOURLY = [6, 4, 3, 2, 2, 2, 3, 5, 7, 8, 9, 10, 11, 11, 11, 12, 13, 14, 16, 18, 19, 17, 13, 9];
const HOURLY_TOTAL = HOURLY.reduce((a, b) => a + b, 0);

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

export type SyntheticOptions = { count: number; days: number; end: number /* epoch ms */; seed?: number };

/**
 * Yields the rows in time order, as traffic arrives (PostgreSQL's heap is then ordered by time
 * too, as in production), in chunks of `chunk`.
 */
export function* syntheticFootprints(options: SyntheticOptions, chunk: number): Generator<FootprintRow[]> {
  const next = seededRandom(options.seed ?? 42);
  const dayMs = 86_400_000;
  // KST midnight of the first day.
  const firstDay =
    Math.floor((options.end + 9 * 3_600_000) / dayMs) * dayMs - 9 * 3_600_000 - (options.days - 1) * dayMs;
  const bursts = Array.from(
    { length: options.days * 3 },
    () => firstDay + Math.floor(next() * options.days * 1440) * 60_000,
  );
  // Microseconds since firstDay, sorted: 8 bytes a row.
  const times = new Float64Array(options.count);
  for (let i = 0; i < options.count; i++) {
    let time: number;
    if (next() < 0.05) {
      time = (bursts[Math.floor(next() * bursts.length)] as number) + Math.floor(next() * 60_000);
    } else {
      const day = Math.floor(next() * options.days);
      let r = next() * HOURLY_TOTAL;
      let hour = 0;
      while (hour < 23 && r >= (HOURLY[hour] as number)) r -= HOURLY[hour++] as number;
      time = firstDay + day * dayMs + hour * 3_600_000 + Math.floor(next() * 3_600_000);
    }
    if (time >= options.end) time = options.end - 1 - Math.floor(next() * 3_600_000);
    times[i] = (time - firstDay) * 1000 + Math.floor(next() * 1000);
  }
  times.sort();
  let batch: FootprintRow[] = [];
  for (let i = 0; i < options.count; i++) {
    const micros = firstDay * 1000 + (times[i] as number);
    const time = Math.floor(micros / 1000);
    let w = next() * TOTAL_WEIGHT;
    let k = 0;
    while (k < ROUTES.length - 1 && w >= (ROUTES[k] as (typeof ROUTES)[number])[0])
      w -= (ROUTES[k++] as (typeof ROUTES)[number])[0];
    const [, method, route, ids] = ROUTES[k] as (typeof ROUTES)[number];
    const link = ids ? route.replace(":id", String(1 + Math.floor(next() ** 2 * ids))) : route;
    const seedFormat = next() < 1 / 6;
    const s = next();
    const status = s < 0.9 ? 200 : s < 0.93 ? 304 : s < 0.98 ? 404 : s < 0.995 ? 500 : 503;
    const bot = next() < 0.08;
    batch.push({
      eventId: `${hex(Math.floor(time / 65536), 8)}-${hex(time % 65536, 4)}-7000-8000-${hex(i, 12)}`,
      method,
      link,
      route: seedFormat ? null : route,
      status: seedFormat ? null : status,
      durationMs: seedFormat ? null : Math.round((2 + -Math.log(1 - next()) * 18) * 1000) / 1000,
      footprintTime: micros,
      query: null,
      host: seedFormat ? null : "eft.example.com",
      userAgent: null,
      referrer: null,
      ipHash: null,
      isBot: seedFormat ? null : bot,
      bytesOut: null,
    });
    if (batch.length === chunk) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}
