/**
 * The stats API on the stack's real PostgreSQL AND ClickHouse (named .pg.test.ts after the first):
 * each store's reported time is its own query's, whatever the other store does, and two stores a
 * batch apart are compared up to the instant both hold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { createClickhouseStore } from "../src/store/clickhouse.ts";
import { createPostgresStore } from "../src/store/postgres.ts";
import type { ClickhouseStore, PostgresStore } from "../src/store/store.ts";
import { formatIsoUtc, parseTimestamp } from "../src/time.ts";
import { randomRows } from "../test/fixtures/stats-rows.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { STATS_QUERIES, type StatsQueries, statsRoutes } from "./stats.ts";

type Result = { store: string; ms: number; query_ms: number | null; data?: unknown; error?: unknown };
type Body = {
  period: { from: string; to: string };
  freshness?: { requested_to: string; newest: Record<string, string | null>; behind: unknown };
  results: Result[];
};

const at = (text: string) => parseTimestamp(text) as number;
const BOTH = randomRows(600, "2025-05-01T00:00:00Z", "2025-05-01T12:00:00Z", 3);
/** A batch PostgreSQL has written and ClickHouse not yet. */
const LATE_BATCH = randomRows(40, "2025-05-01T12:00:00Z", "2025-05-01T12:00:05Z", 4);
const PERIOD = "from=2025-05-01T00:00:00Z&to=2025-05-02T00:00:00Z&tz=UTC";
/** How much later than PostgreSQL the slow ClickHouse answers. */
const SLOW_MS = 300;
const PANELS = ["total", "top", "timeseries", "heatmap", "time-of-day", "status", "latency"];

let pgDb: Awaited<ReturnType<typeof createTestPostgresDatabase>>;
let chDb: Awaited<ReturnType<typeof createTestClickhouseDatabase>>;
let pg: PostgresStore;
let ch: ClickhouseStore;

beforeAll(async () => {
  [pgDb, chDb] = await Promise.all([createTestPostgresDatabase(), createTestClickhouseDatabase()]);
  pg = createPostgresStore({ url: pgDb.url });
  ch = createClickhouseStore({ url: chDb.url, username: "default", password: "", database: chDb.database });
  await Promise.all([pg.migrate(), ch.migrate()]);
  await Promise.all([pg.insertFootprints([...BOTH, ...LATE_BATCH]), ch.insertFootprints(BOTH)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.close(), ch?.close()]);
  await Promise.all([pgDb?.drop(), chDb?.drop()]);
});

/**
 * ClickHouse's HTTP interface behind a proxy that holds the answer of every timed statistic query
 * (the ones sent with wait_end_of_query=1) until released: a ClickHouse that is slow to answer.
 */
function slowClickhouse(upstream: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const holds: number[] = [];
  let holding = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const res = await fetch(new URL(url.pathname + url.search, upstream), {
        method: req.method,
        headers: req.headers,
        body: req.method === "GET" ? undefined : await req.arrayBuffer(),
      });
      const body = await res.arrayBuffer();
      if (url.searchParams.get("wait_end_of_query") === "1") {
        const heldAt = performance.now();
        holding++;
        await released;
        holds.push(performance.now() - heldAt);
      }
      const headers = new Headers(res.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      return new Response(body, { status: res.status, headers });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    release,
    holds,
    holding: () => holding,
    stop: () => server.stop(true),
  };
}

