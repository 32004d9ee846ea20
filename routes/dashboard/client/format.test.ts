import { describe, expect, test } from "bun:test";
import * as server from "../../../src/time.ts";
import {
  apiParams,
  defaultState,
  describeBehind,
  formatCompact,
  formatDelta,
  formatMinuteOfDay,
  formatMs,
  formatOffset,
  formatPercent,
  isoToZonedInput,
  offsetMinutes,
  searchFromState,
  stateFromSearch,
  zonedInputToIso,
} from "./format.js";

describe("dashboard state in the address bar", () => {
  test("defaults leave the query string empty and read back the same", () => {
    const s = defaultState("Asia/Seoul");
    expect(searchFromState(s, "Asia/Seoul")).toBe("");
    expect(stateFromSearch("", "Asia/Seoul")).toEqual(s);
  });

  test("every setting survives a round trip", () => {
    const s = {
      ...defaultState("Asia/Seoul"),
      preset: "custom" as const,
      from: "2025-05-19T00:00:00+09:00",
      to: "2025-05-20T00:00:00+09:00",
      tz: "UTC",
      store: "clickhouse" as const,
      method: "POST",
      route: "/api/v1/items",
      status: "4xx" as const,
      excludeBots: true,
      refresh: 0,
      todView: "minute" as const,
    };
    expect(stateFromSearch(searchFromState(s, "Asia/Seoul"), "Asia/Seoul")).toEqual(s);
  });

  test("odd values fall back to the defaults", () => {
    const s = stateFromSearch("?from=2d&tz=Mars/Base&store=mysql&status=6xx&refresh=7&method=g%3Bet", "Asia/Seoul");
    expect(s).toEqual({ ...defaultState("Asia/Seoul"), method: "GET" });
  });

  test("API parameters use the contract's names", () => {
    const s = { ...defaultState("Asia/Seoul"), preset: "7d" as const, status: "5xx" as const, excludeBots: true };
    expect(apiParams(s, { limit: "10" }).toString()).toBe(
      "from=7d&tz=Asia%2FSeoul&store=both&status=5xx&exclude_bots=true&limit=10",
    );
  });
});

describe("numbers", () => {
  test.each([
    [480, 400, "+20.0%", "up"],
    [400, 480, "\u221216.7%", "down"],
    [5, 0, "new", "up"],
    [0, 0, "±0%", "flat"],
    [1000, 1000, "±0%", "flat"],
    [300, 100, "+200%", "up"],
  ])("delta %p vs %p → %p", (count, previous, text, direction) => {
    expect(formatDelta(count, previous)).toEqual({ text, direction } as ReturnType<typeof formatDelta>);
  });

  test("compact, ms and percent", () => {
    expect([formatCompact(950), formatCompact(12_345), formatCompact(2_500_000)]).toEqual(["950", "12.3k", "2.5M"]);
    expect([formatMs(3.21), formatMs(250.4), formatMs(1520)]).toEqual(["3.2 ms", "250 ms", "1.52 s"]);
    expect([formatPercent(0.25), formatPercent(0.0123), formatPercent(0)]).toEqual(["25%", "1.2%", "0%"]);
    expect([formatMinuteOfDay(0), formatMinuteOfDay(825), formatMinuteOfDay(1439)]).toEqual([
      "00:00",
      "13:45",
      "23:59",
    ]);
  });
});

describe("time zones", () => {
  test("a wall time typed in Seoul is that instant with +09:00", () => {
    expect(zonedInputToIso("2025-05-19T13:45", "Asia/Seoul")).toBe("2025-05-19T13:45:00+09:00");
    expect(isoToZonedInput("2025-05-19T04:45:00Z", "Asia/Seoul")).toBe("2025-05-19T13:45");
    expect(offsetMinutes(Date.UTC(2025, 4, 19), "Asia/Seoul")).toBe(540);
  });

  test("across New York's DST changes the offset follows the date", () => {
    expect(zonedInputToIso("2025-03-08T12:00", "America/New_York")).toBe("2025-03-08T12:00:00-05:00");
    expect(zonedInputToIso("2025-03-09T12:00", "America/New_York")).toBe("2025-03-09T12:00:00-04:00");
    // 02:30 does not exist on 9 March: read on the old offset it is 03:30 EDT.
    expect(zonedInputToIso("2025-03-09T02:30", "America/New_York")).toBe("2025-03-09T03:30:00-04:00");
    expect(Date.parse(zonedInputToIso("2025-11-02T01:30", "America/New_York") ?? "")).toBeOneOf([
      Date.parse("2025-11-02T01:30:00-04:00"),
      Date.parse("2025-11-02T01:30:00-05:00"),
    ]);
  });

  test("garbage is refused", () => {
    expect(zonedInputToIso("yesterday", "UTC")).toBeUndefined();
  });

  test("the browser's offsets are the server's (src/time.ts), every 25 hours of 2025", () => {
    for (const zone of ["Asia/Seoul", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]) {
      for (let ms = Date.UTC(2025, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 25 * 3_600_000) {
        const offset = offsetMinutes(ms, zone);
        expect({ zone, ms, offset, text: formatOffset(offset) }).toEqual({
          zone,
          ms,
          offset: server.offsetMinutes(ms, zone),
          text: server.formatOffset(offset),
        });
      }
    }
  });
});

describe("one store behind the other, in words", () => {
  test("how far, in time and events, and up to when both are shown", () => {
    expect(
      describeBehind(
        { store: "clickhouse", ahead: "postgres", seconds: 2.5, events: 40 },
        "2025-05-19T03:00:23.000001+00:00",
        "Asia/Seoul",
      ),
    ).toBe("ClickHouse is 2.5 s and 40 events behind PostgreSQL: both are shown up to 12:00:23, which both hold.");
    expect(
      describeBehind(
        { store: "postgres", ahead: "clickhouse", seconds: 0.25, events: null },
        "2025-05-19T03:00:23Z",
        "UTC",
      ),
    ).toBe("PostgreSQL is 250 ms behind ClickHouse: both are shown up to 03:00:23, which both hold.");
  });

  test("a store with nothing of the period yet", () => {
    expect(
      describeBehind(
        { store: "clickhouse", ahead: "postgres", seconds: null, events: 1 },
        "2025-05-19T03:00:23Z",
        "UTC",
      ),
    ).toBe("ClickHouse holds none of this period yet (PostgreSQL: 1 event); its figures catch up as it writes.");
  });
});
