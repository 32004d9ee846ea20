/**
 * The statistics on the stack's real PostgreSQL AND ClickHouse (this file needs both; it is named
 * .pg.test.ts after the first). Every answer is asserted, for each store and for raw rows and the
 * per-minute rollup, against numbers worked out by hand (Korea's midnight edges, New York's DST
 * days) or against a plain-JS reference over a random fixture; so the stores equal each other and
 * raw equals rollup.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { clickhouseMigrations, postgresMigrations } from "../../sql/index.ts";
import {
  kstDayRows,
  newYorkDstRows,
  randomRows,
  referenceHeatmap,
  referenceLatency,
  referenceStatus,
  referenceTimeOfDay,
  referenceTimeseriesPoints,
  referenceTop,
  referenceTotal,
  topKeyRows,
} from "../../test/fixtures/stats-rows.ts";
import { userFootprintColumns } from "../../test/fixtures/store-rows.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase } from "../../test/support/stack.ts";
import { createClickhouseStore } from "../store/clickhouse.ts";
import { createPostgresStore } from "../store/postgres.ts";
import { ROLLUP_TABLES } from "../store/rollup-key.ts";
import type { FootprintRow } from "../store/store.ts";
import { formatIsoUtc, parseTimestamp } from "../time.ts";
import {
  getLatencyPercentiles,
  getStatusClasses,
  getTimeOfDay,
  getTimeseries,
  getTopEndpoints,
  getTotalCount,
  getWeekdayHeatmap,
  type StatsDb,
  type StatsFilters,
  type StatsSource,
  type StatsStore,
} from "./index.ts";

const at = (text: string) => parseTimestamp(text) as number;

const KST_DAY = { from: at("2025-05-19T00:00:00+09:00"), to: at("2025-05-20T00:00:00+09:00"), timeZone: "Asia/Seoul" };
const RANDOM_FROM = "2024-09-28T00:00:00Z";
const RANDOM_TO = "2024-11-10T00:00:00Z";

let pgDb: Awaited<ReturnType<typeof createTestPostgresDatabase>>;
let chDb: Awaited<ReturnType<typeof createTestClickhouseDatabase>>;
let pg: ReturnType<typeof createPostgresStore>;
let ch: ReturnType<typeof createClickhouseStore>;
let stores: StatsStore[];
const kst = kstDayRows();
const ny = newYorkDstRows();
const random = randomRows(2000, RANDOM_FROM, RANDOM_TO, 7);
const topKeys = topKeyRows();
const everything: FootprintRow[] = [...kst, ...ny, ...random, ...topKeys];

beforeAll(async () => {
  [pgDb, chDb] = await Promise.all([createTestPostgresDatabase(), createTestClickhouseDatabase()]);
  const chOptions = { url: chDb.url, username: "default", password: "", database: chDb.database };

  // The Korea rows are stored by a version without rollups: migrations 0003, 0007, 0008 and 0010
  // must count them.
  const pgBefore = createPostgresStore({
    url: pgDb.url,
    migrations: postgresMigrations.filter((m) => m.version < "0003"),
  });
  const chBefore = createClickhouseStore({
    ...chOptions,
    migrations: clickhouseMigrations.filter((m) => m.version < "0003"),
  });
  try {
    await pgBefore.migrate();
    await chBefore.migrate();
    // As text through JSON: a parameter typed timestamptz would pass through a JS Date (ms only).
    // jsonb_to_recordset takes the columns it names and ignores the rest.
    const json = JSON.stringify(
      kst.map((r) => ({ ...userFootprintColumns(r), footprint_time: formatIsoUtc(r.footprintTime) })),
    );
    await pgBefore.stats.sql`
      insert into user_footprint (event_id, request, link, route, status, duration_ms, footprint_time, is_bot)
      select * from jsonb_to_recordset(${json}::text::jsonb) as x(event_id uuid, request text, link text,
        route text, status int2, duration_ms float8, footprint_time timestamptz, is_bot bool)`;
    await chBefore.insertFootprints(kst);
  } finally {
    await Promise.all([pgBefore.close(), chBefore.close()]);
  }

  pg = createPostgresStore({ url: pgDb.url });
  ch = createClickhouseStore(chOptions);
  await pg.migrate();
  await ch.migrate();
  // The rest through the product's insert path, in batches; one batch is delivered twice.
  const rest = [...ny, ...random, ...topKeys];
  for (let i = 0; i < rest.length; i += 500) {
    const batch = rest.slice(i, i + 500);
    for (const store of [pg, ch]) await store.insertFootprints(batch, { token: `stats-test/${i}` });
  }
  const again = rest.slice(500, 1000);
  for (const store of [pg, ch]) await store.insertFootprints(again, { token: "stats-test/500" });

  stores = [pg, ch];
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.close(), ch?.close()]);
  await Promise.all([pgDb?.drop(), chDb?.drop()]);
});

const SOURCES: StatsSource[] = ["raw", "rollup"];
// Real services on a machine shared with other test runs: generous, never a timing assertion.
const SLOW = 120_000;

/** Asserts `expected` from every store and source; the label in the comparison names the culprit. */
async function expectEverywhere<T>(run: (db: StatsDb, source: StatsSource) => Promise<T>, expected: Awaited<T>) {
  for (const store of stores) {
    for (const source of SOURCES) {
      expect({ store: store.name, source, answer: await run(store.stats, source) }).toEqual({
        store: store.name,
        source,
        answer: expected,
      });
    }
  }
}

