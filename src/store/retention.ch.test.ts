import { describe, expect, test } from "bun:test";
import { rowsAged } from "../../test/fixtures/store-rows.ts";
import { useTestStore } from "../../test/support/test-store.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { applyClickhouseTtl, readClickhouseTtlDays, startRetentionJob, ttlDaysOf } from "./retention.ts";
import { ROLLUP_TABLES } from "./rollup-key.ts";

const TABLES = ["user_footprint", ...ROLLUP_TABLES.map((r) => r.table)];
const ttls = (days: number | undefined) => new Map(TABLES.map((t) => [t, days]));

describe("retention on ClickHouse (real engine): TTL set, changed and removed from the setting", () => {
  const ch = useTestStore("clickhouse");
  const numberFrom = async (query: string) => {
    const rs = await ch.store.stats.client.query({ query, format: "JSONEachRow" });
    return Number((await rs.json<{ n: string | number }>())[0]?.n);
  };
  const count = (table: string) => numberFrom(`SELECT count() AS n FROM ${table}`);
  const rollupSum = (table: string) => numberFrom(`SELECT sum(n) AS n FROM ${table}`);
  const optimize = (table: string) => ch.store.stats.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  /** Expired rows may still sit in a part until a merge applies the TTL: force one, then look. */
  const mergeUntilLeft = async (rows: number, what: string) => {
    await optimize("user_footprint");
    await waitFor(
      what,
      () => count("user_footprint"),
      (n) => n === rows,
      30_000,
    );
  };

  test("a new schema has no TTL; applying 30 days sets it on the raw table and the rollup", async () => {
    expect(await readClickhouseTtlDays(ch.store.stats.client, ch.database)).toEqual(ttls(undefined));
    expect(await applyClickhouseTtl(ch.store.stats.client, ch.database, 30)).toEqual({
      ttlDays: { before: undefined, after: 30 },
    });
    expect(await readClickhouseTtlDays(ch.store.stats.client, ch.database)).toEqual(ttls(30));
  });

  test("rows past the TTL go (expired on insert, or by the TTL merge), newer ones stay, the rollup follows", async () => {
    await ch.store.insertFootprints([...rowsAged(0, 4, "now"), ...rowsAged(29, 3, "new"), ...rowsAged(45, 5, "old")]);
    await mergeUntilLeft(7, "expired rows gone");
    for (const { table } of ROLLUP_TABLES) {
      await optimize(table);
      // Whole minutes, hours and days past the cut are gone; the 29-day-old ones and today's stay.
      expect({ table, n: await rollupSum(table) }).toEqual({ table, n: 7 });
    }
  });

  test("a shorter setting rewrites the TTL and removes rows it now expires; unset removes the TTL", async () => {
    expect(await ch.store.applyRetention?.(10)).toEqual({ ttlDays: { before: 30, after: 10 } });
    expect((await readClickhouseTtlDays(ch.store.stats.client, ch.database)).get("user_footprint")).toBe(10);
    await mergeUntilLeft(4, "rows older than 10 days gone");

    expect(await ch.store.applyRetention?.(10)).toEqual({ ttlDays: { before: 10, after: 10 } }); // no ALTER
    expect(await ch.store.applyRetention?.(undefined)).toEqual({ ttlDays: { before: 10, after: undefined } });
    expect(await readClickhouseTtlDays(ch.store.stats.client, ch.database)).toEqual(ttls(undefined));
    await ch.store.insertFootprints(rowsAged(400, 2, "ancient"));
    expect(await count("user_footprint")).toBe(6);
  });

  test("the job applies the setting at once and logs only what changed", async () => {
    const lines: { msg: string; fields?: object }[] = [];
    const logger = {
      info: (msg: string, fields?: object) => lines.push({ msg, fields }),
      warn: (msg: string, fields?: object) => lines.push({ msg, fields }),
    };
    await startRetentionJob({ stores: [ch.store], days: 90, logger, signal: AbortSignal.abort() }).done;
    expect((await readClickhouseTtlDays(ch.store.stats.client, ch.database)).get("user_footprint")).toBe(90);
    expect(lines.map((l) => l.msg)).toEqual(["retention applied"]);
  });
});

describe("ttlDaysOf", () => {
  test("reads the day count out of ClickHouse's table definition", () => {
    expect(
      ttlDaysOf(
        "MergeTree PARTITION BY toYYYYMM(footprint_time) ORDER BY footprint_time TTL toStartOfMinute(toDateTime(footprint_time)) + toIntervalDay(30) SETTINGS index_granularity = 8192",
      ),
    ).toBe(30);
    expect(ttlDaysOf("MergeTree ORDER BY footprint_time SETTINGS index_granularity = 8192")).toBeUndefined();
    expect(ttlDaysOf("MergeTree ORDER BY t TTL t + toIntervalMonth(1)")).toBe(-1);
  });
});
