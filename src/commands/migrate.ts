import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import { migrateStores, openStores } from "./context.ts";

/** `eft-footprint migrate`: applies pending migrations to both stores, then exits. */
export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const stores = openStores(config);
  try {
    await migrateStores(stores, logger);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}
