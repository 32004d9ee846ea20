import { describe, expect, test } from "bun:test";
import { FIELD_MAX_LENGTH, FootprintEventSchema, FootprintMessageSchema } from "./message.ts";

const seed = { method: "GET", link: "/api/v1/items", footprint_time: "2025-05-19T13:45:30.123456+09:00" };
const ours = { ...seed, event_id: "0190b2f8-0000-7000-8000-00000000000a", status: 200, duration_ms: 1.5 };

describe("the wire message", () => {
  test("the seed's three fields are a message; an event from our middleware also has its id, status and duration", () => {
    expect(FootprintMessageSchema.safeParse(seed).success).toBe(true);
    const missing = FootprintEventSchema.safeParse(seed).error?.issues.map((i) => i.path.join("."));
    expect(missing?.sort()).toEqual(["duration_ms", "event_id", "status"]);
    expect(FootprintEventSchema.safeParse(ours).success).toBe(true);
  });

  test("each text field is refused one code unit past its limit", () => {
    for (const [field, max] of Object.entries(FIELD_MAX_LENGTH)) {
      const at = (n: number) => FootprintMessageSchema.safeParse({ ...ours, [field]: "a".repeat(n) }).success;
      expect([field, at(max), at(max + 1)]).toEqual([field, true, false]);
    }
  });
});
