/**
 * A real store on a test database of its own (test/support/stack.ts), for the store and retention
 * tests: `openTestStore` for a test that migrates it itself, `useTestStore` for a describe block
 * whose tests share one migrated store.
 */
import { afterAll, beforeAll } from "bun:test";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";
import type { ClickhouseStore, PostgresStore, Store, StoreName } from "../../src/store/store.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase } from "./stack.ts";

export type TestStore<S extends Store> = {
  store: S;
  /** What a second connection needs: PostgreSQL's URL names the database, ClickHouse's does not. */
  url: string;
  database: string;
  /** Drops the database; close the store first. */
  drop(): Promise<void>;
};

/** A store of `kind` on a fresh database `eft_test_<random>`, not migrated yet. */
export function openTestStore(kind: "postgres"): Promise<TestStore<PostgresStore>>;
export function openTestStore(kind: "clickhouse"): Promise<TestStore<ClickhouseStore>>;
export function openTestStore(kind: StoreName): Promise<TestStore<Store>>;
export async function openTestStore(kind: StoreName): Promise<TestStore<Store>> {
  if (kind === "postgres") {
    const db = await createTestPostgresDatabase();
    const database = new URL(db.url).pathname.slice(1);
    return { store: createPostgresStore({ url: db.url }), url: db.url, database, drop: db.drop };
  }
  const db = await createTestClickhouseDatabase();
  const store = createClickhouseStore({ url: db.url, username: "default", password: "", database: db.database });
  return { store, ...db };
}

/**
 * One migrated store for the tests of the enclosing describe block: opened and migrated in its
 * beforeAll, closed and its database dropped in its afterAll. Read the members inside tests.
 */
export function useTestStore(kind: "postgres"): Omit<TestStore<PostgresStore>, "drop">;
export function useTestStore(kind: "clickhouse"): Omit<TestStore<ClickhouseStore>, "drop">;
export function useTestStore(kind: StoreName): Omit<TestStore<Store>, "drop"> {
  let opened: TestStore<Store> | undefined;
  beforeAll(async () => {
    opened = await openTestStore(kind);
    await opened.store.migrate();
  }, 60_000);
  afterAll(async () => {
    await opened?.store.close();
    await opened?.drop();
  });
  const current = () => {
    if (!opened) throw new Error(`the ${kind} test store is set up in beforeAll: read it inside a test`);
    return opened;
  };
  return {
    get store() {
      return current().store;
    },
    get url() {
      return current().url;
    },
    get database() {
      return current().database;
    },
  };
}
