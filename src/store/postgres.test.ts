import { describe, expect, test } from "bun:test";
import { seededRandom } from "../seeded-random.ts";
import { columnArrays } from "./postgres.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "./store.ts";

/** The elements of a one-dimensional PostgreSQL array literal as PostgreSQL reads them (NULL as null). */
function readArrayLiteral(literal: string): (string | null)[] {
  expect(literal.startsWith("{") && literal.endsWith("}")).toBe(true);
  const body = literal.slice(1, -1);
  const out: (string | null)[] = [];
  for (let i = 0; i < body.length; ) {
    if (body.startsWith("NULL", i)) {
      out.push(null);
      i += 4;
    } else {
      expect(body[i]).toBe('"');
      let v = "";
      for (i++; body[i] !== '"'; i++) v += body[i] === "\\" ? body[++i] : body[i];
      out.push(v);
      i++;
    }
    if (i < body.length) expect(body[i++]).toBe(",");
  }
  return out;
}

const row = (over: Partial<FootprintRow>): FootprintRow => ({
  eventId: "0190b2f8-0000-7000-8000-00000000000a",
  method: "GET",
  link: "/a",
  footprintTime: 1_747_629_930_123_456,
  ...NO_RICH_FIELDS,
  ...over,
});

describe("columnArrays (the PostgreSQL insert's parameters)", () => {
  test("gives each column's values in row order, nulls wherever a row has none, whatever the text holds", () => {
    const random = seededRandom(12);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
    const texts = ["", "/a", 'quote " and \\ back', "NULL", "{,}", "é日本 😀"];
    // Columns that stay empty for the first rows (seed-format messages), then get values.
    const rows = Array.from({ length: 300 }, (_, i) =>
      row({
        link: pick(texts),
        route: i < 40 ? null : pick([null, ...texts]),
        status: i < 299 ? null : 200,
        isBot: pick([null, true, false]),
        bytesOut: i === 0 ? 7 : null,
      }),
    );
    const arrays = columnArrays(rows);
    expect(arrays).toHaveLength(14);
    const column = (i: number) => readArrayLiteral(arrays[i] as string);
    expect(column(0)).toEqual(rows.map((r) => r.eventId));
    expect(column(2)).toEqual(rows.map((r) => r.link));
    expect(column(3)).toEqual(rows.map((r) => r.route));
    expect(column(4)).toEqual(rows.map((r) => (r.status === null ? null : String(r.status))));
    expect(column(6)).toEqual(rows.map((r) => String(r.footprintTime)));
    expect(column(12)).toEqual(rows.map((r) => (r.isBot === null ? null : String(r.isBot))));
    expect(column(13)).toEqual(rows.map((r) => (r.bytesOut === null ? null : String(r.bytesOut))));
  });

  test("sends a column without any value as an empty array (unnest pads it with nulls)", () => {
    const arrays = columnArrays([row({}), row({ link: "/b" })]);
    expect(arrays[2]).toBe('{"/a","/b"}');
    expect(arrays.filter((a) => a === "{}")).toHaveLength(10);
  });
});
