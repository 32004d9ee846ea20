import { describe, expect, test } from "bun:test";
import postgres from "postgres";
import { rowsAged } from "../../test/fixtures/store-rows.ts";
import { useTestStore } from "../../test/support/test-store.ts";
import { deleteExpiredPostgres } from "./retention.ts";
import { ROLLUP_TABLES } from "./rollup-key.ts";

const DAY_MS = 86_400_000;

describe("retention on PostgreSQL (real server): batched delete of expired rows and rollup minutes", () => {
  const pg = useTestStore("postgres");
  const count = async (table: string, where = "true") =>
    Number((await pg.store.stats.sql.unsafe(`select count(*) as n from ${table} where ${where}`))[0]?.n);

  test("deletes rows older than the setting in batches, keeps newer ones, and the rollup follows", async () => {
    await pg.store.insertFootprints([...rowsAged(40, 25, "old"), ...rowsAged(31, 2, "old"), ...rowsAged(29, 3, "new")]);
    await pg.store.insertFootprints(rowsAged(0, 4, "now"));
    const rollupBefore = await count("user_footprint_minute");
    expect(rollupBefore).toBeGreaterThan(0);

    const outcome = await deleteExpiredPostgres(pg.store.stats.sql, 30, { batchSize: 10 }); // 27 rows: 3 batches

    expect(outcome).toEqual({ deleted: 27 });
    expect(await count("user_footprint", "link like '/old/%'")).toBe(0);
    expect(await count("user_footprint")).toBe(7);
    const sum = async (table: string) =>
      Number((await pg.store.stats.sql.unsafe(`select sum(n) as n from ${table}`))[0]?.n);
    // Every rollup of every family: minutes are cut where the raw rows are, so they still answer
    // like the raw rows; hour and day rows go once their whole bucket is past the cut (the 31-
    // and 40-day-old ones).
    // A week row (0010) goes the same way, once its whole week is past the cut: the week of the
    // 31-day-old rows is still open on most weekdays, and counts them until it is past too.
    const now = Date.now();
    const monday = (ms: number) => Math.floor((ms - 4 * DAY_MS) / (7 * DAY_MS)) * 7 * DAY_MS + 4 * DAY_MS;
    const open = (daysAgo: number) => monday(now - daysAgo * DAY_MS) + 7 * DAY_MS > now - 30 * DAY_MS;
    const cuts = { minute: "30 days", hour: "31 days", day: "31 days", week: "37 days" };
    for (const { table, tier } of ROLLUP_TABLES) {
      expect({ table, old: await count(table, `${tier} < now() - interval '${cuts[tier]}'`) }).toEqual({
        table,
        old: 0,
      });
      const kept = 7 + (tier === "week" ? (open(31) ? 2 : 0) + (open(40) ? 25 : 0) : 0);
      expect({ table, n: await sum(table) }).toEqual({ table, n: kept });
    }
  });

  test("without a setting nothing is deleted; through the Store it is the same job", async () => {
    await pg.store.insertFootprints(rowsAged(400, 3, "ancient"));
    expect(await pg.store.applyRetention?.(undefined)).toEqual({ deleted: 0 });
    expect(await count("user_footprint", "link like '/ancient/%'")).toBe(3);
    expect(await pg.store.applyRetention?.(365)).toEqual({ deleted: 3 });
  });

  test("while another process deletes, this one skips instead of waiting", async () => {
    await pg.store.insertFootprints(rowsAged(100, 2, "held"));
    const other = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const reserved = await other.reserve();
      await reserved`select pg_advisory_lock(${0x4546_5452})`;
      const outcome = await deleteExpiredPostgres(pg.store.stats.sql, 30);
      expect(outcome.skipped).toContain("another eft-footprint process");
      expect(await count("user_footprint", "link like '/held/%'")).toBe(2);
      await reserved`select pg_advisory_unlock(${0x4546_5452})`;
      reserved.release();
    } finally {
      await other.end({ timeout: 5 });
    }
    expect(await deleteExpiredPostgres(pg.store.stats.sql, 30)).toEqual({ deleted: 2 });
  });
});
