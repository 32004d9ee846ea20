import { describe, expect, test } from "bun:test";
import { parseTimestamp } from "../time.ts";
import { alignedTo, alignedUnit, formatInZone, minuteOf, offsetIn, zoneSegments } from "./zone.ts";

const at = (text: string) => parseTimestamp(text) as number;

describe("zoneSegments", () => {
  test("one segment for a zone without changes in the period", () => {
    const from = at("2025-01-01T00:00:00Z");
    expect(zoneSegments(from, at("2025-12-31T00:00:00Z"), "Asia/Seoul")).toEqual([
      { startMinute: minuteOf(from), offset: 540 },
    ]);
  });

  test("New York's two 2025 changes, to the minute", () => {
    const segments = zoneSegments(at("2025-01-01T00:00:00Z"), at("2025-12-31T00:00:00Z"), "America/New_York");
    expect(segments.map((s) => s.offset)).toEqual([-300, -240, -300]);
    expect(segments[1]?.startMinute).toBe(minuteOf(at("2025-03-09T07:00:00Z")));
    expect(segments[2]?.startMinute).toBe(minuteOf(at("2025-11-02T06:00:00Z")));
    expect(offsetIn(segments, minuteOf(at("2025-03-09T06:59:00Z")))).toBe(-300);
    expect(offsetIn(segments, minuteOf(at("2025-03-09T07:00:00Z")))).toBe(-240);
  });

  test("half-hour changes (Lord Howe) and quarter-hour offsets (Kathmandu)", () => {
    const lordHowe = zoneSegments(at("2024-09-01T00:00:00Z"), at("2024-11-01T00:00:00Z"), "Australia/Lord_Howe");
    expect(lordHowe.map((s) => s.offset)).toEqual([630, 660]);
    expect(lordHowe[1]?.startMinute).toBe(minuteOf(at("2024-10-05T15:30:00Z"))); // 02:00 local → 02:30
    expect(zoneSegments(at("2024-09-01T00:00:00Z"), at("2024-09-02T00:00:00Z"), "Asia/Kathmandu")).toEqual([
      { startMinute: minuteOf(at("2024-09-01T00:00:00Z")), offset: 345 },
    ]);
  });

  test("a period inside one minute still has its segment", () => {
    const from = at("2025-05-19T00:00:10Z");
    expect(zoneSegments(from, from + 1, "UTC")).toEqual([{ startMinute: minuteOf(from), offset: 0 }]);
  });
});

test("formatInZone: local time with its offset, microseconds only when present", () => {
  expect(formatInZone(at("2025-05-18T15:00:00Z"), 540)).toBe("2025-05-19T00:00:00.000+09:00");
  expect(formatInZone(at("2025-11-02T06:30:00.123456Z"), -300)).toBe("2025-11-02T01:30:00.123456-05:00");
  expect(formatInZone(at("2025-01-01T00:00:00Z"), 345)).toBe("2025-01-01T05:45:00.000+05:45");
});

test("alignedUnit: the coarsest UTC unit that stays within one local hour or day", () => {
  const unit = (zone: string, from: string, to: string) => alignedUnit(zoneSegments(at(from), at(to), zone));
  expect(unit("UTC", "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z")).toBe("day");
  expect(unit("Asia/Seoul", "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z")).toBe("hour");
  expect(unit("America/New_York", "2025-01-01T00:00:00Z", "2025-12-31T00:00:00Z")).toBe("hour");
  expect(unit("Asia/Kolkata", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")).toBe("minute");
  expect(unit("Australia/Lord_Howe", "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z")).toBe("minute");
});

test("alignedTo 15: the zones of the statistics tests, DST changes included, over 2000-2026; not an offset or change off the quarter hour", () => {
  const zones = ["Asia/Seoul", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"];
  for (const zone of zones) {
    const segments = zoneSegments(at("2000-01-01T00:00:00Z"), at("2026-12-31T00:00:00Z"), zone);
    expect({ zone, aligned: alignedTo(segments, 15) }).toEqual({ zone, aligned: true });
  }
  // Changes in the period are checked too: New York's fall back is at 06:00 UTC.
  expect(alignedTo(zoneSegments(at("2024-11-03T00:00:00Z"), at("2024-11-04T00:00:00Z"), "America/New_York"), 60)).toBe(
    true,
  );
  expect(alignedTo(zoneSegments(at("2025-01-01T00:00:00Z"), at("2025-02-01T00:00:00Z"), "Asia/Kathmandu"), 30)).toBe(
    false,
  );
  // Not every zone: St. John's changed at 00:01 local time until 2011 (03:31 UTC); Goose Bay,
  // Moncton, Gaza, Hebron and Casey also fail over 2000-2026 (checked over every zone Intl knows).
  expect(alignedTo(zoneSegments(at("2010-03-01T00:00:00Z"), at("2010-04-01T00:00:00Z"), "America/St_Johns"), 15)).toBe(
    false,
  );
  // An offset of 20 minutes (Amsterdam until 1940), or a change off the quarter hour, is not.
  expect(alignedTo([{ startMinute: 0, offset: 20 }], 15)).toBe(false);
  expect(
    alignedTo(
      [
        { startMinute: 0, offset: 60 },
        { startMinute: 1_000_007, offset: 0 },
      ],
      15,
    ),
  ).toBe(false);
});
