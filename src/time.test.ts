import { describe, expect, test } from "bun:test";
import {
  formatIsoUtc,
  formatOffset,
  formatUtc,
  formatZoned,
  offsetMinutes,
  parseTimestamp,
  parseTimestampByPattern,
  wallClock,
} from "./time.ts";

const instant = Date.UTC(2025, 4, 19, 4, 45, 30, 123) * 1000 + 456;

describe("time", () => {
  test("formats the wire format in Korea time with microseconds", () => {
    expect(formatZoned(instant, "Asia/Seoul")).toBe("2025-05-19T13:45:30.123456+09:00");
  });

  test("formats zones west of UTC, half-hour zones and DST", () => {
    expect(formatZoned(instant, "America/New_York")).toBe("2025-05-19T00:45:30.123456-04:00");
    expect(formatZoned(Date.UTC(2025, 0, 1) * 1000, "America/New_York")).toBe("2024-12-31T19:00:00.000000-05:00");
    expect(formatZoned(instant, "Asia/Kolkata")).toBe("2025-05-19T10:15:30.123456+05:30");
    expect(offsetMinutes(Date.UTC(2025, 2, 9, 6, 59, 59), "America/New_York")).toBe(-300);
    expect(offsetMinutes(Date.UTC(2025, 2, 9, 7, 0, 0), "America/New_York")).toBe(-240);
  });

  test("reads the wall clock of a zone and writes offsets as ISO-8601 does", () => {
    expect(wallClock(Math.floor(instant / 1000), "Asia/Seoul")).toEqual({
      year: 2025,
      month: 5,
      day: 19,
      hour: 13,
      minute: 45,
      second: 30,
    });
    expect(wallClock(Date.UTC(2025, 0, 1), "America/New_York")).toMatchObject({ year: 2024, day: 31, hour: 19 });
    expect([540, 0, -240, 330, -210].map(formatOffset)).toEqual(["+09:00", "+00:00", "-04:00", "+05:30", "-03:30"]);
  });

  test("round-trips through parse for many instants", () => {
    for (let i = 0; i < 1000; i++) {
      const t = Math.floor(Math.random() * 4e15);
      for (const zone of ["Asia/Seoul", "UTC", "America/Los_Angeles"]) {
        expect(parseTimestamp(formatZoned(t, zone))).toBe(t);
      }
      expect(parseTimestamp(formatIsoUtc(t))).toBe(t);
    }
  });

  test("parses offsets without colon, lower-case z, and truncates nanoseconds", () => {
    expect(parseTimestamp("2025-05-19T13:45:30.123456+0900")).toBe(instant);
    expect(parseTimestamp("2025-05-19T04:45:30.123456789z")).toBe(instant);
    expect(parseTimestamp("2025-05-19 04:45:30.123456Z")).toBe(instant);
  });

  test("rejects timestamps without a zone or with impossible fields", () => {
    for (const bad of [
      "2025-05-19T13:45:30",
      "2025-13-01T00:00:00Z",
      "2025-02-29T00:00:00Z",
      "2025-05-19T24:00:00Z",
      "2025-05-19T13:45:30+25:00",
      "",
      "now",
    ]) {
      expect(parseTimestamp(bad)).toBeUndefined();
    }
    expect(parseTimestamp("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29) * 1000);
  });

  test("the digit-by-digit path reads every text as the pattern does", () => {
    // Valid wire-format texts, then each with one character replaced by one that could confuse a
    // fixed-position reader (a digit out of range, a separator, a sign, a letter).
    const replacements = ["0", "1", "2", "3", "9", "-", "+", ":", ".", ",", "T", " ", "Z", "z", "a", "/", "٣"];
    const texts = ["0099-12-31T23:59:59.999999+00:00", "2024-02-29T12:00:00.000000Z", "2023-02-29T12:00:00.000000Z"];
    for (let i = 0; i < 300; i++) {
      const t = Math.floor(Math.random() * 4e15);
      texts.push(formatZoned(t, ["Asia/Seoul", "UTC", "America/St_Johns"][i % 3] as string), formatIsoUtc(t));
    }
    let compared = 0;
    for (const text of texts) {
      expect(parseTimestamp(text)).toBe(parseTimestampByPattern(text) as number);
      for (let at = 0; at < text.length; at++) {
        for (const r of replacements) {
          const changed = text.slice(0, at) + r + text.slice(at + 1);
          expect([changed, parseTimestamp(changed)]).toEqual([changed, parseTimestampByPattern(changed)]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(300 * 2 * 27 * replacements.length);
  });

  test("formats UTC for ClickHouse and PostgreSQL", () => {
    expect(formatUtc(instant)).toBe("2025-05-19 04:45:30.123456");
    expect(formatIsoUtc(instant)).toBe("2025-05-19T04:45:30.123456Z");
  });
});
