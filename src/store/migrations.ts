import type { Migration } from "../../sql/index.ts";

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
