import { expect, test } from "bun:test";
import { parseTimestamp } from "../time.ts";
import { coarsestTier, holdsWholeMinute, planSlices, rollupFamily, splitEdges } from "./slices.ts";

const at = (text: string) => parseTimestamp(text) as number;

test("raw reads the period as it is", () => {
  expect(planSlices(at("2025-05-19T00:00:30Z"), at("2025-05-19T01:00:00Z"), "raw", "day")).toEqual([
    { table: "raw", from: at("2025-05-19T00:00:30Z"), to: at("2025-05-19T01:00:00Z") },
  ]);
});

test("rollup reads whole minutes from the minute rollup and the partial minutes at the edges from raw rows", () => {
  expect(planSlices(at("2025-05-19T00:00:30Z"), at("2025-05-19T00:05:00.000001Z"), "rollup")).toEqual([
    { table: "raw", from: at("2025-05-19T00:00:30Z"), to: at("2025-05-19T00:01:00Z") },
    { table: "minute", from: at("2025-05-19T00:01:00Z"), to: at("2025-05-19T00:05:00Z") },
    { table: "raw", from: at("2025-05-19T00:05:00Z"), to: at("2025-05-19T00:05:00.000001Z") },
  ]);
  expect(planSlices(at("2025-05-19T00:00:00Z"), at("2025-05-19T00:05:00Z"), "rollup")).toEqual([
    { table: "minute", from: at("2025-05-19T00:00:00Z"), to: at("2025-05-19T00:05:00Z") },
  ]);
});

test("coarser tiers take the middle: whole days, then hours, then minutes, then raw", () => {
  const slices = planSlices(at("2025-05-17T22:59:30Z"), at("2025-05-20T01:02:03Z"), "rollup", "day");
  expect(slices).toEqual([
    { table: "raw", from: at("2025-05-17T22:59:30Z"), to: at("2025-05-17T23:00:00Z") },
    { table: "hour", from: at("2025-05-17T23:00:00Z"), to: at("2025-05-18T00:00:00Z") },
    { table: "day", from: at("2025-05-18T00:00:00Z"), to: at("2025-05-20T00:00:00Z") },
    { table: "hour", from: at("2025-05-20T00:00:00Z"), to: at("2025-05-20T01:00:00Z") },
    { table: "minute", from: at("2025-05-20T01:00:00Z"), to: at("2025-05-20T01:02:00Z") },
    { table: "raw", from: at("2025-05-20T01:02:00Z"), to: at("2025-05-20T01:02:03Z") },
  ]);
  // No gaps, no overlaps.
  for (let i = 1; i < slices.length; i++) expect(slices[i]?.from).toBe(slices[i - 1]?.to as number);
  expect(planSlices(at("2025-05-17T22:59:30Z"), at("2025-05-20T01:02:03Z"), "rollup", "hour")[1]).toEqual({
    table: "hour",
    from: at("2025-05-17T23:00:00Z"),
    to: at("2025-05-20T01:00:00Z"),
  });
});

test("weeks start on Monday 00:00 UTC and take the middle of a long period where the family has them", () => {
  // Thursday 2025-05-01 12:00 to Wednesday 2025-05-21 00:30: the weeks of May 5 and 12 are whole.
  const slices = planSlices(at("2025-05-01T12:00:00Z"), at("2025-05-21T00:30:00Z"), "rollup", coarsestTier("endpoint"));
  expect(slices).toEqual([
    { table: "hour", from: at("2025-05-01T12:00:00Z"), to: at("2025-05-02T00:00:00Z") },
    { table: "day", from: at("2025-05-02T00:00:00Z"), to: at("2025-05-05T00:00:00Z") },
    { table: "week", from: at("2025-05-05T00:00:00Z"), to: at("2025-05-19T00:00:00Z") },
    { table: "day", from: at("2025-05-19T00:00:00Z"), to: at("2025-05-21T00:00:00Z") },
    { table: "minute", from: at("2025-05-21T00:00:00Z"), to: at("2025-05-21T00:30:00Z") },
  ]);
  // The kind and total families stop at days.
  expect(coarsestTier("kind")).toBe("day");
  expect(coarsestTier("total")).toBe("day");
  expect(planSlices(at("2025-05-01T12:00:00Z"), at("2025-05-21T00:30:00Z"), "rollup", "day")[1]).toEqual({
    table: "day",
    from: at("2025-05-02T00:00:00Z"),
    to: at("2025-05-21T00:00:00Z"),
  });
});

test("a period without a whole minute is raw whatever the source", () => {
  const from = at("2025-05-19T00:00:30Z");
  const to = at("2025-05-19T00:01:20Z");
  expect(planSlices(from, to, "rollup", "day")).toEqual([{ table: "raw", from, to }]);
  expect(holdsWholeMinute(from, to)).toBe(false);
  expect(holdsWholeMinute(from, at("2025-05-19T00:02:00Z"))).toBe(true);
  expect(planSlices(to, from, "rollup")).toEqual([]);
});

test("the family read holds the statistic's keys and every filter's column, and no more", () => {
  expect(rollupFamily("time", {})).toBe("total");
  expect(rollupFamily("time", { excludeBots: false })).toBe("total");
  expect(rollupFamily("time", { excludeBots: true })).toBe("kind");
  expect(rollupFamily("time", { method: "GET" })).toBe("kind");
  expect(rollupFamily("time", { status: "5xx" })).toBe("kind");
  expect(rollupFamily("kind", {})).toBe("kind");
  expect(rollupFamily("time", { route: "/api" })).toBe("endpoint");
  expect(rollupFamily("kind", { route: "/api", status: "2xx" })).toBe("endpoint");
  expect(rollupFamily("endpoint", {})).toBe("endpoint");
});

test("a top-N's edges are bounded by the whole UTC days they lie in, also when a slice crosses midnight", () => {
  const { whole, edges, bounds } = splitEdges(
    planSlices(at("2025-05-01T12:00:00Z"), at("2025-05-21T00:30:00Z"), "rollup", "week"),
  );
  expect(whole.map((s) => s.table)).toEqual(["day", "week", "day"]);
  expect(edges.map((s) => s.table)).toEqual(["hour", "minute"]);
  expect(bounds).toEqual([
    { table: "day", from: at("2025-05-01T00:00:00Z"), to: at("2025-05-02T00:00:00Z") },
    { table: "day", from: at("2025-05-21T00:00:00Z"), to: at("2025-05-22T00:00:00Z") },
  ]);
  // 23:00 to 01:00 holds no whole day: its hours lie in two days.
  const night = splitEdges(planSlices(at("2025-05-01T23:00:00Z"), at("2025-05-02T01:00:00Z"), "rollup", "week"));
  expect(night.whole).toEqual([]);
  expect(night.bounds.map((s) => s.from)).toEqual([at("2025-05-01T00:00:00Z"), at("2025-05-02T00:00:00Z")]);
});