const q = (
  period: { from: number; to: number; timeZone: string },
  source: StatsSource,
  filters: StatsFilters = {},
) => ({
  ...period,
  source,
  filters,
});

describe("the rollups", () => {
  test(
    "every family holds exactly the raw rows per minute, hour, day (and week) and its key: backfilled, kept current, redelivery not counted",
    async () => {
      expect(stores.map((s) => s.name)).toEqual(["postgres", "clickhouse"]);
      const pgKey: Record<string, string> = {
        method: "request",
        endpoint: "coalesce(route, link)",
        status_class: "case when status between 200 and 599 then status / 100 else 0 end",
        is_bot: "coalesce(is_bot, false)",
      };
      const chKey: Record<string, string> = {
        method: "request",
        endpoint: "coalesce(route, link)",
        status_class: "if(ifNull(status, 0) BETWEEN 200 AND 599, intDiv(ifNull(status, 0), 100), 0)",
        is_bot: "coalesce(is_bot, false)",
      };
      const chRows = async (query: string) => {
        const rs = await ch.stats.client.query({ query, format: "JSONEachRow" });
        return (await rs.json<Record<string, unknown>>()).map((r) => ({ ...r, n: Number(r.n) }));
      };
      for (const { table, tier, columns } of ROLLUP_TABLES) {
        // Bins from a Monday (2000-01-03): weeks start on Monday, every other unit fits it too.
        const pgSelect = ["t", ...columns].map((c, i) => (i === 0 ? c : `${pgKey[c]} as ${c}`)).join(", ");
        const pgRaw = await pg.stats.sql.unsafe(`
          select ${pgSelect.replace(/^t/, `date_bin('1 ${tier}', footprint_time, timestamptz '2000-01-03Z') as t`)},
                 count(*)::int as n
          from user_footprint group by ${["t", ...columns].map((_, i) => i + 1).join(", ")} order by ${["t", ...columns].map((_, i) => i + 1).join(", ")}`);
        const pgRollup = await pg.stats.sql.unsafe(`
          select ${[`${tier} as t`, ...columns].join(", ")}, n::int as n from ${table} order by ${["t", ...columns].map((_, i) => i + 1).join(", ")}`);
        expect({ table, rows: pgRollup.map((r) => ({ ...r })) }).toEqual({ table, rows: pgRaw.map((r) => ({ ...r })) });
        expect(pgRaw.reduce((sum, r) => sum + r.n, 0)).toBe(everything.length);

        const start = { minute: "toStartOfMinute", hour: "toStartOfHour", day: "toStartOfDay", week: "toMonday" }[tier];
        const chRaw = await chRows(`
          SELECT ${[`toDateTime(${start}(footprint_time), 'UTC') AS t`, ...columns.map((c) => `${chKey[c]} AS ${c}`)].join(", ")},
                 count() AS n
          FROM user_footprint GROUP BY ALL ORDER BY ALL`);
        const chRollup = await chRows(`
          SELECT ${[`${tier} AS t`, ...columns].join(", ")}, sum(n) AS n FROM ${table} GROUP BY ALL ORDER BY ALL`);
        expect({ table, rows: chRollup }).toEqual({ table, rows: chRaw });
        expect(chRaw.reduce((sum, r) => sum + r.n, 0)).toBe(everything.length);
      }
    },
    SLOW,
  );
});

