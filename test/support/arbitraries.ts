/**
 * Hostile input for the property-based tests: text, query strings, headers and bodies as a careless
 * or malicious client sends them (NUL, control characters, lone surrogates, invalid UTF-8 and
 * percent-encoding, huge values, wrong types), and footprint messages corrupted the same ways.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { MAX_MESSAGE_BYTES } from "../../src/footprint/message.ts";
import { parseFootprintMessage } from "../../src/footprint/parse-message.ts";

/** Pieces that broke, or could break, a parser, a store or a query. */
export const NASTY_TEXT = [
  "\u0000",
  "\u0001",
  "\n",
  "\r\n",
  "\t",
  "\u007f",
  "\u0085",
  "\u2028",
  "\ufeff",
  "\ufffd",
  "\ud800",
  "\udfff",
  "\ud83d\ude00",
  "é",
  "日本",
  "'",
  '"',
  "\\",
  "`",
  "../",
  "//",
  "%",
  "%00",
  "{p:String}",
  "$1",
  "' OR '1'='1",
  "<script>",
  "\u202e",
];

/** Percent-encoded pieces of a URL: NUL, invalid UTF-8, an encoded surrogate, truncated escapes. */
export const NASTY_ESCAPES = [
  "%00",
  "%0A",
  "%0D%0A",
  "%7F",
  "%FF",
  "%C3%28",
  "%C0%AF",
  "%ED%A0%80",
  "%E2%82",
  "%F4%90%80%80",
  "%",
  "%Z",
  "%zz",
  "%%",
  "%2",
  "+",
  "%2B",
  "%26",
  "%3D",
  "%23",
  "%2F",
  "%5C",
  "%EF%BB%BF",
];

/** Any text: plain, full Unicode with lone surrogates, nasty pieces, or huge (up to `hugeLength`). */
export function hostileText(maxLength = 40, hugeLength = 200_000): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength }) },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.oneof(fc.constantFrom(...NASTY_TEXT), fc.string({ unit: "grapheme-ascii", maxLength: 4 })), {
          maxLength: 6,
        })
        .map((parts) => parts.join("")),
    },
    { weight: 1, arbitrary: hugeText(hugeLength) },
  );
}

/** One character or piece repeated into a value bigger than any limit of ours. */
export function hugeText(maxLength = 200_000): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom("a", "é", "\u0000", "%00", "\ud800", "/"),
      fc.integer({ min: Math.min(2_000, maxLength), max: maxLength }),
    )
    .map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)));
}

/**
 * Text as it goes into a URL: percent-encoded as UTF-8 (a lone surrogate as U+FFFD, as a browser
 * would), or raw escapes that need not decode at all. Huge values stay under what Bun.serve takes
 * for a whole request line (16 KiB; it answers 431 itself, before any route: pinned apart).
 */
