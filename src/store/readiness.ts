import type { Store } from "./store.ts";

/** A readiness check that fails while any store has migrations this binary ships but has not applied. */
export function migrationsApplied(stores: readonly Pick<Store, "name" | "pendingMigrations">[]): () => Promise<void> {
  return async () => {
    const pending = await Promise.all(
      stores.map(async (s) => ({ name: s.name, versions: await s.pendingMigrations() })),
    );
    const behind = pending.filter((p) => p.versions.length > 0);
    if (behind.length > 0) {
      throw new Error(`pending: ${behind.map((p) => `${p.name} ${p.versions.join(",")}`).join("; ")}`);
    }
  };
}

/** The stores' part of /readyz: each store answers its ping, and none has migrations pending. */
export function storeReadinessChecks(
  stores: readonly Pick<Store, "name" | "ping" | "pendingMigrations">[],
): Record<string, () => Promise<void>> {
  return {
    ...Object.fromEntries(stores.map((s) => [s.name, () => s.ping()])),
    migrations: migrationsApplied(stores),
  };
}
