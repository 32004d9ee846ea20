import { createHash } from "node:crypto";
import { z } from "zod";
import type { FootprintRow } from "../src/store/store.ts";
import { parseTimestamp } from "../src/time.ts";

/**
 * Accepts the Python system's three-field message (still sent by producers in other languages)
 * and our richer event, which only adds optional fields.
 */
export const FootprintMessageSchema = z.object({
  method: z.string().regex(/^[A-Za-z_-]{1,32}$/, "must be an HTTP method name"),
  link: z.string().min(1).max(8192),
  footprint_time: z.string().refine((v) => parseTimestamp(v) !== undefined, "must be ISO-8601 with a UTC offset or Z"),
  event_id: z.uuid().optional(),
  route: z.string().max(8192).nullish(),
  status: z.int().min(100).max(599).nullish(),
  duration_ms: z.number().min(0).max(86_400_000).nullish(),
  query: z.string().max(8192).nullish(),
  host: z.string().max(255).nullish(),
  user_agent: z.string().max(2048).nullish(),
  referrer: z.string().max(8192).nullish(),
  ip_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be a SHA-256 hex digest")
    .nullish(),
  is_bot: z.boolean().nullish(),
  bytes_out: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
});

export type MessageOrigin = { topic: string; partition: number; offset: string };

export type ParsedMessage =
  | { ok: true; row: FootprintRow }
  | { ok: false; code: "MESSAGE_NOT_JSON" | "MESSAGE_INVALID" | "MESSAGE_EMPTY"; message: string; issues?: unknown };

/** Largest message value accepted; anything bigger is not a footprint. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export function parseFootprintMessage(value: Buffer | null, origin: MessageOrigin): ParsedMessage {
  if (!value || value.length === 0) return { ok: false, code: "MESSAGE_EMPTY", message: "empty message value" };
  if (value.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      code: "MESSAGE_INVALID",
      message: `message is ${value.length} bytes, over ${MAX_MESSAGE_BYTES}`,
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
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