export function urlText(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: hostileText(maxLength, 2_500).map(encodeUtf8) },
    {
      weight: 2,
      arbitrary: fc
        .array(
          fc.oneof(
            fc.constantFrom(...NASTY_ESCAPES),
            fc.stringMatching(/^[A-Za-z0-9._~-]{0,4}$/),
            fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, "0")}`),
          ),
          { maxLength: 8 },
        )
        .map((parts) => parts.join("")),
    },
  );
}

/** Percent-encodes every byte of the text's UTF-8 but unreserved characters. */
export function encodeUtf8(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * A query string (without `?`): the endpoint's own parameters with good, hostile or missing
 * values, unknown names, repeated names, names without `=`.
 */
export function queryString(
  params: Record<string, readonly string[]>,
  options: { maxPairs?: number } = {},
): fc.Arbitrary<string> {
  const names = Object.keys(params);
  const known =
    names.length === 0
      ? fc.constant("x=1")
      : fc
          .constantFrom(...names)
          .chain((name) =>
            fc
              .oneof(
                { weight: 3, arbitrary: fc.constantFrom(...(params[name] as string[])).map(encodeUtf8) },
                { weight: 2, arbitrary: urlText() },
              )
              .map((value) => `${name}=${value}`),
          );
  const pair = fc.oneof(
    { weight: 5, arbitrary: known },
    { weight: 1, arbitrary: fc.tuple(urlText(12), urlText()).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: urlText(12) },
  );
  return fc.array(pair, { maxLength: options.maxPairs ?? 6 }).map((pairs) => pairs.join("&"));
}

/** A header value an HTTP client can send: Latin-1 without CR, LF or NUL (others are refused by fetch). */
export function headerValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: "grapheme-ascii", maxLength: 60 }),
    fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
    // Long, but all headers together stay under what Bun.serve takes (16 KiB; it answers 431 itself).
    fc.integer({ min: 500, max: 1500 }).map((n) => "x".repeat(n)),
  );
}

export const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON;charset=latin1",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "multipart/form-data",
  "text/plain",
  "application/octet-stream",
  "application/jsonx",
  "json",
  "",
  ";",
];

/** Headers a client may add: content types, gzip, odd cookies and bearer tokens, junk. */
export function requestHeaders(): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      "content-type": fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue()),
      "content-encoding": fc.constantFrom("gzip", "br", "deflate", "identity", "x"),
      accept: fc.constantFrom("application/json", "text/html", "*/*", "image/png"),
      "accept-encoding": fc.constantFrom("gzip", "br", "identity", "x"),
      cookie: fc.oneof(
        headerValue().map((v) => `eft_session=${v}`),
        headerValue().map((v) => `eft_session=${encodeUtf8(v)}; a=b`),
        headerValue(),
      ),
      authorization: fc.oneof(
        headerValue().map((v) => `Bearer ${v}`),
        headerValue(),
      ),
      "x-footprint-key": headerValue(),
      "if-none-match": headerValue(),
      "x-forwarded-for": headerValue(),
      "x-forwarded-proto": fc.constantFrom("https", "http", "gopher", ""),
      "x-forwarded-host": headerValue(),
      "user-agent": headerValue(),
      referer: headerValue(),
      upgrade: fc.constantFrom("websocket", "h2c"),
      range: fc.constantFrom("bytes=0-1", "bytes=x"),
      [`x-${"h".repeat(8)}`]: headerValue(),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<Record<string, string>>;
}

/** Any JSON value, deep or wide, with hostile strings in it. */
export function jsonValue(): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom(null, true, false, 0, -1, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER + 2),
      fc.double(),
      fc.integer(),
      hostileText(),
      fc.array(tie("value"), { maxLength: 5 }),
      fc.dictionary(hostileText(12), tie("value"), { maxKeys: 5 }),
    ),
  })).value;
}

export type Body = { label: string; bytes: Uint8Array };

/**
 * A request body: none, random bytes (invalid UTF-8), any JSON, a valid thing mutated, or one of
 * those gzipped; `valid` gives the endpoint's own good bodies to mutate.
 */
export function requestBody(valid: fc.Arbitrary<unknown> = jsonValue()): fc.Arbitrary<Body> {
  const text = (label: string) => (t: string) => ({ label, bytes: Buffer.from(t, "utf8") });
  const plain = fc.oneof(
    fc.constant({ label: "empty", bytes: new Uint8Array() }),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ label: "random bytes", bytes })),
    jsonValue()
      .map((v) => JSON.stringify(v) ?? "")
      .map(text("json")),
    valid.map((v) => JSON.stringify(v) ?? "").map(text("valid")),
    fc
      .tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }))
      .map(([v, at, junk]) => ({ label: "corrupted", bytes: corrupt(Buffer.from(JSON.stringify(v) ?? ""), at, junk) })),
    hugeText().map(text("huge")),
    fc.integer({ min: 1, max: 4000 }).map((n) => text("deep")(`${"[".repeat(n)}${"]".repeat(n)}`)),
  );
  return fc.oneof(
    { weight: 4, arbitrary: plain },
    {
      weight: 1,
      arbitrary: plain.map((b) => ({ label: `gzip of ${b.label}`, bytes: new Uint8Array(gzipSync(b.bytes)) })),
    },
  );
}

/** The bytes with `junk` written over them at `at` (0xC3 0x28 is invalid UTF-8, 0x00 a NUL). */
export function corrupt(bytes: Buffer, at: number, junk: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  if (out.length === 0) return new Uint8Array(junk);
  for (let i = 0; i < junk.length; i++) out[(at + i) % out.length] = junk[i] as number;
  return out;
}

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"];

/** Text a footprint may hold: no NUL, no lone surrogate, otherwise anything (controls, emoji, RTL marks). */
export function storableText(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 4, arbitrary: fc.string({ unit: "binary", minLength, maxLength: Math.min(maxLength, 60) }) },
      {
        weight: 1,
        arbitrary: fc.constantFrom("é", "\u0001", "\ufffe", "\ud83d\ude00", "'", "\\").map((c) => c.repeat(maxLength)),
      },
    )
    .map((t) => t.replaceAll("\u0000", "").toWellFormed().slice(0, maxLength))
    .map((t) => (t.length < minLength || !t.isWellFormed() ? "x".repeat(minLength) : t));
}

/** footprint_time as producers write it: any zone offset, 0 to 9 fraction digits, Z or ±hh:mm. */
export function footprintTime(): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.integer({ min: Date.UTC(1970, 0, 2), max: Date.UTC(2199, 11, 30) }),
      fc.integer({ min: 0, max: 999_999 }),
      fc.constantFrom("Z", "+09:00", "+00:00", "-03:30", "+05:45", "+14:00", "-12:00"),
      fc.integer({ min: 0, max: 6 }),
    )
    .map(([ms, micros, offset, digits]) => {
      const minutes =
        offset === "Z"
          ? 0
          : Number(offset.slice(0, 3)) * 60 + Math.sign(Number(offset.slice(0, 3)) || 1) * Number(offset.slice(4));
      const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 19);
      const fraction = digits === 0 ? "" : `.${String(micros).padStart(6, "0").slice(0, digits)}`;
      return `${local}${fraction}${offset}`;
    });
}

/** A footprint message the wire schema accepts: the seed's three fields, or the rich event. */
export function validFootprint(): fc.Arbitrary<Record<string, unknown>> {
  const nullish = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, fc.constant(null));
  return fc.record(
    {
      method: fc.stringMatching(/^[A-Za-z_-]{1,32}$/),
      link: storableText(1, 8192),
      footprint_time: footprintTime(),
      event_id: fc.uuid({ version: [4, 7] }),
      route: nullish(storableText(0, 8192)),
      status: nullish(fc.integer({ min: 100, max: 599 })),
      duration_ms: nullish(fc.oneof(fc.double({ min: 0, max: 86_400_000, noNaN: true }), fc.nat(86_400_000))),
      query: nullish(storableText(0, 8192)),
      host: nullish(storableText(0, 255)),
      user_agent: nullish(storableText(0, 2048)),
      referrer: nullish(storableText(0, 8192)),
      ip_hash: nullish(fc.stringMatching(/^[0-9a-f]{64}$/)),
      is_bot: nullish(fc.boolean()),
      bytes_out: nullish(fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER))),
    },
    { requiredKeys: ["method", "link", "footprint_time"] },
  );
}

/** A footprint with one field made wrong: another type, too long, NUL, a lone surrogate, out of range. */
export function brokenFootprint(): fc.Arbitrary<Record<string, unknown>> {
  const fields = ["method", "link", "footprint_time", "event_id", "route", "status", "duration_ms", "query", "host"];
  const wrong = fc.oneof(
    jsonValue(),
    fc.constantFrom(
      "",
      "\u0000",
      "/a\u0000b",
      "\ud800",
      "x".repeat(70_000),
      -1,
      1e21,
      Number.MAX_SAFE_INTEGER + 2,
      0.5,
      "1970-01-01T00:00:00",
      "9999-12-31T23:59:59Z",
      "1969-12-31T23:59:59Z",
      "2025-02-30T00:00:00Z",
      "2025-05-19T13:45:30.1234567890+09:00",
      "not-a-uuid",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ),
  );
  return fc
    .tuple(validFootprint(), fc.constantFrom(...fields), wrong)
    .map(([event, field, value]) => ({ ...event, [field]: value }));
}

/** A Kafka message value and what it was made as (`valid` ones must be stored, never dead-lettered). */
export type MessageCase = { label: string; value: Buffer | null };

/**
 * A message as it may sit in the topic: valid footprints (seed or rich format), footprints with a
 * field wrong, corrupted bytes (invalid UTF-8, NUL), any JSON, random bytes, empty, null, huge.
 */
export function kafkaMessage(): fc.Arbitrary<MessageCase> {
  const json = (label: string) => (v: unknown) => ({ label, value: Buffer.from(JSON.stringify(v) ?? "null") });
  return fc.oneof(
    {
      weight: 6,
      // Every field within its limit can still add up to more than a message may be.
      arbitrary: validFootprint()
        .map(json("valid"))
        .map((m) => (m.value.length > MAX_MESSAGE_BYTES ? { ...m, label: "valid fields, over 64 KiB" } : m)),
    },
    { weight: 3, arbitrary: brokenFootprint().map(json("broken field")) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(validFootprint(), fc.nat(), fc.constantFrom([0xc3, 0x28], [0x00], [0xed, 0xa0, 0x80], [0xff], [0x22]))
        .map(([v, at, junk]) => ({
          label: "corrupted bytes",
          value: Buffer.from(corrupt(Buffer.from(JSON.stringify(v)), at, Uint8Array.from(junk))),
        })),
    },
    { weight: 1, arbitrary: jsonValue().map(json("any JSON")) },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => ({ label: "random bytes", value: Buffer.from(b) })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<MessageCase>(
        { label: "null", value: null },
        { label: "empty", value: Buffer.alloc(0) },
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(validFootprint(), fc.integer({ min: 60_000, max: 70_000 }))
        .map(([v, n]) => json("huge")({ ...v, user_agent: "u".repeat(n) })),
    },
  );
}

let eventIds = 0;

/**
 * The message with its event_id (when it is stored, not dead-lettered) replaced by one never used
 * before in this process: two alike (fast-check repeats values, and the max UUID is valid) would be
 * one event, which PostgreSQL stores once and ClickHouse twice: a duplicate, issue 16 item 1, not
 * what the consumer properties are about.
 */
export function withUniqueEventId(c: MessageCase): MessageCase {
  const parsed = parseFootprintMessage(c.value, { topic: "t", partition: 0, offset: "0" });
  if (!parsed.ok || !c.value) return c;
  const event = JSON.parse(c.value.toString("utf8")) as { event_id?: unknown };
  if (event.event_id === undefined) return c; // its id comes from its offset, new for every message
  const n = (eventIds++).toString(16).padStart(12, "0");
  return {
    ...c,
    value: Buffer.from(JSON.stringify({ ...event, event_id: `${crypto.randomUUID().slice(0, 24)}${n}` })),
  };
}