describe("Monday 2025-05-19 in Korea, worked out by hand", () => {
  test(
    "top: count, then method and endpoint in byte order; share of all 8",
    async () => {
      await expectEverywhere((db, source) => getTopEndpoints(db, { ...q(KST_DAY, source), limit: 10 }), {
        rows: [
          { method: "GET", endpoint: "/api/items/:id", count: 3, share: 0.375 },
          { method: "GET", endpoint: "/about", count: 2, share: 0.25 },
          { method: "DELETE", endpoint: "/api/items/:id", count: 1, share: 0.125 },
          { method: "GET", endpoint: "/api/items", count: 1, share: 0.125 },
          { method: "POST", endpoint: "/api/items", count: 1, share: 0.125 },
        ],
      });
      await expectEverywhere((db, source) => getTopEndpoints(db, { ...q(KST_DAY, source), limit: 2 }), {
        rows: [
          { method: "GET", endpoint: "/api/items/:id", count: 3, share: 0.375 },
          { method: "GET", endpoint: "/about", count: 2, share: 0.25 },
        ],
      });
    },
    SLOW,
  );

  test(
    "total: 00:00:00 KST is in, 23:59:59.999999 of the day before is in the previous day",
    async () => {
      await expectEverywhere((db, source) => getTotalCount(db, q(KST_DAY, source)), { count: 8, previous: 3 });
    },
    SLOW,
  );

  test(
    "filters: method (any case), route prefix, status class, bots",
    async () => {
      const cases: [StatsFilters, number][] = [
        [{ method: "get" }, 6],
        [{ method: "DELETE" }, 1],
        [{ route: "/api/items" }, 6],
        [{ route: "/api/items/" }, 4],
        [{ route: "/about" }, 2],
        [{ status: "2xx" }, 4],
        [{ status: "3xx" }, 1],
        [{ status: "5xx" }, 1],
        [{ excludeBots: true }, 7],
        [{ method: "GET", route: "/api/items", status: "2xx", excludeBots: true }, 2],
      ];
      for (const [filters, count] of cases) {
        await expectEverywhere(
          async (db, source) => (await getTotalCount(db, q(KST_DAY, source, filters))).count,
          count,
        );
      }
    },
    SLOW,
  );

  test(
    "time of day: hours and minutes in KST",
    async () => {
      const hours = new Array(24).fill(0);
      Object.assign(hours, { 0: 4, 8: 1, 12: 2, 23: 1 });
      const minutes = new Array(1440).fill(0);
      Object.assign(minutes, { 0: 3, 1: 1, 510: 1, 720: 2, 1439: 1 });
      await expectEverywhere((db, source) => getTimeOfDay(db, q(KST_DAY, source)), { hours, minutes });
    },
    SLOW,
  );

  test(
    "heatmap: everything on Monday",
    async () => {
      const monday = new Array(24).fill(0);
      Object.assign(monday, { 0: 4, 8: 1, 12: 2, 23: 1 });
      const empty = () => new Array(24).fill(0);
      await expectEverywhere((db, source) => getWeekdayHeatmap(db, q(KST_DAY, source)), {
        weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        cells: [monday, empty(), empty(), empty(), empty(), empty(), empty()],
      });
    },
    SLOW,
  );

  test(
    "timeseries: 24 hourly points from 00:00+09:00, empty hours included",
    async () => {
      const counts: Record<number, number> = { 0: 4, 8: 1, 12: 2, 23: 1 };
      const points = Array.from({ length: 24 }, (_, h) => ({
        t: `2025-05-19T${String(h).padStart(2, "0")}:00:00.000+09:00`,
        count: counts[h] ?? 0,
      }));
      await expectEverywhere((db, source) => getTimeseries(db, { ...q(KST_DAY, source), bucket: "hour" }), {
        bucket: "hour",
        points,
      });
    },
    SLOW,
  );

  test(
    "status classes: unknown status is other",
    async () => {
      await expectEverywhere((db, source) => getStatusClasses(db, q(KST_DAY, source)), {
        "2xx": 4,
        "3xx": 1,
        "4xx": 1,
        "5xx": 1,
        other: 1,
      });
    },
    SLOW,
  );

  test(
    "latency: exact interpolated percentiles, equal in both stores",
    async () => {
      // /api/items/:id: 2, 3, 7, 10 ms; /api/items: 1, 4 ms; /about has no durations.
      const expected = {
        rows: [
          { endpoint: "/api/items/:id", count: 4, p50: 5, p95: 9.55, p99: 9.91 },
          { endpoint: "/api/items", count: 2, p50: 2.5, p95: 3.85, p99: 3.97 },
        ],
      };
      for (const store of stores) {
        expect(await getLatencyPercentiles(store.stats, { ...KST_DAY, filters: {}, limit: 10 })).toEqual(expected);
      }
    },
    SLOW,
  );

  test(
    "a period cut inside minutes: rollup for whole minutes plus raw edges equals raw",
    async () => {
      // From 00:00:00.000001 (in) to 12:00:59.999999 (out): rows at 00:00:00.000001, 00:00:40,
      // 00:01:00, 08:30, 12:00:00.
      const cut = {
        from: at("2025-05-19T00:00:00.000001+09:00"),
        to: at("2025-05-19T12:00:59.999999+09:00"),
        timeZone: "Asia/Seoul",
      };
      await expectEverywhere(async (db, source) => (await getTotalCount(db, q(cut, source))).count, 5);
      const minutes = new Array(1440).fill(0);
      Object.assign(minutes, { 0: 2, 1: 1, 510: 1, 720: 1 });
      await expectEverywhere(async (db, source) => (await getTimeOfDay(db, q(cut, source))).minutes, minutes);
      // Two microseconds around midnight: both rows, from raw rows whatever the source.
      const midnight = {
        from: at("2025-05-18T23:59:59.999999+09:00"),
        to: at("2025-05-19T00:00:00.000001+09:00"),
        timeZone: "Asia/Seoul",
      };
      await expectEverywhere(async (db, source) => await getTotalCount(db, q(midnight, source)), {
        count: 2,
        previous: 0,
      });
    },
    SLOW,
  );
});