describe("a store's time is its own query's", () => {
  test("a slow ClickHouse does not change PostgreSQL's reported times; ClickHouse's query_ms leaves the wait out", async () => {
    const slow = slowClickhouse(chDb.url);
    const slowCh = createClickhouseStore({ url: slow.url, username: "default", password: "", database: chDb.database });
    let pgAnswered = 0;
    const queries = Object.fromEntries(
      Object.entries(STATS_QUERIES).map(([name, run]) => [
        name,
        async (db: Parameters<typeof run>[0], q: never) => {
          const data = await run(db, q);
          if (db.kind === "postgres") pgAnswered++;
          return data;
        },
      ]),
    ) as unknown as StatsQueries;
    const app = statsRoutes({ stores: [pg, slowCh], timeZone: "UTC", logger: createMemoryLogger(), queries });
    try {
      // What the dashboard does: every panel at once, both stores.
      const started = performance.now();
      const pending = PANELS.map(async (panel) => (await (await app.request(`/${panel}?${PERIOD}`)).json()) as Body);
      await waitFor(
        "PostgreSQL to answer every panel while ClickHouse holds its answers",
        async () => ({ pg: pgAnswered, held: slow.holding() }),
        (n) => n.pg === PANELS.length && n.held >= PANELS.length,
      );
      const pgDoneMs = performance.now() - started;
      await Bun.sleep(SLOW_MS); // the slow ClickHouse: it answers well after PostgreSQL has
      slow.release();
      const bodies = await Promise.all(pending);

      const minHold = Math.min(...slow.holds);
      for (const body of bodies) {
        const [pgResult, chResult] = body.results as [Result, Result];
        expect(pgResult.data).toBeDefined();
        expect(chResult.data).toBeDefined();
        // PostgreSQL's times end before ClickHouse was let go: the wait for it is in neither.
        expect(pgResult.ms).toBeLessThanOrEqual(pgDoneMs);
        expect(pgResult.query_ms).toEqual(expect.any(Number));
        expect(pgResult.query_ms as number).toBeLessThanOrEqual(pgResult.ms);
        // ClickHouse's wall time holds the wait; its query time is the server's own, without it.
        expect(minHold).toBeGreaterThanOrEqual(SLOW_MS);
        expect(chResult.ms).toBeGreaterThanOrEqual(minHold);
        expect(chResult.query_ms).toEqual(expect.any(Number));
        expect(chResult.query_ms as number).toBeLessThanOrEqual(chResult.ms - minHold);
      }
    } finally {
      slow.release();
      await slowCh.close();
      slow.stop();
    }
  }, 120_000);
});

describe("two stores a batch apart", () => {
  const app = () => statsRoutes({ stores: [pg, ch], timeZone: "UTC", logger: createMemoryLogger() });
  const newestOf = (rows: typeof BOTH) => Math.max(...rows.map((r) => r.footprintTime));

  test("are compared up to the instant both hold, and the answer says how far behind ClickHouse is", async () => {
    const body = (await (await app().request(`/total?${PERIOD}`)).json()) as Body;
    const chNewest = newestOf(BOTH);
    const pgNewest = newestOf(LATE_BATCH);
    expect(body.freshness).toEqual({
      requested_to: "2025-05-02T00:00:00.000+00:00",
      newest: {
        postgres: formatIsoUtc(pgNewest).replace("Z", "+00:00"),
        clickhouse: formatIsoUtc(chNewest).replace("Z", "+00:00"),
      },
      behind: { store: "clickhouse", ahead: "postgres", seconds: (pgNewest - chNewest) / 1e6, events: 40 },
    });
    expect(body.period.to).toBe(formatIsoUtc(chNewest + 1).replace("Z", "+00:00"));
    // Up to that instant they hold the same footprints: the same answer.
    expect(body.results.map((r) => r.data)).toEqual([
      { count: BOTH.length, previous: 0 },
      { count: BOTH.length, previous: 0 },
    ]);
  });

  test("a period both hold whole: nobody behind, the period as asked", async () => {
    const to = "2025-05-01T06:00:00Z";
    const body = (await (await app().request(`/total?from=2025-05-01T00:00:00Z&to=${to}&tz=UTC`)).json()) as Body;
    expect(body.freshness?.behind).toBeNull();
    expect(body.period.to).toBe("2025-05-01T06:00:00.000+00:00");
    const count = BOTH.filter((r) => r.footprintTime < at(to)).length;
    expect(body.results.map((r) => (r.data as { count: number }).count)).toEqual([count, count]);
  });
});
