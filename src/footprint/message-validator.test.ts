import { describe, expect, test } from "bun:test";
import { seededRandom } from "../seeded-random.ts";
import { FIELD_MAX_LENGTH, FootprintMessageSchema, footprintTimeOf, isFootprintMessage } from "./message.ts";

// Candidate values per field, valid and invalid, edges included. ABSENT leaves the key out.
const ABSENT = Symbol("absent");
const text = (max: number) => [
  ABSENT,
  null,
  "",
  "/a",
  "a".repeat(max),
  "a".repeat(max + 1),
  "x\u0000y",
  "lone \ud800 surrogate",
  "pair \ud83d\ude00 ok",
  "é日本",
  0,
  true,
  ["a"],
  { a: 1 },
];
const FIELDS: Record<string, unknown[]> = {
  method: ["GET", "post", "M-SEARCH", "_x", "a".repeat(32), "a".repeat(33), "", "GET ", "G3T", "GÉT", null, ABSENT, 1],
  link: [
    ...["/a", "/api/v1/items/1", "pair \ud83d\ude00 ok", `/${"a".repeat(FIELD_MAX_LENGTH.link - 1)}`],
    ...["", `/${"a".repeat(FIELD_MAX_LENGTH.link)}`, "x\u0000y", "lone \ud800", null, 0, ABSENT],
  ],
  footprint_time: [
    "2025-05-19T13:45:30.123456+09:00",
    "2025-05-19T04:45:30Z",
    "2025-05-19 04:45:30.1z",
    "2025-05-19T04:45:30.123456789-0130",
    "2025-05-19T04:45:30+09",
    "2025-02-29T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "1970-01-01T08:59:59+09:00",
    "2199-12-31T23:59:59.999999Z",
    "2200-01-01T00:00:00Z",
    "2025-05-19T24:00:00Z",
    "2025-05-19T13:45:30",
    "2025-05-19",
    "",
    1747629930,
    null,
    ABSENT,
  ],
  event_id: [
    ABSENT,
    "0190b2f8-0000-7000-8000-00000000000a",
    "0190B2F8-0000-7000-8000-00000000000A",
    "0190b2f8-0000-9000-8000-00000000000a",
    "0190b2f8-0000-7000-c000-00000000000a",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "0190b2f800007000800000000000000a",
    "",
    null,
    7,
  ],
  route: text(FIELD_MAX_LENGTH.route),
  query: text(FIELD_MAX_LENGTH.query),
  host: text(FIELD_MAX_LENGTH.host),
  user_agent: text(FIELD_MAX_LENGTH.user_agent),
  referrer: text(FIELD_MAX_LENGTH.referrer),
  status: [ABSENT, null, 100, 200, 599, 99, 600, 200.5, -1, "200", 1e300, Number.POSITIVE_INFINITY, true],
  duration_ms: [
    ABSENT,
    null,
    0,
    1.5,
    86_400_000,
    86_400_000.001,
    -0,
    -0.001,
    "1",
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    false,
  ],
  ip_hash: [ABSENT, null, "a".repeat(64), "0f".repeat(32), "A".repeat(64), "a".repeat(63), "g".repeat(64), "", 1],
  is_bot: [ABSENT, null, true, false, 0, "true"],
  bytes_out: [ABSENT, null, 0, 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 1e20, -1, 0.5, "1"],
  extra_field: [ABSENT, 1, "anything", null],
};

const NON_OBJECTS: unknown[] = [null, 0, "text", true, [], [{ method: "GET" }], 1.5];

function generate(random: () => number, validBias: boolean): unknown {
  if (random() < 0.02) return NON_OBJECTS[Math.floor(random() * NON_OBJECTS.length)];
  const m: Record<string, unknown> = {};
  for (const [field, values] of Object.entries(FIELDS)) {
    // Mostly the first (valid) few values, so that many messages are valid and each field's
    // invalid values are tried with every other field valid.
    const pool = validBias && random() < 0.97 ? values.slice(0, 4) : values;
    const v = pool[Math.floor(random() * pool.length)];
    if (v !== ABSENT) m[field] = v;
  }
  return m;
}

describe("isFootprintMessage (the consumer's validator)", () => {
  test("accepts and refuses exactly what FootprintMessageSchema does, over 6,000 generated inputs", () => {
    const random = seededRandom(12);
    const disagreements: unknown[] = [];
    let accepted = 0;
    for (let i = 0; i < 6_000; i++) {
      const input = generate(random, i % 2 === 0);
      // Through JSON, as the consumer gets it (Infinity and NaN become null here; the test below
      // gives them as they are, as JSON.parse("1e999") would).
      const json = JSON.parse(JSON.stringify(input) ?? "null");
      const expected = FootprintMessageSchema.safeParse(json).success;
      if (isFootprintMessage(json) !== expected) disagreements.push(json);
      if (expected) accepted++;
    }
    expect(disagreements.slice(0, 3)).toEqual([]);
    // Both outcomes are well represented, or the comparison would prove little.
    expect(accepted).toBeGreaterThan(750);
    expect(6_000 - accepted).toBeGreaterThan(750);
  }, 60_000);

  test("every candidate value is decided as the schema decides it, all other fields valid", () => {
    const valid = { method: "GET", link: "/a", footprint_time: "2025-05-19T13:45:30.123456+09:00" };
    for (const [field, values] of Object.entries(FIELDS)) {
      for (const v of values) {
        const input = { ...valid } as Record<string, unknown>;
        if (v === ABSENT) delete input[field];
        else input[field] = v;
        const expected = FootprintMessageSchema.safeParse(input).success;
        expect([field, v, isFootprintMessage(input)]).toEqual([field, v, expected]);
      }
    }
  });

  test("footprintTimeOf gives the instant the message names", () => {
    expect(footprintTimeOf({ method: "GET", link: "/a", footprint_time: "2025-05-19T13:45:30.123456+09:00" })).toBe(
      Date.UTC(2025, 4, 19, 4, 45, 30, 123) * 1000 + 456,
    );
    expect(footprintTimeOf({ method: "GET", link: "/a" })).toBeUndefined();
  });
});