test(
  "top: a method that is a prefix of another or holds a dash, and non-ASCII endpoints, kept apart and in byte order",
  async () => {
    const period = { from: at("2023-03-01T00:00:00Z"), to: at("2023-03-02T00:00:00Z"), timeZone: "UTC" };
    await expectEverywhere((db, source) => getTopEndpoints(db, { ...q(period, source), limit: 10 }), {
      rows: [
        { method: "GE", endpoint: "T/a", count: 2, share: 0.25 },
        { method: "GET", endpoint: "/é", count: 2, share: 0.25 },
        { method: "GET", endpoint: "/a", count: 1, share: 0.125 },
        { method: "GET", endpoint: "/z", count: 1, share: 0.125 },
        { method: "GETX", endpoint: "/a", count: 1, share: 0.125 },
        { method: "M-SEARCH", endpoint: "/a", count: 1, share: 0.125 },
      ],
    });
  },
  SLOW,
);

describe("America/New_York across DST, worked out by hand", () => {
  const fallBackDay = {
    from: at("2025-11-02T00:00:00-04:00"),
    to: at("2025-11-03T00:00:00-05:00"),
    timeZone: "America/New_York",
  };
  const springDay = {
    from: at("2025-03-09T00:00:00-05:00"),
    to: at("2025-03-10T00:00:00-04:00"),
    timeZone: "America/New_York",
  };

  test(
    "fall back: both 01:30s in hour 1 of Sunday; the 25-hour day has 25 hourly points",
    async () => {
      const hours = new Array(24).fill(0);
      Object.assign(hours, { 0: 1, 1: 2, 2: 1, 23: 1 });
      await expectEverywhere(async (db, source) => (await getTimeOfDay(db, q(fallBackDay, source))).hours, hours);
      await expectEverywhere(
        async (db, source) => (await getWeekdayHeatmap(db, q(fallBackDay, source))).cells[6],
        hours,
      );
      const labels = [
        "00:00:00.000-04:00",
        "01:00:00.000-04:00",
        "01:00:00.000-05:00",
        ...Array.from({ length: 22 }, (_, i) => `${String(i + 2).padStart(2, "0")}:00:00.000-05:00`),
      ];
      const counts: Record<number, number> = { 0: 1, 1: 1, 2: 1, 3: 1, 24: 1 };
      await expectEverywhere((db, source) => getTimeseries(db, { ...q(fallBackDay, source), bucket: "hour" }), {
        bucket: "hour",
        points: labels.map((t, i) => ({ t: `2025-11-02T${t}`, count: counts[i] ?? 0 })),
      });
    },
    SLOW,
  );

  test(
    "spring forward: 01:59 EST then 03:00 EDT; the 23-hour day has 23 hourly points",
    async () => {
      const hours = new Array(24).fill(0);
      Object.assign(hours, { 1: 1, 3: 2 });
      await expectEverywhere(async (db, source) => (await getTimeOfDay(db, q(springDay, source))).hours, hours);
      const labels = [
        "00:00:00.000-05:00",
        "01:00:00.000-05:00",
        ...Array.from({ length: 21 }, (_, i) => `${String(i + 3).padStart(2, "0")}:00:00.000-04:00`),
      ];
      const counts: Record<number, number> = { 1: 1, 2: 2 };
      await expectEverywhere((db, source) => getTimeseries(db, { ...q(springDay, source), bucket: "hour" }), {
        bucket: "hour",
        points: labels.map((t, i) => ({ t: `2025-03-09T${t}`, count: counts[i] ?? 0 })),
      });
    },
    SLOW,
  );

  test(
    "day buckets start at local midnight with the offset then",
    async () => {
      const days = {
        from: at("2025-03-08T00:00:00-05:00"),
        to: at("2025-03-11T00:00:00-04:00"),
        timeZone: "America/New_York",
      };
      await expectEverywhere((db, source) => getTimeseries(db, { ...q(days, source), bucket: "day" }), {
        bucket: "day",
        points: [
          { t: "2025-03-08T00:00:00.000-05:00", count: 0 },
          { t: "2025-03-09T00:00:00.000-05:00", count: 3 },
          { t: "2025-03-10T00:00:00.000-04:00", count: 0 },
        ],
      });
    },
    SLOW,
  );
});

