import { describe, expect, test } from "bun:test";
import { rowsAged } from "../../test/fixtures/store-rows.ts";
import type { EpochMicros } from "../time.ts";
import {
  MAX_SPANS,
  SPAN_GAP_MICROS,
  storedEventIdsQuery,
  timeSpans,
  uniqueByEventId,
} from "./clickhouse-first-arrivals.ts";

const at = (...micros: number[]) => micros as EpochMicros[];

describe("uniqueByEventId", () => {
  test("keeps the first row of each event_id, in order, whatever the case of the id", () => {
    const [a, b, c] = rowsAged(1, 3, "u");
    if (!a || !b || !c) throw new Error("three rows");
    const again = { ...a, link: "/second-copy", eventId: a.eventId.toUpperCase() };
    expect(uniqueByEventId([a, b, again, c, b])).toEqual([a, b, c]);
  });
});

describe("timeSpans", () => {
  test("live traffic is one span from the first to the last time, in any order", () => {
    expect(timeSpans(at(5_000_000, 1_000_000, 3_000_000))).toEqual([[1_000_000, 5_000_000]]);
  });

  test("times more than the gap apart are spans of their own", () => {
    const hourAgo = 10_000_000_000 - 3_600_000_000;
    expect(timeSpans(at(10_000_000_000, hourAgo, 10_000_500_000, hourAgo + 1))).toEqual([
      [hourAgo, hourAgo + 1],
      [10_000_000_000, 10_000_500_000],
    ]);
    expect(timeSpans(at(0, SPAN_GAP_MICROS))).toEqual([[0, SPAN_GAP_MICROS]]);
  });

  test("beyond the most spans, the closest neighbours are joined and every time stays covered", () => {
    const times = at(
      ...Array.from({ length: 40 }, (_, i) => i * 1_000 * SPAN_GAP_MICROS + (i % 3) * 5 * SPAN_GAP_MICROS),
    );
    const spans = timeSpans(times);
    expect(spans.length).toBe(MAX_SPANS);
    for (const t of times) expect(spans.some(([from, to]) => from <= t && t <= to)).toBe(true);
    for (let i = 1; i < spans.length; i++)
      expect((spans[i] as number[])[0]).toBeGreaterThan((spans[i - 1] as number[])[1] as number);
  });

  test("no times, no spans", () => {
    expect(timeSpans([])).toEqual([]);
  });
});

test("the lookup takes the ids and the span bounds as parameters, never in the SQL text", () => {
  const { query, params } = storedEventIdsQuery(
    ["0190b2f8-0000-7000-8000-000000000001"],
    [
      [1_000_000 as EpochMicros, 2_000_001 as EpochMicros],
      [90_000_000 as EpochMicros, 90_000_000 as EpochMicros],
    ],
  );
  expect(query).not.toContain("0190b2f8");
  expect(query).toContain("{from1:DateTime64(6, 'UTC')}");
  expect(params).toEqual({
    ids: [0x0190b2f8000070008000000000000001n],
    from0: "1970-01-01 00:00:01.000000",
    to0: "1970-01-01 00:00:02.000001",
    from1: "1970-01-01 00:01:30.000000",
    to1: "1970-01-01 00:01:30.000000",
  });
});
