import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import type { Store } from "../store/store.ts";

export type PostgresStatsDb = { kind: "postgres"; sql: postgres.Sql };
export type ClickhouseStatsDb = { kind: "clickhouse"; client: ClickHouseClient };

/** A store's client as the statistics queries need it: each query has one implementation per kind. */
export type StatsDb = PostgresStatsDb | ClickhouseStatsDb;

/** What the stats API needs of a store: its name (for the answer) and its statistics handle. */
export type StatsStore = Pick<Store, "name" | "stats">;
