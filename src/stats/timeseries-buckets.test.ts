import { expect, test } from "bun:test";
import { parseTimestamp } from "../time.ts";
import { autoBucket, listBuckets, MAX_POINTS } from "./timeseries-buckets.ts";
import { zoneSegments } from "./zone.ts";

const at = (text: string) => parseTimestamp(text) as number;

function labels(from: string, to: string, kind: "minute" | "hour" | "day", timeZone: string) {
  const f = at(from);
  const t = at(to);
  return listBuckets(f, t, kind, timeZone, zoneSegments(f, t, timeZone))?.map((b) => b.t);
}

test("auto bucket by the period's length", () => {
  const from = at("2025-05-19T00:00:00Z");
  const hour = 3_600_000_000;
  expect(autoBucket(from, from + 6 * hour)).toBe("minute");
  expect(autoBucket(from, from + 6 * hour + 1)).toBe("hour");
  expect(autoBucket(from, from + 14 * 24 * hour)).toBe("hour");
  expect(autoBucket(from, from + 14 * 24 * hour + 1)).toBe("day");
});

test("a bucket that starts before the period is listed with its own start", () => {
  expect(labels("2025-05-19T00:30:00+09:00", "2025-05-19T02:00:00+09:00", "hour", "Asia/Seoul")).toEqual([
    "2025-05-19T00:00:00.000+09:00",
    "2025-05-19T01:00:00.000+09:00",
  ]);
});

test("hours in a zone with a half-hour offset start at its local :00", () => {
  expect(labels("2025-05-19T00:00:00Z", "2025-05-19T02:00:00Z", "hour", "Asia/Kolkata")).toEqual([
    "2025-05-19T05:00:00.000+05:30",
    "2025-05-19T06:00:00.000+05:30",
    "2025-05-19T07:00:00.000+05:30",
  ]);
});

test("Lord Howe's half-hour DST change: a 30-minute local hour, then whole ones", () => {
  // 2024-10-06 02:00 +10:30 becomes 02:30 +11:00.
  expect(labels("2024-10-06T01:00:00+10:30", "2024-10-06T04:00:00+11:00", "hour", "Australia/Lord_Howe")).toEqual([
    "2024-10-06T01:00:00.000+10:30",
    "2024-10-06T02:00:00.000+11:00",
    "2024-10-06T03:00:00.000+11:00",
  ]);
});

test("days are local calendar days, 23 or 25 hours around DST", () => {
  expect(labels("2025-10-31T00:00:00-04:00", "2025-11-04T00:00:00-05:00", "day", "America/New_York")).toEqual([
    "2025-10-31T00:00:00.000-04:00",
    "2025-11-01T00:00:00.000-04:00",
    "2025-11-02T00:00:00.000-04:00",
    "2025-11-03T00:00:00.000-05:00",
  ]);
});

test("a day whose midnight does not exist starts when the clocks jump (Santiago, 2024-09-08)", () => {
  // 00:00 -04:00 became 01:00 -03:00.
  expect(labels("2024-09-07T12:00:00-04:00", "2024-09-08T12:00:00-03:00", "day", "America/Santiago")).toEqual([
    "2024-09-07T00:00:00.000-04:00",
    "2024-09-08T01:00:00.000-03:00",
  ]);
});

test(`more than ${MAX_POINTS} points is refused`, () => {
  expect(labels("2025-05-01T00:00:00Z", "2025-05-04T11:20:00Z", "minute", "UTC")).toHaveLength(MAX_POINTS);
  expect(labels("2025-05-01T00:00:00Z", "2025-05-04T11:20:00.000001Z", "minute", "UTC")).toBeUndefined();
});
