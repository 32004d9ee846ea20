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

/**
 * A fresh PostgreSQL database and ClickHouse database `eft_bench_<random>` next to the configured
 * ones, migrated: the bench never reads or writes the user's tables. drop() removes both.
 */
export async function createBenchStores(config: Config): Promise<BenchStores> {
  const name = `eft_bench_${randomBytes(5).toString("hex")}`;
  const admin = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(config.postgres.url);
  url.pathname = `/${name}`;
  const pgUrl = url.toString();
  const pg = createPostgresStore({ url: pgUrl, max: 4 });
  const ch = createClickhouseStore({ ...config.clickhouse, database: name });
  const drop = async () => {
    await Promise.allSettled([pg.close(), ch.close()]);
    const a = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
    try {
      await a`drop database if exists ${a(name)} with (force)`;
    } finally {
      await a.end({ timeout: 5 });
    }
    const server = createClickhouseStore({ ...config.clickhouse, database: "default" });
    try {
      await server.stats.client.command({ query: `DROP DATABASE IF EXISTS ${name}` });
    } finally {
      await server.close();
    }
  };
  try {
    await pg.migrate();
    await ch.migrate();
  } catch (err) {
    await drop();
    throw err;
  }
  return { pg, ch, pgUrl, chDatabase: name, drop };
}
