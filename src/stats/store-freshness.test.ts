import { describe, expect, test } from "bun:test";
import { compareUpTo } from "./store-freshness.ts";

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
