/**
 * The soak's ingest client: a producer that cannot reach Kafka itself and POSTs batches of events
 * to `serve`'s ingest endpoint, with event ids of its own, resending the same batch (same ids) until
 * it is answered 202, as the API asks.
 */
import { INGEST_KEY_HEADER } from "../../routes/ingest.ts";

export type IngestClient = {
  /** Events answered 202. */
  readonly accepted: number;
  /** Requests answered anything else (each resent with the same event ids). */
  readonly retries: number;
  /** Answers that are not worth a resend (4xx): a bug of the soak or of the API. */
  readonly failures: string[];
  /** Stops sending once the batch in flight is answered (Kafka is about to be stopped). */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
};

export const SOAK_INGEST_KEY = "soak-ingest-key-0123456789abcdef";

function batchOf(size: number, n: number): string {
  const now = new Date().toISOString();
  const events = Array.from({ length: size }, (_, i) => ({
    method: "POST",
    link: `/soak/ingest/${(n + i) % 50}`,
    footprint_time: now,
    event_id: Bun.randomUUIDv7(),
    status: 201,
    duration_ms: 3,
  }));
  return JSON.stringify(events);
}

/** `batch` events every `everyMs` to `{url}/_footprint/api/v1/footprints`. */
export function startIngest(url: string, batch = 10, everyMs = 500): IngestClient {
  let accepted = 0;
  let retries = 0;
  const failures: string[] = [];
  let paused = false;
  let running = true;
  let inFlight: Promise<void> = Promise.resolve();
  const post = async (body: string) => {
    for (;;) {
      try {
        const res = await fetch(`${url}/_footprint/api/v1/footprints`, {
          method: "POST",
          headers: { "content-type": "application/json", [INGEST_KEY_HEADER]: SOAK_INGEST_KEY },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (res.status === 202) {
          accepted += batch;
          return;
        }
        if (res.status >= 400 && res.status < 500) {
          failures.push(`HTTP ${res.status} ${text.slice(0, 200)}`);
          return;
        }
      } catch {
        // No answer: resent below, like a 503.
      }
      retries++;
      await Bun.sleep(1000);
    }
  };
  const loop = (async () => {
    for (let n = 0; running; n += batch) {
      const started = Date.now();
      if (!paused) {
        inFlight = post(batchOf(batch, n));
        await inFlight;
      }
      await Bun.sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  })();
  return {
    get accepted() {
      return accepted;
    },
    get retries() {
      return retries;
    },
    failures,
    async pause() {
      paused = true;
      await inFlight;
    },
    resume() {
      paused = false;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
