import { describe, expect, test } from "bun:test";
import { clickhouseMigrations } from "../../sql/index.ts";
import { rowsAged, sampleRows, userFootprintColumns, variedRows } from "../../test/fixtures/store-rows.ts";
import { describeStoreContract } from "../../test/support/store-contract.ts";
import { openTestStore, useTestStore } from "../../test/support/test-store.ts";
import { createClickhouseStore, splitStatements } from "./clickhouse.ts";
import { ROLLUP_TABLES } from "./rollup-key.ts";
import type { ClickhouseStore } from "./store.ts";

describeStoreContract("ClickHouse store", {
  shipped: clickhouseMigrations,
  async fresh() {
    const opened = await openTestStore("clickhouse");
    // The store creates its database itself: drop the helper's so creation is exercised too.
    await opened.drop();
    return opened;
  },
  unreachable: () =>
    createClickhouseStore({ url: "http://127.0.0.1:9", username: "default", password: "", database: "x" }),
  async readRows(store) {
    const rs = await store.stats.client.query({
      query: `SELECT toString(event_id) AS event_id, request, link, route, status, duration_ms,
                query, host, user_agent, referrer, ip_hash, is_bot, toString(bytes_out) AS bytes_out,
                toString(toUnixTimestamp64Micro(footprint_time)) AS micros,
                formatDateTime(toTimeZone(footprint_time, 'Asia/Seoul'), '%Y-%m-%dT%H:%i:%S.%f') AS kst,
                execute_time > now64(3) - INTERVAL 1 MINUTE AS fresh,
                id != toUUID('00000000-0000-0000-0000-000000000000') AS has_id
              FROM user_footprint ORDER BY event_id`,
      format: "JSONEachRow",
    });
    // ClickHouse booleans are UInt8.
    return (await rs.json<Record<string, unknown>>()).map((r) => ({
      ...r,
      fresh: r.fresh === 1,
      has_id: r.has_id === 1,
    }));
  },
});

