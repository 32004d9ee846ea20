import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import type { StatsDb } from "../src/stats/index.ts";
import { parseTimestamp } from "../src/time.ts";
import { createFakeStore } from "../test/support/fake-store.ts";
import { type StatsEndpoint, type StatsQueries, statsRoutes } from "./stats.ts";

// The queries themselves run on real stores in src/stats/stats.pg.test.ts; here they are fakes
// that record what the route asked for.
const NOW = Date.UTC(2025, 4, 19, 3, 0, 30, 500); // 2025-05-19T12:00:30.500+09:00
const STORES = [createFakeStore("postgres"), createFakeStore("clickhouse")];

type Body = {
  endpoint: string;
  period: { from: string; to: string; tz: string };
  results: {
    store: string;
    source: string;
    ms: number;
    query_ms: number | null;
    data?: unknown;
    error?: { code: string; message: string };
  }[];
  error: { code: string; message: string; details: { path: string; message: string }[] };
};

type Call = { endpoint: StatsEndpoint; kind: string; q: Record<string, unknown> };

function routes(options: { failing?: string[] } = {}) {
  const calls: Call[] = [];
  const fake =
    (endpoint: StatsEndpoint) =>
    async (db: StatsDb, q: object): Promise<unknown> => {
      calls.push({ endpoint, kind: db.kind, q: q as Record<string, unknown> });
      if (options.failing?.includes(db.kind)) throw new Error("connection refused");
      return { answeredBy: db.kind };
    };
  const queries = Object.fromEntries(
    (["top", "total", "time-of-day", "heatmap", "timeseries", "status", "latency"] as const).map((e) => [e, fake(e)]),
  ) as unknown as StatsQueries;
  const logger = createMemoryLogger();
  const app = statsRoutes({ stores: STORES, timeZone: "Asia/Seoul", logger, now: () => NOW, queries });
  return { app, calls, logger };
}

async function get(path: string, options?: { failing?: string[] }) {
  const { app, calls, logger } = routes(options);
  const res = await app.request(path);
  return { res, body: (await res.json()) as Body, calls, logger };
}

