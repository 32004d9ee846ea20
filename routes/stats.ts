import { type Context, Hono } from "hono";
import { AppError, type ErrorBody } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import {
  listBuckets,
  MAX_POINTS,
  STATISTICS,
  type StatisticName,
  type StatsDb,
  type StatsSource,
  type StatsStore,
} from "../src/stats/index.ts";
import { holdsWholeMinute } from "../src/stats/slices.ts";
import { formatZonedInstant, ZoneOffsetError, zoneSegments } from "../src/stats/zone.ts";
import type { StoreName } from "../src/store/store.ts";
import { answerAppError } from "./error-response.ts";
import { type ParamProblem, parseStatsParams } from "./stats-params.ts";

/** The statistics the API serves, as the core defines them; each answers from one store. Tests may replace them. */
export type StatsQueries = {
  [K in StatisticName]: (db: StatsDb, q: Parameters<(typeof STATISTICS)[K]>[1]) => Promise<unknown>;
};

export type StatsEndpoint = StatisticName;

export const STATS_QUERIES: StatsQueries = STATISTICS;

/** Endpoints whose answer the per-minute rollup can give exactly (percentiles it cannot). */
const ROLLUP_ENDPOINTS: ReadonlySet<StatsEndpoint> = new Set([
  "top",
  "total",
  "time-of-day",
  "heatmap",
  "timeseries",
  "status",
]);

export type StatsRoutesDeps = {
  stores: readonly StatsStore[];
  /** Default zone of the buckets (FOOTPRINT_TZ). */
  timeZone: string;
  logger: Logger;
  /** Epoch milliseconds; presets (`from=24h`) end here. */
  now?: () => number;
  queries?: StatsQueries;
};

type StoreResult =
  | { store: StoreName; source: StatsSource; ms: number; data: unknown }
  | { store: StoreName; source: StatsSource; ms: number; error: ErrorBody["error"] };

/**
 * `GET <mount>/<endpoint>` for every statistic: validated parameters, one result per store asked
 * (PostgreSQL first), each with its own query time. Mounted at `{prefix}/api/v1/stats`, behind login.
 *
 * @example
 * app.route("/_footprint/api/v1/stats", statsRoutes({ stores, timeZone: "Asia/Seoul", logger }))
 * // GET /_footprint/api/v1/stats/top?from=7d&store=both
 */
export function statsRoutes(deps: StatsRoutesDeps): Hono {
  const now = deps.now ?? Date.now;
  const queries = deps.queries ?? STATS_QUERIES;
  const app = new Hono().onError(answerAppError);
  for (const endpoint of Object.keys(queries) as StatsEndpoint[]) {
    app.get(`/${endpoint}`, (c) => answer(c, endpoint));
  }
  return app;

  async function answer(c: Context, endpoint: StatsEndpoint): Promise<Response> {
    const parsed = parseStatsParams(c.req.query(), { timeZone: deps.timeZone, now: now() });
    if (!parsed.ok) throw invalidParameters(parsed.problems);
    const p = parsed.params;

    let period: { from: string; to: string; tz: string };
    try {
      // Also rejects zones with offsets of seconds, before any store is asked.
      zoneSegments(p.from, p.to, p.timeZone);
      period = {
        from: formatZonedInstant(p.from, p.timeZone),
        to: formatZonedInstant(p.to, p.timeZone),
        tz: p.timeZone,
      };
    } catch (err) {
      if (err instanceof ZoneOffsetError) throw invalidParameters([{ path: "tz", message: err.message }]);
      throw err;
    }
    if (
      endpoint === "timeseries" &&
      !listBuckets(p.from, p.to, p.bucket, p.timeZone, zoneSegments(p.from, p.to, p.timeZone))
    ) {
      throw invalidParameters([
        {
          path: "bucket",
          message: `more than ${MAX_POINTS} ${p.bucket} buckets: choose a larger bucket or a shorter period`,
        },
      ]);
    }

    if (p.source === "rollup" && !ROLLUP_ENDPOINTS.has(endpoint)) {
      throw new AppError(
        "ROLLUP_UNAVAILABLE",
        `${endpoint} is computed from raw rows only: the per-minute rollup cannot give exact answers for it`,
        [{ path: "source", message: "use source=auto or source=raw" }],
      );
    }
    const source: StatsSource =
      p.source === "auto"
        ? ROLLUP_ENDPOINTS.has(endpoint) && holdsWholeMinute(p.from, p.to)
          ? "rollup"
          : "raw"
        : p.source;
    const query = {
      from: p.from,
      to: p.to,
      timeZone: p.timeZone,
      filters: p.filters,
      source,
      limit: p.limit,
      bucket: p.bucket,
    };

    // One store after the other: each store's time is its own, not shared with the other's.
    const results: StoreResult[] = [];
    for (const name of p.stores) {
      const store = deps.stores.find((s) => s.name === name);
      const started = performance.now();
      try {
        if (!store) throw new Error(`${name} is not configured`);
        const data = await queries[endpoint](store.stats, query);
        results.push({ store: name, source, ms: elapsed(started), data });
      } catch (err) {
        deps.logger.warn("stats query failed", { err, store: name, endpoint });
        results.push({
          store: name,
          source,
          ms: elapsed(started),
          error: { code: "STORE_UNAVAILABLE", message: `${name}: ${(err as Error).message}` },
        });
      }
    }
    const answered = results.some((r) => "data" in r);
    return c.json({ endpoint, period, results }, answered ? 200 : 503);
  }
}

function invalidParameters(problems: ParamProblem[]): AppError {
  const names = [...new Set(problems.map((p) => p.path))].join(", ");
  return new AppError("BAD_REQUEST", `invalid parameters: ${names}`, problems);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
