import type { StatsDb } from "../../src/stats/stats-db.ts";
import type { FootprintRow, Store, StoreName } from "../../src/store/store.ts";

export type FakeStore = Store & { readonly rows: FootprintRow[] };

/**
 * A migrated store with no server behind it, for tests of what sits on top of the Store
 * interface: rows are kept in memory (once per event_id, as the real stores keep them);
 * `overrides` replace any member, e.g. an insert that fails. Its statistics handle throws when
 * used: tests of the stats API fake the queries instead (routes/stats.test.ts), and the queries
 * themselves run on real stores (src/stats/stats.pg.test.ts).
 */
export function createFakeStore(
  name: StoreName,
  overrides: Partial<Store> & { pending?: string[]; applied?: string[] } = {},
): FakeStore {
  const { pending = [], applied = [], ...members } = overrides;
  const rows: FootprintRow[] = [];
  return {
    name,
    stats: noDatabase(name),
    rows,
    migrate: async () => [],
    appliedMigrations: async () => applied,
    pendingMigrations: async () => pending,
    async insertFootprints(batch) {
      const stored = new Set(rows.map((r) => r.eventId));
      rows.push(...batch.filter((r) => !stored.has(r.eventId)));
    },
    countFootprints: async () => rows.length,
    applyRetention: async () => ({}),
    describe: async () => ({ serverVersion: "fake", databaseExists: true, footprintRows: rows.length }),
    ping: async () => {},
    close: async () => {},
    ...members,
  };
}

function noDatabase(name: StoreName): StatsDb {
  const fail = () => {
    throw new Error(`the fake ${name} store has no database to query: fake the stats queries instead`);
  };
  // Throws on any use: called as a tagged template (postgres.js) or a method read (ClickHouse).
  const handle = new Proxy(fail, { get: fail, apply: fail });
  return name === "postgres"
    ? { kind: "postgres", sql: handle as unknown as Extract<StatsDb, { kind: "postgres" }>["sql"] }
    : { kind: "clickhouse", client: handle as unknown as Extract<StatsDb, { kind: "clickhouse" }>["client"] };
}
