import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { Config } from "../../src/config.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";

export type BenchStores = {
  pg: ReturnType<typeof createPostgresStore>;
  ch: ReturnType<typeof createClickhouseStore>;
  pgUrl: string;
  chDatabase: string;
  drop(): Promise<void>;
};

/** A fresh PostgreSQL database `name` next to the configured one (not migrated); drop() removes it. */
export async function createBenchPostgres(
  config: Config,
  name = benchDatabaseName(),
  max = 4,
): Promise<{ pg: ReturnType<typeof createPostgresStore>; pgUrl: string; drop(): Promise<void> }> {
  const admin = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(config.postgres.url);
  url.pathname = `/${name}`;
  const pg = createPostgresStore({ url: url.toString(), max });
  const drop = async () => {
    await pg.close().catch(() => {});
    const a = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
    try {
      await a`drop database if exists ${a(name)} with (force)`;
    } finally {
      await a.end({ timeout: 5 });
    }
  };
  return { pg, pgUrl: url.toString(), drop };
}

function benchDatabaseName(): string {
  return `eft_bench_${randomBytes(5).toString("hex")}`;
}

/**
 * A fresh PostgreSQL database and ClickHouse database `eft_bench_<random>` next to the configured
 * ones, migrated: the bench never reads or writes the user's tables. drop() removes both.
 * `clickhouseTimeoutMs`: for statements that run longer than the client's 30 s (bulk loads);
 * `migrate`: the stores to migrate (both by default; a store not used need not wait for its server).
 */
export async function createBenchStores(
  config: Config,
  options: { clickhouseTimeoutMs?: number; migrate?: readonly ("postgres" | "clickhouse")[] } = {},
): Promise<BenchStores> {
  const name = benchDatabaseName();
  const { pg, pgUrl, drop: dropPostgres } = await createBenchPostgres(config, name);
  const ch = createClickhouseStore({
    ...config.clickhouse,
    database: name,
    requestTimeoutMs: options.clickhouseTimeoutMs,
  });
  const drop = async () => {
    await ch.close().catch(() => {});
    await dropPostgres();
    const server = createClickhouseStore({ ...config.clickhouse, database: "default" });
    try {
      await server.stats.client.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    } finally {
      await server.close();
    }
  };
  try {
    const migrate = options.migrate ?? ["postgres", "clickhouse"];
    if (migrate.includes("postgres")) await pg.migrate();
    if (migrate.includes("clickhouse")) await ch.migrate();
  } catch (err) {
    await drop();
    throw err;
  }
  return { pg, ch, pgUrl, chDatabase: name, drop };
}
