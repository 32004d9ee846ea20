import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import type { Store, StoreName } from "../store/store.ts";

/** A store's client as the statistics queries need it: each query has one implementation per kind. */
export type StatsDb = { kind: "postgres"; sql: postgres.Sql } | { kind: "clickhouse"; client: ClickHouseClient };

export type StatsStore = { name: StoreName; db: StatsDb };

/**
 * The statistics handle of a store made by createPostgresStore / createClickhouseStore (which
 * expose their client as `sql` / `client`); undefined for any other Store (test fakes).
 */
export function statsStoreOf(store: Store): StatsStore | undefined {
  const s = store as Store & { sql?: postgres.Sql; client?: ClickHouseClient };
  if (store.name === "postgres" && s.sql) return { name: "postgres", db: { kind: "postgres", sql: s.sql } };
  if (store.name === "clickhouse" && s.client)
    return { name: "clickhouse", db: { kind: "clickhouse", client: s.client } };
  return undefined;
}