describe("stats API: parameters", () => {
  test("every bad parameter is named in one 400", async () => {
    const { res, body, calls } = await get(
      "/top?from=yesterday&to=2025-13-01T00:00:00Z&tz=Mars/Olympus&store=mysql&source=cache&method=G%20ET&route=&status=6xx&exclude_bots=yes&limit=101&bucket=week&colour=red",
    );
    expect(res.status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    const paths = body.error.details.map((d) => d.path);
    expect(paths).toEqual([
      "from",
      "to",
      "tz",
      "store",
      "source",
      "method",
      "route",
      "status",
      "exclude_bots",
      "limit",
      "bucket",
      "colour",
    ]);
    for (const d of body.error.details) expect(d.message).toEqual(expect.any(String));
    expect(body.error.message).toContain("from, to, tz");
    expect(calls).toEqual([]);
  });

  test.each([
    ["limit=0", "limit"],
    ["limit=2.5", "limit"],
    ["limit=ten", "limit"],
    ["from=2025-05-20T00:00:00Z&to=2025-05-19T00:00:00Z", "to"],
    ["from=2025-05-19T00:00:00Z&to=2025-05-19T00:00:00Z", "to"],
    ["from=2024-01-01T00:00:00Z&to=2025-05-19T00:00:00Z", "from"], // over 400 days
    ["from=1999-12-31T00:00:00Z&to=2000-01-02T00:00:00Z", "from"],
    ["from=2025-05-19T00:00:00", "from"], // no offset: ambiguous
    ["exclude_bots=1", "exclude_bots"],
    ["from=2d", "from"],
    ["route=%00abc", "route"], // NUL: PostgreSQL would refuse it, which is no outage
    ["route=/a%0Ab", "route"],
  ])("%s → 400 naming %s", async (query, path) => {
    const { res, body } = await get(`/total?${query}`);
    expect(res.status).toBe(400);
    expect(body.error.details.map((d) => d.path)).toEqual([path]);
  });

  test("defaults: the last 24 h in the configured zone, both stores, from the rollup", async () => {
    const { res, body, calls } = await get("/top");
    expect(res.status).toBe(200);
    expect(body.period).toEqual({
      from: "2025-05-18T12:00:30.500+09:00",
      to: "2025-05-19T12:00:30.500+09:00",
      tz: "Asia/Seoul",
    });
    expect(calls.map((c) => c.kind)).toEqual(["postgres", "clickhouse"]);
    expect(calls[0]?.q).toMatchObject({
      from: (NOW - 86_400_000) * 1000,
      to: NOW * 1000,
      timeZone: "Asia/Seoul",
      source: "rollup",
      limit: 10,
      filters: { excludeBots: false },
    });
  });

  test("filters, zone, limit and an explicit period reach the query as given", async () => {
    const { body, calls } = await get(
      "/top?from=2025-03-01T00:00:00-05:00&to=2025-03-20T00:00:00-04:00&tz=America/New_York&store=clickhouse&source=raw&method=get&route=/api/&status=4xx&exclude_bots=true&limit=3",
    );
    expect(body.period).toEqual({
      from: "2025-03-01T00:00:00.000-05:00",
      to: "2025-03-20T00:00:00.000-04:00",
      tz: "America/New_York",
    });
    expect(calls).toEqual([
      {
        endpoint: "top",
        kind: "clickhouse",
        q: expect.objectContaining({
          from: parseTimestamp("2025-03-01T05:00:00Z"),
          to: parseTimestamp("2025-03-20T04:00:00Z"),
          timeZone: "America/New_York",
          source: "raw",
          limit: 3,
          filters: { method: "get", route: "/api/", status: "4xx", excludeBots: true },
        }),
      },
    ]);
  });

  test("presets end now, or at `to` when given", async () => {
    const live = await get("/total?from=1m");
    expect(live.calls[0]?.q).toMatchObject({ from: (NOW - 60_000) * 1000, to: NOW * 1000 });
    const week = await get("/total?from=7d&to=2025-05-19T00:00:00Z");
    expect(week.calls[0]?.q).toMatchObject({ from: parseTimestamp("2025-05-12T00:00:00Z") });
  });
});

describe("stats API: source", () => {
  test("auto reads the rollup when the period holds a whole minute, raw rows otherwise", async () => {
    const short = await get("/total?from=2025-05-19T00:00:10Z&to=2025-05-19T00:00:50Z");
    expect(short.body.results.map((r) => r.source)).toEqual(["raw", "raw"]);
    const long = await get("/total?from=2025-05-19T00:00:10Z&to=2025-05-19T00:02:00Z");
    expect(long.body.results.map((r) => r.source)).toEqual(["rollup", "rollup"]);
  });

  test("latency is raw under auto, and source=rollup is refused for it", async () => {
    const auto = await get("/latency");
    expect(auto.calls[0]?.q.source).toBe("raw");
    const forced = await get("/latency?source=rollup");
    expect(forced.res.status).toBe(400);
    expect(forced.body.error.code).toBe("ROLLUP_UNAVAILABLE");
    expect(forced.calls).toEqual([]);
  });

  test("source=rollup is honoured for a period without a whole minute (it reads raw edges)", async () => {
    const { calls } = await get("/status?source=rollup&from=2025-05-19T00:00:10Z&to=2025-05-19T00:00:50Z");
    expect(calls[0]?.q.source).toBe("rollup");
  });
});

describe("stats API: timeseries buckets", () => {
  test("chosen by the period's length unless given", async () => {
    const bucketOf = async (query: string) => (await get(`/timeseries?${query}`)).calls[0]?.q.bucket;
    expect(await bucketOf("from=1h")).toBe("minute");
    expect(await bucketOf("from=24h")).toBe("hour");
    expect(await bucketOf("from=7d")).toBe("hour");
    expect(await bucketOf("from=30d")).toBe("day");
    expect(await bucketOf("from=1h&bucket=hour")).toBe("hour");
  });

  test("more than 5000 points is a 400 naming bucket", async () => {
    const { res, body, calls } = await get("/timeseries?from=7d&bucket=minute");
    expect(res.status).toBe(400);
    expect(body.error.details).toEqual([{ path: "bucket", message: expect.stringContaining("5000") }]);
    expect(calls).toEqual([]);
  });
});

describe("stats API: results", () => {
  test("one result per store, PostgreSQL first, each with its time", async () => {
    const { body } = await get("/heatmap");
    expect(body.endpoint).toBe("heatmap");
    expect(body.results).toEqual([
      { store: "postgres", source: "rollup", ms: expect.any(Number), query_ms: null, data: { answeredBy: "postgres" } },
      {
        store: "clickhouse",
        source: "rollup",
        ms: expect.any(Number),
        query_ms: null,
        data: { answeredBy: "clickhouse" },
      },
    ]);
  });

  test("a failing store gives an error entry; the other still answers (200)", async () => {
    const { res, body, logger } = await get("/total", { failing: ["clickhouse"] });
    expect(res.status).toBe(200);
    expect(body.results[1]).toEqual({
      store: "clickhouse",
      source: "rollup",
      ms: expect.any(Number),
      query_ms: null,
      error: { code: "STORE_UNAVAILABLE", message: "clickhouse: connection refused" },
    });
    expect(logger.lines.filter((l) => l.msg === "stats query failed")).toHaveLength(1);
  });

  test("every store failing is a 503", async () => {
    const { res, body } = await get("/total", { failing: ["postgres", "clickhouse"] });
    expect(res.status).toBe(503);
    expect(body.results.map((r) => r.error?.code)).toEqual(["STORE_UNAVAILABLE", "STORE_UNAVAILABLE"]);
  });

  test("a store that is not configured is reported, not crashed on", async () => {
    const app = statsRoutes({ stores: [], timeZone: "UTC", logger: createMemoryLogger(), now: () => NOW });
    const res = await app.request("/total?store=postgres");
    expect(res.status).toBe(503);
    expect(((await res.json()) as Body).results[0]?.error?.message).toContain("not configured");
  });
});

describe("stats API: two stores compared up to the instant both hold", () => {
  const T = NOW * 1000 - 5_000_000; // PostgreSQL's newest footprint: 5 s before now
  function withFreshness(newest: { postgres: number | null; clickhouse: number | null }) {
    const asked: { from: number; to: number; stores: string[] }[] = [];
    const { calls } = routes();
    const queries = Object.fromEntries(
      (["top", "total", "time-of-day", "heatmap", "timeseries", "status", "latency"] as const).map((e) => [
        e,
        async (db: StatsDb, q: object) => {
          calls.push({ endpoint: e, kind: db.kind, q: q as Record<string, unknown> });
          return { answeredBy: db.kind };
        },
      ]),
    ) as unknown as StatsQueries;
    const app = statsRoutes({
      stores: STORES,
      timeZone: "UTC",
      logger: createMemoryLogger(),
      now: () => NOW,
      queries,
      freshness: async (stores, from, to) => {
        asked.push({ from, to, stores: stores.map((s) => s.name) });
        const { compareUpTo } = await import("../src/stats/store-freshness.ts");
        const compared = compareUpTo(to, newest);
        return { newest, ...compared, behind: compared.behind && { ...compared.behind, events: 42 } };
      },
    });
    return { app, asked, calls };
  }

  test("one store a batch behind: both answer up to its newest footprint, and the answer says by how much", async () => {
    const { app, asked, calls } = withFreshness({ postgres: T, clickhouse: T - 2_500_000 });
    const res = await app.request("/total?from=1h");
    const body = (await res.json()) as Body & { freshness: unknown };
    expect(asked).toEqual([{ from: NOW * 1000 - 3_600_000_000, to: NOW * 1000, stores: ["postgres", "clickhouse"] }]);
    const comparedTo = T - 2_500_000 + 1;
    expect(calls.map((c) => [c.kind, c.q.to])).toEqual([
      ["postgres", comparedTo],
      ["clickhouse", comparedTo],
    ]);
    expect(body.period.to).toBe("2025-05-19T03:00:23.000001+00:00");
    expect(body.freshness).toEqual({
      requested_to: "2025-05-19T03:00:30.500+00:00",
      newest: { postgres: "2025-05-19T03:00:25.500+00:00", clickhouse: "2025-05-19T03:00:23.000+00:00" },
      behind: { store: "clickhouse", ahead: "postgres", seconds: 2.5, events: 42 },
    });
  });

  test("neither behind: the period asked, nothing behind", async () => {
    const { app, calls } = withFreshness({ postgres: T, clickhouse: T });
    const body = (await (await app.request("/top?from=1h")).json()) as Body & { freshness: { behind: unknown } };
    expect(calls.map((c) => c.q.to)).toEqual([NOW * 1000, NOW * 1000]);
    expect(body.freshness.behind).toBeNull();
  });

  test("one store asked: nothing to compare, freshness is not asked", async () => {
    const { app, asked, calls } = withFreshness({ postgres: T, clickhouse: T - 2_500_000 });
    const body = (await (await app.request("/top?store=clickhouse")).json()) as Body & { freshness?: unknown };
    expect(asked).toEqual([]);
    expect(calls.map((c) => c.q.to)).toEqual([NOW * 1000]);
    expect(body.freshness).toBeUndefined();
  });
});
