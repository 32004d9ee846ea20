import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { z } from "zod";
import { AppError } from "../src/errors.ts";
import { FootprintMessageSchema, MAX_MESSAGE_BYTES } from "../src/footprint/message.ts";
import type { Logger } from "../src/log.ts";
import { withTimeout } from "../src/timeout.ts";
import { answerAppError } from "./error-response.ts";

/** Where the endpoint lives under PATH_PREFIX; the dashboard login leaves it to its own key. */
export const INGEST_PATH = "/api/v1/footprints";
export const INGEST_KEY_HEADER = "X-Footprint-Key";

export type IngestOptions = {
  /** Accepted keys; none means the endpoint is disabled. */
  keys: readonly string[];
  maxEvents: number;
  maxBytes: number;
  /** How long to wait for Kafka's acknowledgement before answering 503. */
  timeoutMs: number;
  /** Sends message values to Kafka; resolves once the broker acknowledged every one. */
  publish: (values: string[]) => Promise<void>;
  logger: Logger;
  newId?: () => string;
};

export type IngestIssue = { path: string; message: string };

/**
 * The consumer's schema, strict: like the stats API's parameters, a field the API does not know is
 * a mistake to report (a typo would otherwise be dropped silently). Kafka messages keep the
 * lenient schema, since other producers may add fields of their own.
 */
export const IngestEventSchema = z.strictObject(FootprintMessageSchema.shape);

/** Kafka requests are kept well under the broker's default 1 MB batch limit. */
const PUBLISH_CHUNK = 500;

/**
 * `POST {prefix}/api/v1/footprints`: events from producers that cannot reach Kafka, in the seed's
 * three-field format or the rich one, one object or an array. The same schema as the consumer's,
 * so whatever is accepted here is stored. A batch is all or nothing: one bad field and nothing is
 * sent. 202 means Kafka acknowledged every event (acks=all), not merely that it was queued in
 * memory, so an HTTP producer can retry on anything else.
 */
