import { describe, expect, test } from "bun:test";
import { userFootprintColumns } from "../../test/fixtures/store-rows.ts";
import { seededRandom } from "../seeded-random.ts";
import { formatUtc } from "../time.ts";
import { encodeRows } from "./clickhouse.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "./store.ts";

// What each line must say: the row's columns, the instant as ClickHouse reads it exactly.
const expected = (rows: FootprintRow[]) =>
  rows.map((r) => ({ ...userFootprintColumns(r), footprint_time: formatUtc(r.footprintTime) }));

describe("encodeRows (the ClickHouse insert body)", () => {
  test("is one JSON object per line with each row's columns, whatever the text holds", () => {
    const random = seededRandom(5);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
    const texts = [null, "", "/a", 'quote " and \\ back', "tab\tnew\nline \u0001 ctl", "é日本 😀", "\u2028\u2029"];
    const rows: FootprintRow[] = [];
    for (let i = 0; i < 500; i++) {
      rows.push({
        eventId: "0190b2f8-0000-7000-8000-00000000000a",
        method: pick(["GET", "M-SEARCH"]),
        link: pick(texts.slice(2)) as string,
        route: pick(texts),
        status: pick([null, 200, 599]),
        durationMs: pick([null, 0, 1.5, 86_400_000, 1e-7, 0.1 + 0.2]),
        footprintTime: Date.UTC(2025, 4, 19) * 1000 + Math.floor(random() * 1e12),
        query: pick(texts),
        host: pick(texts),
        userAgent: pick(texts),
        referrer: pick(texts),
        ipHash: pick([null, "a".repeat(64)]),
        isBot: pick([null, true, false]),
        bytesOut: pick([null, 0, Number.MAX_SAFE_INTEGER]),
      });
    }
    rows.push({ ...rows[0], ...NO_RICH_FIELDS } as FootprintRow);
    // Rows within one second, and the second's edges.
    const second = Date.UTC(2025, 4, 19, 4, 45, 30) * 1000;
    for (const micros of [0, 1, 999_999, 1_000_000, 1_000_001, 123_456, -1, -1_000_000, 59_999_999]) {
      rows.push({ ...(rows[1] as FootprintRow), footprintTime: second + micros });
    }
    // An hour's edges, one after the other (the formatter reuses an hour's date and hour).
    const hour = Date.UTC(2025, 4, 19, 5) * 1000;
    for (const micros of [-1, 0, 1, 3_599_999_999, 3_600_000_000, -3_600_000_000, -3_600_000_001]) {
      rows.push({ ...(rows[1] as FootprintRow), footprintTime: hour + micros });
    }
    expect(
      encodeRows(rows)
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual(expected(rows));
  });
});
