import { z } from "zod";
import type { FootprintRow } from "../store/store.ts";
import { type EpochMicros, parseTimestamp } from "../time.ts";
import {
  type FootprintMessage,
  FootprintMessageSchema,
  footprintTimeOf,
  type InvalidMessageCode,
  MAX_MESSAGE_BYTES,
} from "./message.ts";

/** Where a message sits in Kafka. */
export type MessageOrigin = { topic: string; partition: number; offset: string };

export type ParsedMessage =
  | { ok: true; row: FootprintRow }
  | { ok: false; code: InvalidMessageCode; message: string; issues?: unknown };

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
  const footprintTime = footprintTimeOf(json);
  if (footprintTime === undefined) return refusal(json, origin);
  return { ok: true, row: toRow(json as FootprintMessage, footprintTime, origin) };
}

function toRow(m: FootprintMessage, footprintTime: EpochMicros, origin: MessageOrigin): FootprintRow {
  return {
    eventId: m.event_id?.toLowerCase() ?? eventIdFromOrigin(origin),
    method: m.method,
    link: m.link,
    route: m.route ?? null,
    status: m.status ?? null,
    durationMs: m.duration_ms ?? null,
    footprintTime,
    query: m.query ?? null,
    host: m.host ?? null,
    userAgent: m.user_agent ?? null,
    referrer: m.referrer ?? null,
    ipHash: m.ip_hash ?? null,
    isBot: m.is_bot ?? null,
    bytesOut: m.bytes_out ?? null,
  };
}

/** Why the schema refuses a message the validator refused: the dead letter's reason, as always. */
function refusal(json: unknown, origin: MessageOrigin): ParsedMessage {
  const parsed = FootprintMessageSchema.safeParse(json);
  // Only while footprintTimeOf disagreed with the schema (message-validator.test.ts proves it does not).
  if (parsed.success) {
    const m = parsed.data;
    return { ok: true, row: toRow(m, parseTimestamp(m.footprint_time) as EpochMicros, origin) };
  }
  return {
    ok: false,
    code: "MESSAGE_INVALID",
    message: z.prettifyError(parsed.error),
    issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
  };
}

/**
 * Seed-format messages carry no id. One derived from where the message sits in Kafka is the same
 * every time it is redelivered, so the stores can still drop the duplicates.
 */
export function eventIdFromOrigin({ topic, partition, offset }: MessageOrigin): string {
  // Bun's one-shot SHA-256 (the same digest as node:crypto's, in a fraction of its time per call)
  // into one reused buffer, written out as hex natively: one per seed-format message.
  const b = Bun.SHA256.hash(`${topic}/${partition}/${offset}`, digest);
  b[6] = ((b[6] as number) & 0x0f) | 0x80; // version 8: custom, name-based
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  const h = digestHead.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const digest = new Uint8Array(32);
/** The digest's first 16 bytes (the id), sharing its memory. */
const digestHead = Buffer.from(digest.buffer, 0, 16);

/** `topic/partition/offset`, as written in the `eft-origin` header of a replayed dead letter. */
export function formatOrigin({ topic, partition, offset }: MessageOrigin): string {
  return `${topic}/${partition}/${offset}`;
}

export function parseOrigin(text: string | undefined): MessageOrigin | undefined {
  const m = text === undefined ? null : /^([a-zA-Z0-9._-]{1,249})\/(\d{1,9})\/(\d{1,19})$/.exec(text);
  return m ? { topic: m[1] as string, partition: Number(m[2]), offset: m[3] as string } : undefined;
}
