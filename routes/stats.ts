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
import { timeQueries } from "../src/stats/query-timer.ts";
import { holdsWholeMinute } from "../src/stats/slices.ts";
import { type Freshness, measureFreshness } from "../src/stats/store-freshness.ts";
import { formatZonedInstant, ZoneOffsetError, zoneSegments } from "../src/stats/zone.ts";
import type { StoreName } from "../src/store/store.ts";
import type { EpochMicros } from "../src/time.ts";
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
  /** How far one store is behind the other (asked when both stores are). Tests may replace it. */
  freshness?: typeof measureFreshness;
};

/**
 * `ms`: from asking the store to its answer, any wait included (for a pool connection, in a busy
 * server's queue); `query_ms`: the time of the statistic's queries alone (src/stats/query-timer.ts),
 * null when the store did not say.
 */
type StoreTimes = { store: StoreName; source: StatsSource; ms: number; query_ms: number | null };
type StoreResult = (StoreTimes & { data: unknown }) | (StoreTimes & { error: ErrorBody["error"] });

/**
 * `GET <mount>/<endpoint>` for every statistic: validated parameters, one result per store asked
 * (PostgreSQL first), the stores asked at once, each result with its wall time and its database's
 * own query time; with both stores, compared up to the instant both hold (`freshness`). Mounted at
 * `{prefix}/api/v1/stats`, behind login.
 *
 * @example
 * app.route("/_footprint/api/v1/stats", statsRoutes({ stores, timeZone: "Asia/Seoul", logger }))
 * // GET /_footprint/api/v1/stats/top?from=7d&store=both
 */
export function statsRoutes(deps: StatsRoutesDeps): Hono {
  const now = deps.now ?? Date.now;
  const queries = deps.queries ?? STATS_QUERIES;
  const freshnessOf = deps.freshness ?? measureFreshness;
  const app = new Hono().onError(answerAppError);
  for (const endpoint of Object.keys(queries) as StatsEndpoint[]) {
    app.get(`/${endpoint}`, (c) => answer(c, endpoint));
  }
  return app;

  async function answer(c: Context, endpoint: StatsEndpoint): Promise<Response> {
    const parsed = parseStatsParams(c.req.query(), { timeZone: deps.timeZone, now: now() });
    if (!parsed.ok) throw invalidParameters(parsed.problems);
    const p = parsed.params;

    try {
      // Also rejects zones with offsets of seconds, before any store is asked.
      zoneSegments(p.from, p.to, p.timeZone);
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

    // Two stores' answers are compared up to the instant both hold: one a batch behind the other
    // is not a disagreement, and the answer says how far behind it is instead.
    const asked = deps.stores.filter((s) => p.stores.includes(s.name));
    const freshness = asked.length === 2 ? await freshnessOf(asked, p.from, p.to) : undefined;
    const to = freshness?.to ?? p.to;
    const source: StatsSource =
      p.source === "auto"
        ? ROLLUP_ENDPOINTS.has(endpoint) && holdsWholeMinute(p.from, to)
          ? "rollup"
          : "raw"
        : p.source;
    const query = {
      from: p.from,
      to,
      timeZone: p.timeZone,
      filters: p.filters,
      source,
      limit: p.limit,
      bucket: p.bucket,
    };

    // The stores are asked at once and each is timed alone: neither waits behind the other.
    const results = await Promise.all(p.stores.map((name) => askStore(name, endpoint, query)));
    const answered = results.some((r) => "data" in r);
    const zoned = (t: number) => formatZonedInstant(t, p.timeZone);
    const period = { from: zoned(p.from), to: zoned(to), tz: p.timeZone };
    const body = freshness
      ? { endpoint, period, freshness: describeFreshness(freshness, p.to, zoned), results }
      : { endpoint, period, results };
    return c.json(body, answered ? 200 : 503);
  }

  async function askStore(name: StoreName, endpoint: StatsEndpoint, query: StatsRequest): Promise<StoreResult> {
    const store = deps.stores.find((s) => s.name === name);
    const started = performance.now();
    const timed = store && timeQueries(store.stats);
    try {
      if (!timed) throw new Error(`${name} is not configured`);
      const data = await queries[endpoint](timed.db, query);
      return { store: name, source: query.source, ms: elapsed(started), query_ms: timed.queryMs(), data };
    } catch (err) {
      deps.logger.warn("stats query failed", { err, store: name, endpoint });
      return {
        store: name,
        source: query.source,
        ms: elapsed(started),
        query_ms: timed?.queryMs() ?? null,
        error: { code: "STORE_UNAVAILABLE", message: `${name}: ${(err as Error).message}` },
      };
    }
  }
}

type StatsRequest = Parameters<StatsQueries["top"]>[1] & Parameters<StatsQueries["timeseries"]>[1];

/** The `freshness` of an answer from both stores (docs/http-api.md#statistics). */
function describeFreshness(f: Freshness, requestedTo: EpochMicros, zoned: (t: EpochMicros) => string) {
  const newest = Object.fromEntries(
    Object.entries(f.newest).map(([store, t]) => [store, t === undefined || t === null ? null : zoned(t)]),
  );
  return { requested_to: zoned(requestedTo), newest, behind: f.behind };
}

function invalidParameters(problems: ParamProblem[]): AppError {
  const names = [...new Set(problems.map((p) => p.path))].join(", ");
  return new AppError("BAD_REQUEST", `invalid parameters: ${names}`, problems);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