describe("ClickHouse store (real engine over HTTP)", () => {
  const ch = useTestStore("clickhouse");
  const aboutTestDatabase = async (query: string) =>
    (await ch.store.stats.client.query({ query, query_params: { db: ch.database }, format: "JSONEachRow" })).json();

  test("every value comes back exactly as inserted (RowBinary body), whatever the text, numbers or time hold", async () => {
    const rows = variedRows();
    await ch.store.insertFootprints(rows, { token: `varied/${rows.length}` });
    const rs = await ch.store.stats.client.query({
      query: `SELECT toString(event_id) AS event_id, request, link, route, status, duration_ms, query, host,
                user_agent, referrer, ip_hash, is_bot, bytes_out, toString(toUnixTimestamp64Micro(footprint_time)) AS micros
              FROM user_footprint WHERE event_id IN {ids:Array(String)} ORDER BY event_id`, // the alias, text
      query_params: { ids: rows.map((r) => r.eventId) },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const byId = (a: { event_id: string }, b: { event_id: string }) => (a.event_id < b.event_id ? -1 : 1);
    expect(await rs.json()).toEqual(
      rows.map((r) => ({ ...userFootprintColumns(r), micros: String(r.footprintTime) })).sort(byId),
    );
  });

  test("the seed's table keeps its columns, engine, partitioning and order", async () => {
    expect(
      await aboutTestDatabase(
        "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'user_footprint' ORDER BY position",
      ),
    ).toEqual([
      { name: "id", type: "UUID" },
      { name: "link", type: "String" },
      { name: "request", type: "LowCardinality(String)" },
      { name: "footprint_time", type: "DateTime64(6, 'UTC')" },
      { name: "execute_time", type: "DateTime64(3, 'UTC')" },
      { name: "event_id", type: "UUID" },
      { name: "route", type: "LowCardinality(Nullable(String))" },
      { name: "status", type: "Nullable(UInt16)" },
      { name: "duration_ms", type: "Nullable(Float64)" },
      { name: "query", type: "Nullable(String)" },
      { name: "host", type: "LowCardinality(Nullable(String))" },
      { name: "user_agent", type: "Nullable(String)" },
      { name: "referrer", type: "Nullable(String)" },
      { name: "ip_hash", type: "Nullable(String)" },
      { name: "is_bot", type: "Nullable(Bool)" },
      { name: "bytes_out", type: "Nullable(UInt64)" },
    ]);
    expect(
      await aboutTestDatabase(
        "SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = {db:String} AND name = 'user_footprint'",
      ),
    ).toEqual([{ engine: "MergeTree", partition_key: "toYYYYMM(footprint_time)", sorting_key: "footprint_time" }]);
  });
});

test("splitStatements drops comment lines and splits on statement ends", () => {
  expect(splitStatements("-- a; comment\nCREATE TABLE a (x String COMMENT 'x;y');\n\nSELECT 1;\n")).toEqual([
    "CREATE TABLE a (x String COMMENT 'x;y')",
    "SELECT 1",
  ]);
});

/** The requests every rollup counts (before any merge); all equal, or the first that differs shows. */
async function rollupTotalOf(store: ClickhouseStore): Promise<number> {
  const totals = new Map<string, number>();
  for (const { table } of ROLLUP_TABLES) {
    const rs = await store.stats.client.query({ query: `SELECT sum(n) AS n FROM ${table}`, format: "JSONEachRow" });
    const [row] = await rs.json<{ n: string | number }>();
    totals.set(table, Number(row?.n ?? 0));
  }
  const first = totals.get(ROLLUP_TABLES[0]?.table as string) as number;
  expect(Object.fromEntries(totals)).toEqual(Object.fromEntries([...totals.keys()].map((t) => [t, first])));
  return first;
}

describe("ClickHouse store: a batch written twice is stored once (migration 0005)", () => {
  const ch = useTestStore("clickhouse");
  const rollupTotal = () => rollupTotalOf(ch.store);

  test("every table a consumer insert reaches has a deduplication window (views' targets included)", async () => {
    // Without it a redelivered batch is dropped in user_footprint but counted again in a rollup.
    const rs = await ch.store.stats.client.query({
      query: `SELECT name, engine_full FROM system.tables
              WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND name != 'eft_schema_migrations'`,
      format: "JSONEachRow",
    });
    const tables = await rs.json<{ name: string; engine_full: string }>();
    expect(tables.map((t) => t.name)).toContain("user_footprint");
    expect(
      tables.filter((t) => !/non_replicated_deduplication_window = [1-9]/.test(t.engine_full)).map((t) => t.name),
    ).toEqual([]);
  });

  test("the same token is dropped, in the table and in the per-minute view; another token is not", async () => {
    const rows = sampleRows();
    await ch.store.insertFootprints(rows, { token: "t/0/0-2" });
    await ch.store.insertFootprints(rows, { token: "t/0/0-2" });
    expect(await ch.store.countFootprints()).toBe(3);
    expect(await rollupTotal()).toBe(3);
    // The token alone decides: a redelivered batch is dropped even if it were cut differently.
    await ch.store.insertFootprints(rows.slice(0, 1), { token: "t/0/0-2" });
    expect(await ch.store.countFootprints()).toBe(3);
    // Different messages with equal per-minute aggregates are both counted.
    const other = sampleRows().map((r, i) => ({ ...r, eventId: `0190b2f8-0000-7000-8000-00000000010${i}` }));
    await ch.store.insertFootprints(other, { token: "t/0/3-5" });
    expect(await ch.store.countFootprints()).toBe(6);
    expect(await rollupTotal()).toBe(6);
    // Inserts without a token (bulk loads): equal aggregates in the views are not taken for repeats.
    for (const batch of [7, 8]) {
      const more = sampleRows().map((r, i) => ({ ...r, eventId: `0190b2f8-0000-7000-8000-0000000001${batch}${i}` }));
      await ch.store.insertFootprints(more);
    }
    expect(await ch.store.countFootprints()).toBe(12);
    expect(await rollupTotal()).toBe(12);
  });
});

describe("ClickHouse store: an event_id is counted once whatever repeated it (first arrivals)", () => {
  const ch = useTestStore("clickhouse");
  /** Rows in user_footprint and in every rollup, which must agree. */
  const counted = async () => {
    const rows = await ch.store.countFootprints();
    expect(await rollupTotalOf(ch.store)).toBe(rows);
    return rows;
  };
  const distinctIds = async () => {
    const rs = await ch.store.stats.client.query({
      query: "SELECT uniqExact(event_id) AS n FROM user_footprint",
      format: "JSONEachRow",
    });
    return Number((await rs.json<{ n: string }>())[0]?.n);
  };

  test("the same events in a batch of another identity (a producer's resend) are stored and counted once", async () => {
    const before = await counted();
    const sent = rowsAged(2, 5, "resend");
    await ch.store.insertFootprints(sent, { token: "first-arrivals/0/0-4" });
    // The resend sits at other offsets, beside new events, in another order.
    const fresh = rowsAged(2, 2, "after-resend").map((r) => ({ ...r, footprintTime: r.footprintTime + 500_000 }));
    await ch.store.insertFootprints([...fresh, ...sent.slice().reverse()], { token: "first-arrivals/1/0-6" });
    expect(await counted()).toBe(before + 7);
    expect(await distinctIds()).toBe(before + 7);
  });

  test("an event twice in one batch is stored and counted once (the first copy)", async () => {
    const before = await counted();
    const [a, b] = rowsAged(3, 2, "inside");
    if (!a || !b) throw new Error("two rows");
    await ch.store.insertFootprints([a, b, { ...a, link: "/second-copy" }, a], { token: "first-arrivals/2/0-3" });
    expect(await counted()).toBe(before + 2);
    const rs = await ch.store.stats.client.query({
      query: "SELECT link FROM user_footprint WHERE event_id = {id:UUID}",
      query_params: { id: a.eventId },
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ link: a.link }]);
  });

  test("a redelivered batch is still dropped whole, also when part of it had arrived before", async () => {
    const before = await counted();
    const [r1, r2, r3, r4] = rowsAged(4, 4, "redelivered");
    if (!r1 || !r2 || !r3 || !r4) throw new Error("four rows");
    await ch.store.insertFootprints([r1, r2], { token: "first-arrivals/3/0-1" });
    // This batch writes r3 and r4 only, under its token; delivered again after a crash, the same
    // messages give the same token and find r3 and r4 stored: nothing is written twice.
    const batch = [r2, r3, r1, r4];
    await ch.store.insertFootprints(batch, { token: "first-arrivals/4/0-3" });
    await ch.store.insertFootprints(batch, { token: "first-arrivals/4/0-3" });
    expect(await counted()).toBe(before + 4);
    // And the token alone still decides when nothing could be looked up (rows of another time).
    const moved = batch.map((r) => ({ ...r, footprintTime: r.footprintTime - 86_400_000_000 }));
    await ch.store.insertFootprints(moved, { token: "first-arrivals/4/0-3" });
    expect(await counted()).toBe(before + 4);
  });

  test("a copy is found in a batch that also holds events a month newer (one span each)", async () => {
    const before = await counted();
    const old = rowsAged(30, 3, "month-old");
    await ch.store.insertFootprints(old, { token: "first-arrivals/5/0-2" });
    const today = rowsAged(0, 3, "today");
    await ch.store.insertFootprints([...today, old[1] as (typeof old)[number]], { token: "first-arrivals/6/0-3" });
    expect(await counted()).toBe(before + 6);
  });
});