describe("random rows against the reference, across zones, filters and DST", () => {
  const period = { from: at(RANDOM_FROM), to: at(RANDOM_TO) };
  // Seoul without DST; New York falls back on 2024-11-03; India is +05:30; Lord Howe moves by
  // 30 minutes on 2024-10-06; Kathmandu is +05:45.
  const zones = ["Asia/Seoul", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"];
  const filterSets: StatsFilters[] = [
    {},
    { method: "get", excludeBots: true },
    { route: "/api/items/", status: "4xx" },
  ];

  /** Time of day, heatmap, day series and total against the reference, every store and source. */
  async function expectTimeStatistics(ref: { from: number; to: number; timeZone: string; filters: StatsFilters }) {
    await expectEverywhere((db, source) => getTimeOfDay(db, { ...ref, source }), referenceTimeOfDay(random, ref));
    await expectEverywhere(
      (db, source) => getWeekdayHeatmap(db, { ...ref, source }),
      referenceHeatmap(random, ref) as never,
    );
    await expectEverywhere(
      async (db, source) =>
        (await getTimeseries(db, { ...ref, source, bucket: "day" })).points.filter((p) => p.count > 0),
      referenceTimeseriesPoints(random, ref, "day"),
    );
    await expectEverywhere((db, source) => getTotalCount(db, { ...ref, source }), referenceTotal(random, ref));
  }

  test(
    "time of day, heatmap, day series and totals in every zone",
    async () => {
      for (const timeZone of zones) {
        await expectTimeStatistics({ ...period, timeZone, filters: {} });
      }
    },
    SLOW,
  );

  test(
    "the same under filters, read from the rollup of requests by kind or by endpoint",
    async () => {
      for (const timeZone of ["America/New_York", "Asia/Kathmandu"]) {
        for (const filters of filterSets.slice(1)) await expectTimeStatistics({ ...period, timeZone, filters });
      }
    },
    SLOW,
  );

  test(
    "hour and minute series in zones with odd offsets, cut inside minutes",
    async () => {
      const short = { from: at("2024-11-03T03:17:31.5Z"), to: at("2024-11-03T08:44:02Z") };
      for (const timeZone of zones) {
        const ref = { ...short, timeZone, filters: {} };
        for (const bucket of ["minute", "hour"] as const) {
          await expectEverywhere(
            async (db, source) =>
              (await getTimeseries(db, { ...ref, source, bucket })).points.filter((p) => p.count > 0),
            referenceTimeseriesPoints(random, ref, bucket),
          );
        }
      }
    },
    SLOW,
  );

  test(
    "a top-N whose period is cut inside hours and minutes: edges read only for the keys that can be in it, same answer",
    async () => {
      const cut = { from: at("2024-09-30T05:17:31.5Z"), to: at("2024-11-06T20:44:02Z") };
      for (const filters of filterSets) {
        for (const limit of [1, 3, 10]) {
          const ref = { ...cut, timeZone: "Asia/Seoul", filters };
          await expectEverywhere(
            (db, source) => getTopEndpoints(db, { ...ref, source, limit }),
            referenceTop(random, ref, limit),
          );
        }
      }
    },
    SLOW,
  );

  test(
    "top, total, status and latency under filters",
    async () => {
      for (const filters of filterSets) {
        const ref = { ...period, timeZone: "Asia/Seoul", filters };
        await expectEverywhere(
          (db, source) => getTopEndpoints(db, { ...ref, source, limit: 100 }),
          referenceTop(random, ref, 100),
        );
        await expectEverywhere((db, source) => getTotalCount(db, { ...ref, source }), referenceTotal(random, ref));
        await expectEverywhere((db, source) => getStatusClasses(db, { ...ref, source }), referenceStatus(random, ref));
        for (const store of stores) {
          expect({ store: store.name, answer: await getLatencyPercentiles(store.stats, { ...ref, limit: 5 }) }).toEqual(
            {
              store: store.name,
              answer: referenceLatency(random, ref, 5),
            },
          );
        }
      }
    },
    SLOW,
  );
});
