import { z } from "zod";
import type { ErrorCode } from "../errors.ts";
import { type EpochMicros, parseTimestamp } from "../time.ts";
import { FIELD_MAX_LENGTH } from "./fields.ts";

/**
 * The one definition of a footprint message on the wire: what the consumer stores, what the
 * ingest endpoint accepts and documents, and what the middleware writes (cut to these limits).
 */

export { DEFAULT_FOOTPRINT_TZ, FIELD_MAX_LENGTH } from "./fields.ts";

/** Largest message value accepted; anything bigger is not a footprint. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * `footprint_time` must fall in [earliest, latest), epoch microseconds. ClickHouse DateTime64(6)
 * holds 1900-01-01 … 2299-12-31; a footprint outside 1970 … 2200 is a bug.
 */
export const FOOTPRINT_TIME_RANGE = {
  earliest: Date.UTC(1970, 0, 1) * 1000,
  latest: Date.UTC(2200, 0, 1) * 1000,
} as const;

/** Why a message is not a footprint; each is the `eft-error-code` header of its dead letter. */
export type InvalidMessageCode = Extract<ErrorCode, `MESSAGE_${string}`>;

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

/**
 * Accepts the Python system's three-field message (still sent by producers in other languages)
 * and our richer event, which only adds optional fields; those may also be null.
 */
export const FootprintMessageSchema = z.object({
  method: z.string().regex(/^[A-Za-z_-]{1,32}$/, "must be an HTTP method name"),
  /** URL path only, no query string. */
  link: storableText(FIELD_MAX_LENGTH.link).pipe(z.string().min(1)),
  /** ISO-8601 with a numeric offset or Z; the middleware writes local time with microseconds. */
  footprint_time: z.string().refine((v) => {
    const t = parseTimestamp(v);
    return t !== undefined && t >= FOOTPRINT_TIME_RANGE.earliest && t < FOOTPRINT_TIME_RANGE.latest;
  }, "must be ISO-8601 with a UTC offset or Z, between 1970 and 2200"),
  /** UUIDv7 from the middleware, so ids sort by time and make every sink idempotent. */
  event_id: z.uuid().optional(),
  /** The matched route pattern (`/items/:id`), absent when no route matched. */
  route: storableText(FIELD_MAX_LENGTH.route).nullish(),
  status: z.int().min(100).max(599).nullish(),
  duration_ms: z.number().min(0).max(86_400_000).nullish(),
  /** Query string without `?`; only when recording it is enabled (it may hold personal data). */
  query: storableText(FIELD_MAX_LENGTH.query).nullish(),
  host: storableText(FIELD_MAX_LENGTH.host).nullish(),
  user_agent: storableText(FIELD_MAX_LENGTH.user_agent).nullish(),
  referrer: storableText(FIELD_MAX_LENGTH.referrer).nullish(),
  /** SHA-256 hex of client IP + user agent + a daily salt; never the raw IP. */
  ip_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest")
    .nullish(),
  is_bot: z.boolean().nullish(),
  bytes_out: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
});

/** A message as our middleware writes it: the id, status and duration are always there. */
export const FootprintEventSchema = FootprintMessageSchema.required({
  event_id: true,
  status: true,
  duration_ms: true,
});

/**
 * One recorded request as the middleware hands it to `record`. Null is what other producers may
 * send for "unknown"; the middleware leaves such a field out instead, so it never holds null.
 */
export type FootprintEvent = WithoutNull<z.output<typeof FootprintEventSchema>>;

type WithoutNull<T> = { [K in keyof T]: Exclude<T[K], null> };

/** A message that FootprintMessageSchema accepts, as it came (no defaults, no transforms). */
export type FootprintMessage = z.output<typeof FootprintMessageSchema>;

const METHOD = /^[A-Za-z_-]{1,32}$/;
// zod's z.uuid() pattern (any RFC 9562 version, or the nil and max UUIDs).
const UUID =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

const isStorableText = (v: unknown, max: number): v is string =>
  typeof v === "string" && v.length <= max && !v.includes("\u0000") && v.isWellFormed();
const isNullishText = (v: unknown, max: number) => v === undefined || v === null || isStorableText(v, max);
const isNullishInt = (v: unknown, min: number, max: number) =>
  v === undefined || v === null || (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max);

/**
 * Exactly what FootprintMessageSchema accepts (message.test.ts proves it over generated inputs),
 * without building issues: cheap enough for the consumer's loop, which runs the schema only on a
 * message this refuses, for the dead letter's reason. The HTTP boundary keeps the schema.
 * Returns the message's footprint_time (epoch µs) when it is a message, undefined otherwise.
 */
export function footprintTimeOf(v: unknown): EpochMicros | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const m = v as Record<string, unknown>;
  if (typeof m.method !== "string" || !METHOD.test(m.method)) return undefined;
  if (!isStorableText(m.link, FIELD_MAX_LENGTH.link) || m.link.length === 0) return undefined;
  if (typeof m.footprint_time !== "string") return undefined;
  const t = parseTimestamp(m.footprint_time);
  if (t === undefined || t < FOOTPRINT_TIME_RANGE.earliest || t >= FOOTPRINT_TIME_RANGE.latest) return undefined;
  return hasValidOptionalFields(m) ? t : undefined;
}

export function isFootprintMessage(v: unknown): v is FootprintMessage {
  return footprintTimeOf(v) !== undefined;
}

function hasValidOptionalFields(m: Record<string, unknown>): boolean {
  if (m.event_id !== undefined && (typeof m.event_id !== "string" || !UUID.test(m.event_id))) return false;
  if (!isNullishText(m.route, FIELD_MAX_LENGTH.route) || !isNullishText(m.query, FIELD_MAX_LENGTH.query)) return false;
  if (!isNullishText(m.host, FIELD_MAX_LENGTH.host) || !isNullishText(m.referrer, FIELD_MAX_LENGTH.referrer))
    return false;
  if (!isNullishText(m.user_agent, FIELD_MAX_LENGTH.user_agent)) return false;
  if (!isNullishInt(m.status, 100, 599) || !isNullishInt(m.bytes_out, 0, Number.MAX_SAFE_INTEGER)) return false;
  const d = m.duration_ms;
  if (d !== undefined && d !== null && !(typeof d === "number" && d >= 0 && d <= 86_400_000)) return false;
  const h = m.ip_hash;
  if (h !== undefined && h !== null && !(typeof h === "string" && SHA256_HEX.test(h))) return false;
  return m.is_bot === undefined || m.is_bot === null || typeof m.is_bot === "boolean";
}
