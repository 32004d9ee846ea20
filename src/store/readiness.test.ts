import { describe, expect, test } from "bun:test";
import { createFakeStore } from "../../test/support/fake-store.ts";
import { migrationsApplied, storeReadinessChecks } from "./readiness.ts";

describe("migrations check for /readyz", () => {
  test("fails naming each store that is behind, passes when none is", async () => {
    const ok = createFakeStore("postgres");
    const behind = createFakeStore("clickhouse", { pending: ["0005"] });
    await expect(migrationsApplied([ok])()).resolves.toBeUndefined();
    await expect(migrationsApplied([ok, behind])()).rejects.toThrow("pending: clickhouse 0005");
  });

  test("the stores' checks: one ping per store, then the migrations", async () => {
    const down = createFakeStore("clickhouse", {
      ping: async () => {
        throw new Error("connection refused");
      },
    });
    const checks = storeReadinessChecks([createFakeStore("postgres"), down]);
    expect(Object.keys(checks)).toEqual(["postgres", "clickhouse", "migrations"]);
    await expect(checks.postgres?.()).resolves.toBeUndefined();
    await expect(checks.clickhouse?.()).rejects.toThrow("connection refused");
    await expect(checks.migrations?.()).resolves.toBeUndefined();
  });
});
