import { describe, expect, test } from "bun:test";
import type { StatsStore } from "./stats-db.ts";
import { compareUpTo, measureFreshness } from "./store-freshness.ts";

const TO = 1_747_630_000_000_000;

describe("compareUpTo: answers are compared up to the instant both stores hold", () => {
  test("one store behind: up to and including its newest footprint, and by how long", () => {
    expect(compareUpTo(TO, { postgres: TO - 1_000_000, clickhouse: TO - 3_500_000 })).toEqual({
      to: TO - 3_500_000 + 1,
      behind: { store: "clickhouse", ahead: "postgres", seconds: 2.5 },
    });
    expect(compareUpTo(TO, { postgres: TO - 9_000_000, clickhouse: TO - 1 })).toEqual({
      to: TO - 9_000_000 + 1,
      behind: { store: "postgres", ahead: "clickhouse", seconds: 8.999999 },
    });
  });

  test("both hold the same newest footprint: the whole period, nobody behind", () => {
    expect(compareUpTo(TO, { postgres: TO - 5, clickhouse: TO - 5 })).toEqual({ to: TO, behind: null });
    expect(compareUpTo(TO, { postgres: null, clickhouse: null })).toEqual({ to: TO, behind: null });
  });

  test("one holds nothing of the period yet: the whole period, and that one is behind by all of it", () => {
    expect(compareUpTo(TO, { postgres: TO - 5, clickhouse: null })).toEqual({
      to: TO,
      behind: { store: "clickhouse", ahead: "postgres", seconds: null },
    });
  });

  test("a store that could not be asked: nothing to compare", () => {
    expect(compareUpTo(TO, { postgres: TO - 5 })).toEqual({ to: TO, behind: null });
    expect(compareUpTo(TO, { postgres: TO - 5, clickhouse: undefined })).toEqual({ to: TO, behind: null });
  });
});

describe("measureFreshness", () => {
  test("a store that does not say its newest footprint in time is left out: nothing is compared", async () => {
    const answering = Object.assign(async () => [{ t: String(TO - 5) }], {}) as unknown;
    const stores = [
      { name: "postgres", stats: { kind: "postgres", sql: answering } },
      { name: "clickhouse", stats: { kind: "clickhouse", client: { query: () => new Promise(() => {}) } } },
    ] as unknown as StatsStore[];
    expect(await measureFreshness(stores, TO - 3_600_000_000, TO, 20)).toEqual({
      newest: { postgres: TO - 5, clickhouse: undefined },
      to: TO,
      behind: null,
    });
  });
});
