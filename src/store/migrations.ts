import type { Migration } from "../../sql/index.ts";
import { AppError } from "../errors.ts";

/** Where a store's schema stands against the migrations this binary ships. */
export type MigrationStatus = {
  /** Shipped, not applied yet, in order. */
  pending: Migration[];
  /** Applied by a binary that knows migrations this one does not (sorted). */
  unknown: string[];
};

/** The one comparison of shipped and applied versions, for migrate, /readyz and doctor. */
export function migrationStatus(shipped: readonly Migration[], applied: Iterable<string>): MigrationStatus {
  const done = new Set(applied);
  const known = new Set(shipped.map((m) => m.version));
  return {
    pending: shipped.filter((m) => !done.has(m.version)),
    unknown: [...done].filter((v) => !known.has(v)).sort(),
  };
}

/** Versions shipped but not applied yet, in order (for /readyz). */
export function pendingVersions(shipped: readonly Migration[], applied: Iterable<string>): string[] {
  return migrationStatus(shipped, applied).pending.map((m) => m.version);
}

/** Runs each pending migration in order (`apply` runs its SQL and records it); returns the versions applied. */
export async function applyPending(
  shipped: readonly Migration[],
  applied: Iterable<string>,
  apply: (m: Migration) => Promise<void>,
): Promise<string[]> {
  const versions: string[] = [];
  for (const m of migrationStatus(shipped, applied).pending) {
    await apply(m);
    versions.push(m.version);
  }
  return versions;
}

/** A store's migrate(): any failure in `run`, connecting and bookkeeping included, is MIGRATION_FAILED. */
export async function migrationFailsAs(store: string, run: () => Promise<string[]>): Promise<string[]> {
  try {
    return await run();
  } catch (err) {
    throw new AppError("MIGRATION_FAILED", `${store} migration failed: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
}
