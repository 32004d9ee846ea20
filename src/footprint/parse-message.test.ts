import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { NO_RICH_FIELDS } from "../store/store.ts";
import { MAX_MESSAGE_BYTES } from "./message.ts";
import { eventIdFromOrigin, formatOrigin, parseFootprintMessage, parseOrigin } from "./parse-message.ts";

const origin = { topic: "web-logs-topic", partition: 0, offset: "42" };
const parse = (value: unknown) =>
  parseFootprintMessage(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)), origin);

describe("parseFootprintMessage", () => {
  test("the old system's message, Korea time with microseconds", () => {
    const r = parse({ method: "GET", link: "/api/v1/items", footprint_time: "2025-05-19T13:45:30.123456+09:00" });
    expect(r).toEqual({
      ok: true,
      row: {
        eventId: eventIdFromOrigin(origin),
        method: "GET",
        link: "/api/v1/items",
        ...NO_RICH_FIELDS,
        footprintTime: Date.UTC(2025, 4, 19, 4, 45, 30, 123) * 1000 + 456,
      },
    });
  });

  test("a Z suffix is the same instant", () => {
    const kst = parse({ method: "GET", link: "/a", footprint_time: "2025-05-19T13:45:30.123456+09:00" });
    const utc = parse({ method: "GET", link: "/a", footprint_time: "2025-05-19T04:45:30.123456Z" });
    expect(kst.ok && utc.ok && kst.row.footprintTime === utc.row.footprintTime).toBe(true);
  });

  test("the rich format keeps its id and extra fields", () => {
    const r = parse({
      method: "POST",
      link: "/api/v1/items/123",
      footprint_time: "2025-05-19T13:45:30.5+09:00",
      event_id: "0190B2F8-0000-7000-8000-00000000000A",
      route: "/api/v1/items/:id",
      status: 201,
      duration_ms: 12.75,
      query: "ref=home",
      host: "eft.example.com",
      user_agent: "Mozilla/5.0",
      referrer: "https://google.com/",
      ip_hash: "a".repeat(64),
      is_bot: false,
      bytes_out: 1234,
    });
    expect(r.ok && r.row).toMatchObject({
      eventId: "0190b2f8-0000-7000-8000-00000000000a",
      route: "/api/v1/items/:id",
      status: 201,
      durationMs: 12.75,
      query: "ref=home",
      host: "eft.example.com",
      userAgent: "Mozilla/5.0",
      referrer: "https://google.com/",
      ipHash: "a".repeat(64),
      isBot: false,
      bytesOut: 1234,
      footprintTime: Date.UTC(2025, 4, 19, 4, 45, 30, 500) * 1000,
    });
  });

  test("unknown extra fields are ignored, not rejected", () => {
    expect(parse({ method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30+09:00", extra: 1 }).ok).toBe(true);
  });

  test.each([
    ["not JSON", "{method: GET", "MESSAGE_NOT_JSON"],
    ["a JSON string", '"GET /"', "MESSAGE_INVALID"],
    ["no time", { method: "GET", link: "/" }, "MESSAGE_INVALID"],
    [
      "time without zone",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30.123456" },
      "MESSAGE_INVALID",
    ],
    ["impossible date", { method: "GET", link: "/", footprint_time: "2025-02-30T00:00:00Z" }, "MESSAGE_INVALID"],
    ["empty link", { method: "GET", link: "", footprint_time: "2025-05-19T13:45:30Z" }, "MESSAGE_INVALID"],
    ["method with spaces", { method: "GET /x", link: "/", footprint_time: "2025-05-19T13:45:30Z" }, "MESSAGE_INVALID"],
    [
      "status out of range",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", status: 99 },
      "MESSAGE_INVALID",
    ],
    [
      "bad event id",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", event_id: "1" },
      "MESSAGE_INVALID",
    ],
    [
      "raw IP instead of a hash",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", ip_hash: "10.0.0.1" },
      "MESSAGE_INVALID",
    ],
    [
      "is_bot as text",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", is_bot: "yes" },
      "MESSAGE_INVALID",
    ],
    [
      "negative duration",
      { method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", duration_ms: -1 },
      "MESSAGE_INVALID",
    ],
  ])("garbage is rejected with a code: %s", (_name, value, code) => {
    const r = parse(value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.code).toBe(code as "MESSAGE_INVALID");
  });

  test("an empty or oversized value is rejected without parsing", () => {
    expect(parseFootprintMessage(null, origin)).toMatchObject({ ok: false, code: "MESSAGE_EMPTY" });
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    expect(parseFootprintMessage(big, origin)).toMatchObject({ ok: false, code: "MESSAGE_TOO_LARGE" });
  });

  test("invalid UTF-8 is rejected, not stored with replacement characters", () => {
    const good = Buffer.from('{"method":"GET","link":"/x","footprint_time":"2025-05-19T13:45:30Z"}');
    const bad = Buffer.concat([good.subarray(0, 30), Buffer.from([0xff, 0xfe]), good.subarray(30)]);
    expect(parseFootprintMessage(good, origin).ok).toBe(true);
    expect(parseFootprintMessage(bad, origin)).toMatchObject({ ok: false, code: "MESSAGE_NOT_UTF8" });
  });

  test.each([
    ["NUL in the link (PostgreSQL text refuses it)", { link: "/a\u0000b" }],
    ["a lone surrogate", { link: "/a\ud800" }],
    ["a footprint in the year 9999 (beyond ClickHouse DateTime64)", { footprint_time: "9999-12-31T00:00:00Z" }],
    ["a footprint before 1970", { footprint_time: "1969-12-31T23:59:59Z" }],
    ["a huge status", { status: 1e308 }],
  ])("values a store would refuse are rejected here: %s", (_name, fields) => {
    const r = parse({ method: "GET", link: "/", footprint_time: "2025-05-19T13:45:30Z", ...fields });
    expect(r).toMatchObject({ ok: false, code: "MESSAGE_INVALID" });
  });

  test("invalid fields are named in the issues", () => {
    const r = parse({ method: "", link: "/", footprint_time: "yesterday" });
    expect(!r.ok && (r.issues as { path: string }[]).map((i) => i.path)).toEqual(["method", "footprint_time"]);
  });
});

describe("eventIdFromOrigin", () => {
  test("is a stable UUID per topic/partition/offset", () => {
    const a = eventIdFromOrigin(origin);
    expect(a).toBe(eventIdFromOrigin({ ...origin }));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(eventIdFromOrigin({ ...origin, offset: "43" }));
    expect(a).not.toBe(eventIdFromOrigin({ ...origin, partition: 1 }));
  });

  test("is the id earlier versions derived (stored rows keep deduplicating a redelivery)", () => {
    // SHA-256 of "web-logs-topic/0/42", version and variant bits set, as node:crypto computed it.
    expect(eventIdFromOrigin(origin)).toBe("d6fd1f77-c2fb-8bbf-8935-c7adf9341e2e");
    for (const offset of ["0", "1", "99999", "9223372036854775807"]) {
      const b = createHash("sha256").update(`web-logs-topic/3/${offset}`).digest();
      b[6] = ((b[6] as number) & 0x0f) | 0x80;
      b[8] = ((b[8] as number) & 0x3f) | 0x80;
      const h = b.subarray(0, 16).toString("hex");
      const expected = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      expect(eventIdFromOrigin({ topic: "web-logs-topic", partition: 3, offset })).toBe(expected);
    }
  });
});

describe("origin header", () => {
  test("round-trips and refuses anything else", () => {
    expect(parseOrigin(formatOrigin(origin))).toEqual(origin);
    expect(parseOrigin("web-logs-topic/0")).toBeUndefined();
    expect(parseOrigin("a b/0/1")).toBeUndefined();
    expect(parseOrigin(undefined)).toBeUndefined();
  });
});
