import { STATISTICS, type StatsDb, type StatsQuery, type StatsSource, type StatsStore } from "../../src/stats/index.ts";
import { timeQueries as timedDb } from "../../src/stats/query-timer.ts";
import type { StoreName } from "../../src/store/store.ts";
import { summarize, type Timing } from "./summary.ts";

/** The dashboard's queries, as the stats API runs them (src/stats/), over one period. */
export const DASHBOARD_QUERIES = {
  top: (db: StatsDb, q: StatsQuery) => STATISTICS.top(db, { ...q, limit: 10 }),
  total: STATISTICS.total,
  "time-of-day": STATISTICS["time-of-day"],
  heatmap: STATISTICS.heatmap,
  timeseries: (db: StatsDb, q: StatsQuery) => STATISTICS.timeseries(db, { ...q, bucket: "hour" }),
  status: STATISTICS.status,
} as const;

export type QueryName = keyof typeof DASHBOARD_QUERIES;
export type QueryTiming = {
  query: QueryName;
  store: StoreName;
  source: StatsSource;
  /**
   * Median of the store's own time for the query (src/stats/query-timer.ts: ClickHouse's query
   * summary, PostgreSQL's statement time on a held connection); null when the store did not say.
   * Absent in reports made before it was recorded.
   */
  own?: number | null;
} & Timing;

/**
 * Times every dashboard query on every store, raw and from rollups: one warm-up, then `reps`
 * runs one after the other (warm caches, as a dashboard refreshing a period sees them).
 */
export async function timeQueries(
  stores: readonly StatsStore[],
  period: Omit<StatsQuery, "source">,
  reps: number,
  onRun: () => void,
  sources: readonly StatsSource[] = ["raw", "rollup"],
): Promise<QueryTiming[]> {
  const out: QueryTiming[] = [];
  for (const [query, run] of Object.entries(DASHBOARD_QUERIES) as [
    QueryName,
    (typeof DASHBOARD_QUERIES)[QueryName],
  ][]) {
    for (const store of stores) {
      for (const source of sources) {
        const q = { ...period, source };
        await run(store.stats, q);
        const samples: number[] = [];
        const own: number[] = [];
        for (let i = 0; i < reps; i++) {
          const timed = timedDb(store.stats);
          const started = performance.now();
          await run(timed.db, q);
          samples.push(performance.now() - started);
          const ms = timed.queryMs();
          if (ms !== null) own.push(ms);
          onRun();
        }
        const ownMedian = own.length === reps ? summarize(own).median : null;
        out.push({ query, store: store.name, source, ...summarize(samples), own: ownMedian });
      }
    }
  }
  return out;
}

export const QUERY_RUNS_PER_SIZE = (reps: number, stores: number) =>
  Object.keys(DASHBOARD_QUERIES).length * stores * 2 * reps;
