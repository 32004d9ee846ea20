import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/log.ts";
import { startRetentionJob } from "../../src/store/retention.ts";
import { migrateStores, openStores } from "./context.ts";

/**
 * `eft-footprint migrate`: applies pending migrations to both stores, then RETENTION_DAYS once
 * (ClickHouse TTL set or removed to match; PostgreSQL rows past it deleted), then exits.
 */
export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const stores = openStores(config);
  try {
    await migrateStores(stores, logger);
    const once = startRetentionJob({
      stores,
      days: config.retention.days,
      logger: logger.child({ component: "retention" }),
      signal: AbortSignal.abort(),
    });
    await once.done;
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}
