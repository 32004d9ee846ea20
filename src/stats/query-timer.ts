/**
 * The time of a statistic's queries alone, as each database lets us know it, apart from the waits
 * around them (a pool connection, a busy server's queue). The statistics themselves (get-*.ts) are
 * not touched: the handle they are given records it.
 */
import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client-web";
import type postgres from "postgres";
import type { StatsDb } from "./stats-db.ts";

/** A handle that records what it runs, and the time of that so far. */
export type TimedStatsDb = {
  db: StatsDb;
  /**
   * Milliseconds the database spent on the queries run through `db` (0.1 ms resolution), or null
   * when it did not say (a ClickHouse before 23.9 sends no `elapsed_ns`) or nothing was run.
   */
  queryMs(): number | null;
};

/**
 * Wraps a store's statistics handle so that it measures the queries run through it:
 * - ClickHouse: the server's own elapsed time, from the `X-ClickHouse-Summary` header of each
 *   query (asked with `wait_end_of_query=1`, so the summary covers the whole query: without it the
 *   server may send its headers, summary included, before the query ends);
 * - PostgreSQL: the time from holding a connection to the answer, i.e. around the statistic's
 *   transaction body (every statistic runs in one, see withStatsSettings): a wait for a pool
 *   connection comes before it and is not counted.
 *
 * @example
 * const timed = timeQueries(store.stats);
 * const data = await getTotalCount(timed.db, q);
 * timed.queryMs(); // e.g. 3.2
 */
export function timeQueries(db: StatsDb): TimedStatsDb {
  return db.kind === "postgres" ? timePostgres(db.sql) : timeClickhouse(db.client);
}

function rounded(ms: number): number {
  return Math.round(ms * 10) / 10;
}

type Begin = (...args: unknown[]) => Promise<unknown>;

function timePostgres(sql: postgres.Sql): TimedStatsDb {
  let total = 0;
  let runs = 0;
  const begin: Begin = (...args) => {
    const body = args.pop() as (tx: unknown) => Promise<unknown>;
    return (sql.begin as unknown as Begin)(...args, async (tx: unknown) => {
      // The connection is held from here on: what follows is this statistic's statements alone.
      const held = performance.now();
      try {
        return await body(tx);
      } finally {
        total += performance.now() - held;
        runs++;
      }
    });
  };
  const timed = new Proxy(sql, {
    get: (target, key, receiver) => (key === "begin" ? begin : Reflect.get(target, key, receiver)),
  });
  return { db: { kind: "postgres", sql: timed }, queryMs: () => (runs ? rounded(total) : null) };
}

/** What the server says of one query; `elapsed_ns` since ClickHouse 23.9. */
export function elapsedMsOfSummary(header: string | string[] | undefined): number | null {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return null;
  try {
    const ns = Number((JSON.parse(text) as { elapsed_ns?: unknown }).elapsed_ns);
    return Number.isFinite(ns) && ns >= 0 ? ns / 1e6 : null;
  } catch {
    return null;
  }
}

function timeClickhouse(client: ClickHouseClient): TimedStatsDb {
  let total = 0;
  let runs = 0;
  let unreported = false;
  const query: ClickHouseClient["query"] = async (params) => {
    const settings: ClickHouseSettings = { ...params.clickhouse_settings, wait_end_of_query: 1 };
    const rs = await client.query({ ...params, clickhouse_settings: settings });
    const ms = elapsedMsOfSummary(rs.response_headers["x-clickhouse-summary"]);
    if (ms === null) unreported = true;
    else total += ms;
    runs++;
    return rs;
  };
  const timed = new Proxy(client, {
    get(target, key) {
      if (key === "query") return query;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    db: { kind: "clickhouse", client: timed },
    queryMs: () => (runs && !unreported ? rounded(total) : null),
  };
}
