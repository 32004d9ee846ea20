import { createHash } from "node:crypto";
import { z } from "zod";
import type { FootprintRow } from "../src/store/store.ts";
import { parseTimestamp } from "../src/time.ts";

/**
 * Accepts the Python system's three-field message (still sent by producers in other languages)
 * and our richer event, which only adds optional fields.
 */
/**
 * Text both stores can hold byte for byte: PostgreSQL refuses NUL in text, and a lone UTF-16
 * surrogate would be stored as U+FFFD in one store and as raw bytes in the other. A message that
 * passed this schema but failed in a store would block its partition forever.
 */
const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !v.includes("\u0000"), "must not contain NUL characters")
    .refine((v) => v.isWellFormed(), "must be well-formed Unicode (no lone surrogates)");

// ClickHouse DateTime64(6) holds 1900-01-01 … 2299-12-31; a footprint outside 1970 … 2200 is a bug.
const EARLIEST_FOOTPRINT = Date.UTC(1970, 0, 1) * 1000;
const LATEST_FOOTPRINT = Date.UTC(2200, 0, 1) * 1000;

export const FootprintMessageSchema = z.object({
  method: z.string().regex(/^[A-Za-z_-]{1,32}$/, "must be an HTTP method name"),
  link: storableText(8192).pipe(z.string().min(1)),
  footprint_time: z.string().refine((v) => {
    const t = parseTimestamp(v);
    return t !== undefined && t >= EARLIEST_FOOTPRINT && t < LATEST_FOOTPRINT;
  }, "must be ISO-8601 with a UTC offset or Z, between 1970 and 2200"),
  event_id: z.uuid().optional(),
  route: storableText(8192).nullish(),
  status: z.int().min(100).max(599).nullish(),
  duration_ms: z.number().min(0).max(86_400_000).nullish(),
  query: storableText(8192).nullish(),
  host: storableText(255).nullish(),
  user_agent: storableText(2048).nullish(),
  referrer: storableText(8192).nullish(),
  ip_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest")
    .nullish(),
  is_bot: z.boolean().nullish(),
  bytes_out: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
});

export type MessageOrigin = { topic: string; partition: number; offset: string };

/** Why a message is not a footprint; each is the `eft-error-code` header of its dead letter. */
export type InvalidMessageCode =
  | "MESSAGE_EMPTY"
  | "MESSAGE_TOO_LARGE"
  | "MESSAGE_NOT_UTF8"
  | "MESSAGE_NOT_JSON"
  | "MESSAGE_INVALID";

export type ParsedMessage =
  | { ok: true; row: FootprintRow }
  | { ok: false; code: InvalidMessageCode; message: string; issues?: unknown };

/** Largest message value accepted; anything bigger is not a footprint. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

// fatal: invalid UTF-8 is an error, not silently replaced by U+FFFD and stored.
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses one Kafka message value. `origin` is where the message sits in Kafka: a seed-format
 * message (no event_id) gets its id from it. A message re-sent from the dead-letter topic passes
 * its original position (header `eft-origin`), so replaying it twice still stores it once.
 */
export function parseFootprintMessage(value: Buffer | null, origin: MessageOrigin): ParsedMessage {
  if (!value || value.length === 0) return { ok: false, code: "MESSAGE_EMPTY", message: "empty message value" };
  if (value.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      code: "MESSAGE_TOO_LARGE",
      message: `message is ${value.length} bytes, over ${MAX_MESSAGE_BYTES}`,
    };
  }
  let text: string;
  try {
    text = utf8.decode(value);
  } catch {
    return { ok: false, code: "MESSAGE_NOT_UTF8", message: "message value is not valid UTF-8" };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: "MESSAGE_NOT_JSON", message: (err as Error).message };
  }
  const parsed = FootprintMessageSchema.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      code: "MESSAGE_INVALID",
      message: z.prettifyError(parsed.error),
      issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    };
  }
  const m = parsed.data;
  return {
    ok: true,
    row: {
      eventId: m.event_id?.toLowerCase() ?? eventIdFromOrigin(origin),
      method: m.method,
      link: m.link,
      route: m.route ?? null,
      status: m.status ?? null,
      durationMs: m.duration_ms ?? null,
      footprintTime: parseTimestamp(m.footprint_time) as number,
      query: m.query ?? null,
      host: m.host ?? null,
      userAgent: m.user_agent ?? null,
      referrer: m.referrer ?? null,
      ipHash: m.ip_hash ?? null,
      isBot: m.is_bot ?? null,
      bytesOut: m.bytes_out ?? null,
    },
  };
}

/**
 * Seed-format messages carry no id. One derived from where the message sits in Kafka is the same
 * every time it is redelivered, so the stores can still drop the duplicates.
 */
export function eventIdFromOrigin({ topic, partition, offset }: MessageOrigin): string {
  const b = createHash("sha256").update(`${topic}/${partition}/${offset}`).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x80; // version 8: custom, name-based
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  const h = b.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** `topic/partition/offset`, as written in the `eft-origin` header of a replayed dead letter. */
export function formatOrigin({ topic, partition, offset }: MessageOrigin): string {
  return `${topic}/${partition}/${offset}`;
}

export function parseOrigin(text: string | undefined): MessageOrigin | undefined {
  const m = text === undefined ? null : /^([a-zA-Z0-9._-]{1,249})\/(\d{1,9})\/(\d{1,19})$/.exec(text);
  return m ? { topic: m[1] as string, partition: Number(m[2]), offset: m[3] as string } : undefined;
}