export function ingestRoutes(options: IngestOptions): Hono {
  const newId = options.newId ?? (() => Bun.randomUUIDv7());
  const keyDigests = options.keys.map(digest);

  return new Hono()
    .onError(answerAppError)
    .post(INGEST_PATH, async (c) => {
      if (keyDigests.length === 0) {
        throw new AppError("INGEST_DISABLED", "the ingest endpoint is disabled: set INGEST_KEYS to enable it");
      }
      const key = c.req.header(INGEST_KEY_HEADER);
      if (!key) {
        throw new AppError("INGEST_KEY_MISSING", "send an ingest key in X-Footprint-Key");
      }
      if (!isKnownKey(keyDigests, key)) {
        throw new AppError("INGEST_KEY_INVALID", "the X-Footprint-Key is not valid");
      }
      const type = c.req.header("content-type");
      if (!isJson(type)) {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          `the body must be sent as Content-Type: application/json${type ? `, not ${type}` : ""}`,
        );
      }

      // Read as sent: a gzip body would otherwise be answered as "not JSON", which hides the fix.
      const encoding = c.req.header("content-encoding")?.trim().toLowerCase();
      if (encoding && encoding !== "identity") {
        throw new AppError(
          "UNSUPPORTED_MEDIA_TYPE",
          `the body must be sent uncompressed, not with Content-Encoding: ${encoding}`,
        );
      }

      const read = await readLimited(c.req.raw, options.maxBytes);
      if (read === "too large") {
        throw new AppError("PAYLOAD_TOO_LARGE", `the body is larger than ${options.maxBytes} bytes (INGEST_MAX_BYTES)`);
      }
      let json: unknown;
      try {
        json = JSON.parse(read);
      } catch (err) {
        throw new AppError("INGEST_NOT_JSON", `the body is not JSON: ${(err as Error).message}`);
      }
      const batch = Array.isArray(json);
      const items: unknown[] = batch ? (json as unknown[]) : [json];
      if (items.length === 0) {
        throw new AppError("INGEST_INVALID", "the array holds no events");
      }
      if (items.length > options.maxEvents) {
        throw new AppError(
          "TOO_MANY_EVENTS",
          `${items.length} events in one request; at most ${options.maxEvents} (INGEST_MAX_EVENTS)`,
        );
      }

      const { values, eventIds, issues } = validate(items, batch, newId);
      if (issues.length > 0) {
        throw new AppError(
          "INGEST_INVALID",
          `${issues.length} invalid field${issues.length === 1 ? "" : "s"}; nothing was accepted`,
          { issues },
        );
      }

      // Once answered 503 the client resends: chunks not sent yet must not go after it.
      const answered = { yet: false };
      try {
        await withTimeout(
          publishInChunks(options.publish, values, answered),
          options.timeoutMs,
          `no acknowledgement within ${options.timeoutMs} ms`,
        );
      } catch (err) {
        answered.yet = true;
        // Answered at once, with the fix; the topic watch logged it already.
        if (err instanceof AppError && err.code === "TOPIC_MISSING") throw err;
        options.logger.error("ingest: events not acknowledged by Kafka", { err, events: values.length });
        throw new AppError(
          "KAFKA_UNAVAILABLE",
          "Kafka did not acknowledge the events in time; retry later. Some may have been stored: " +
            "resend with the event_ids given here so that retries are not counted twice",
          { event_ids: eventIds },
          { cause: err },
        );
      }
      return c.json({ accepted: values.length, event_ids: eventIds }, 202);
    })
    .all(INGEST_PATH, (c) => {
      c.header("Allow", "POST");
      throw new AppError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here: send footprints with POST`);
    });
}

/** `application/json`, with parameters (`; charset=utf-8`) or not, in any case. */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(";")[0]?.trim().toLowerCase() === "application/json";
}

/** Every event checked against the consumer's schema, every problem named by its path. */
function validate(
  items: unknown[],
  batch: boolean,
  newId: () => string,
): { values: string[]; eventIds: string[]; issues: IngestIssue[] } {
  const values: string[] = [];
  const eventIds: string[] = [];
  const issues: IngestIssue[] = [];
  items.forEach((item, index) => {
    const at = (path: readonly PropertyKey[]) => formatPath(batch ? [index, ...path] : path);
    const parsed = IngestEventSchema.safeParse(item);
    if (!parsed.success) {
      for (const i of parsed.error.issues) issues.push({ path: at(i.path), message: i.message });
      return;
    }
    const event = { ...parsed.data, event_id: parsed.data.event_id ?? newId() };
    const value = JSON.stringify(event);
    if (Buffer.byteLength(value) > MAX_MESSAGE_BYTES) {
      issues.push({ path: at([]), message: `the event is over ${MAX_MESSAGE_BYTES} bytes as JSON` });
    }
    values.push(value);
    eventIds.push(event.event_id);
  });
  return { values, eventIds, issues };
}

/** `[3].status`, `status`, or `[3]` for the whole event. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out === "" ? "(event)" : out;
}

async function publishInChunks(
  publish: IngestOptions["publish"],
  values: string[],
  answered: { yet: boolean },
): Promise<void> {
  for (let i = 0; i < values.length && !answered.yet; i += PUBLISH_CHUNK) {
    await publish(values.slice(i, i + PUBLISH_CHUNK));
  }
}

/** The body as text, or "too large" as soon as it passes `max` bytes (never read whole first). */
async function readLimited(request: Request, max: number): Promise<string | "too large"> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) return "too large";
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body) {
    size += chunk.byteLength;
    if (size > max) return "too large";
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/** Compares digests in constant time, against every key, so timing tells nothing about any. */
function isKnownKey(known: readonly Buffer[], key: string): boolean {
  const given = digest(key);
  let found = false;
  for (const k of known) found = timingSafeEqual(k, given) || found;
  return found;
}
