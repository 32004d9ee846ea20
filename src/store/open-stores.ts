import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { createClickhouseStore } from "./clickhouse.ts";
import { createPostgresStore } from "./postgres.ts";
import type { Store } from "./store.ts";

/** Both stores as configured, PostgreSQL first. */
export function openStores(config: Config): Store[] {
  return [createPostgresStore({ url: config.postgres.url }), createClickhouseStore(config.clickhouse)];
}

export async function migrateStores(stores: readonly Store[], logger: Logger): Promise<void> {
  for (const store of stores) {
    const applied = await store.migrate();
    logger.info(applied.length ? "migrations applied" : "schema up to date", { store: store.name, applied });
  }
}
