/**
 * What every Store promises, run against each real store by its own test file
 * (src/store/postgres.pg.test.ts, src/store/clickhouse.ch.test.ts); what only one store does
 * stays in that store's file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Migration } from "../../sql/index.ts";
import type { Store } from "../../src/store/store.ts";
import { rowsAged, sampleRows, userFootprintColumns } from "../fixtures/store-rows.ts";

export type StoreUnderTest<S extends Store> = {
  /** The migrations the store ships, in order. */
  shipped: readonly Migration[];
  /** A store on a database of its own that nothing has migrated yet; drop() removes the database. */
  fresh(): Promise<{ store: S; drop(): Promise<void> }>;
  /** A store whose server does not answer. */
  unreachable(): S;
  /**
   * Every footprint in user_footprint by event_id, columns named as in the table, plus `micros`
   * (footprint_time in epoch µs, text), `kst` (it in Asia/Seoul, to the µs), `fresh` (execute_time
   * within the last minute) and `has_id`, both booleans.
   */
  readRows(store: S): Promise<Record<string, unknown>[]>;
};

export function describeStoreContract<S extends Store>(name: string, subject: StoreUnderTest<S>): void {
  const versions = subject.shipped.map((m) => m.version);

  describe(`${name}: the Store contract (real server)`, () => {
    let store: S;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      ({ store, drop } = await subject.fresh());
    }, 60_000);

    afterAll(async () => {
      await store?.close();
      await drop?.();
    });

    test("before the first migrate every shipped migration is pending and none applied", async () => {
      expect(await store.pendingMigrations()).toEqual(versions);
      expect(await store.appliedMigrations()).toEqual([]);
    });

    test("migrations apply once, then are a no-op; then none is pending", async () => {
      expect(await store.migrate()).toEqual(versions);
      expect(await store.migrate()).toEqual([]);
      expect((await store.appliedMigrations()).sort()).toEqual(versions);
      expect(await store.pendingMigrations()).toEqual([]);
    });

    test("a batch lands with the right values and the exact instants", async () => {
      const rows = sampleRows();
      await store.insertFootprints(rows);
      const stored = await subject.readRows(store);
      expect(stored).toEqual(
        rows.map((r) => ({
          ...userFootprintColumns(r),
          bytes_out: r.bytesOut === null ? null : String(r.bytesOut),
          micros: String(r.footprintTime),
          kst: expect.any(String),
          fresh: true,
          has_id: true,
        })),
      );
      expect(stored[0]?.kst).toBe("2025-05-19T13:45:30.123456");
      expect(stored[1]?.kst).toBe("2025-05-19T00:00:00.000001");
      expect(await store.countFootprints()).toBe(rows.length);
    });

    test("a batch delivered again with the same identity is stored once", async () => {
      const batch = rowsAged(1, 3, "again");
      const before = await store.countFootprints();
      await store.insertFootprints(batch, { token: "contract/0/0-2" });
      await store.insertFootprints(batch, { token: "contract/0/0-2" });
      expect(await store.countFootprints()).toBe(before + 3);
    });

    test("an event_id delivered again in another batch, or twice in one batch, is stored once", async () => {
      const first = rowsAged(1, 3, "resent");
      const before = await store.countFootprints();
      await store.insertFootprints(first, { token: "contract/1/0-2" });
      // A producer's resend: the same events at other offsets, so in a batch of another identity,
      // beside a new one; and a batch holding one event twice.
      const [fresh, twice] = rowsAged(1, 2, "fresh");
      if (!fresh || !twice) throw new Error("two rows");
      await store.insertFootprints([first[1], fresh, first[0]] as typeof first, { token: "contract/2/0-2" });
      await store.insertFootprints([twice, { ...twice, link: "/copy" }], { token: "contract/2/3-4" });
      expect(await store.countFootprints()).toBe(before + 5);
    });

    test("without a retention setting nothing is removed", async () => {
      const before = await store.countFootprints();
      await store.insertFootprints(rowsAged(400, 2, "ancient"), { token: "contract/0/3-4" });
      await store.applyRetention(undefined);
      expect(await store.countFootprints()).toBe(before + 2);
    });

    test("describe: the server's version, the database, the rows in user_footprint", async () => {
      const description = await store.describe();
      expect(description.serverVersion).toMatch(/^\d+\.\d+/);
      expect(description.databaseExists).toBe(true);
      expect(description.footprintRows).toEqual(expect.any(Number));
    });

    test("the statistics handle is of the store's kind, and the store answers its ping", async () => {
      expect(store.stats.kind).toBe(store.name);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    test("a store on an unreachable server fails its ping", async () => {
      const dead = subject.unreachable();
      try {
        await expect(dead.ping()).rejects.toBeDefined();
      } finally {
        await dead.close().catch(() => {});
      }
    });
  });
}
