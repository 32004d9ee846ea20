import type { Context } from "hono";
import { type Backoff, createBackoff, sleepUnlessAborted } from "../retry.ts";
import { createErrorReporter } from "./error-reporter.ts";
import type { FootprintEvent } from "./message.ts";

export type HttpRecorderOptions = {
  /** Full ingest URL, e.g. "http://host:8080/_footprint/api/v1/footprints". */
  url: string;
  /** Sent as X-Footprint-Key: one of the service's INGEST_KEYS. */
  key: string;
  /** Most events per POST; 500 by default (the service takes up to INGEST_MAX_EVENTS, 1000). */
  batchMax?: number;
  /** How long to wait for more events before a POST; 20 ms by default. */
  lingerMs?: number;
  /** Events held (queued and in flight); beyond it they are dropped, counted and reported. */
  queueMax?: number;
  /** How long a batch is retried before it is given up, counted as lost and reported; 30 s. */
  retryMaxMs?: number;
  /** `globalThis.fetch` by default. */
  fetch?: typeof fetch;
  /** Told about retried, lost and dropped events; `createErrorReporter()` by default. */
  onError?: (message: string, details: Record<string, unknown>) => void;
};

export type HttpRecorder = {
  /** For `footprint({ record })`: queues the event and returns at once; never throws, false when dropped. */
  record(event: FootprintEvent, c?: Context): boolean;
  /** Sends everything queued now (a failing batch is retried as usual); resolves once none is left. */
  flush(): Promise<void>;
  /** Refuses new events, sends what is queued for up to `timeoutMs` (10 s), then gives the rest up as lost. */
  stop(timeoutMs?: number): Promise<void>;
  stats(): { queued: number; sent: number; dropped: number; lost: number; retries: number };
};

/** What tests replace; an app has no need to. */
export type HttpRecorderDeps = {
  /** Unix milliseconds. */
  now?: () => number;
  /** Waits `ms`, or less once `signal` aborts (stop's timeout). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  backoff?: Backoff;
};

/** The ingest route's header (routes/ingest.ts INGEST_KEY_HEADER; the library cannot import routes/). */
const KEY_HEADER = "X-Footprint-Key";

type ErrorAnswer = { status: number; code: string; message: string };

/**
 * Sends footprints to the service's ingest endpoint, for runtimes without TCP (Workers, Deno
 * Deploy, edge functions) or apps that would rather not run a Kafka client. Events wait in a
 * bounded queue and go in batches (`batchMax`, or after `lingerMs`), one POST at a time. A batch
 * keeps its events' ids through every retry, so the service stores a batch it sees twice once.
 * Given the request's context (footprint() passes it), the work is handed to
 * `c.executionCtx.waitUntil` where there is one: a Workers isolate lives until the batch is sent,
 * and the response does not wait for it.
 *
 * @example
 * const recorder = httpRecorder({ url: "https://stats.example.com/api/v1/footprints", key: INGEST_KEY });
 * app.use(footprint({ record: recorder.record }));
 */
export function httpRecorder(options: HttpRecorderOptions, deps: HttpRecorderDeps = {}): HttpRecorder {
  const { url, key } = options;
  if (typeof url !== "string" || !URL.canParse(url)) throw new TypeError(`httpRecorder: url is not a URL: ${url}`);
  if (typeof key !== "string" || key === "") throw new TypeError("httpRecorder: key must be a non-empty string");
  const batchMax = positive("batchMax", options.batchMax ?? 500, true);
  const lingerMs = positive("lingerMs", options.lingerMs ?? 20, false);
  const queueMax = positive("queueMax", options.queueMax ?? 10_000, true);
  const retryMaxMs = positive("retryMaxMs", options.retryMaxMs ?? 30_000, false);
  // Looked up when called, not now: a test (or a polyfill) may replace globalThis.fetch later.
  const send =
    options.fetch ?? ((input: Parameters<typeof fetch>[0], init?: RequestInit) => globalThis.fetch(input, init));
  const onError = options.onError ?? createErrorReporter();
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? sleepUnlessAborted;
  const backoff = deps.backoff ?? createBackoff({ initialMs: 200, maxMs: 10_000 });
  const headers = { "Content-Type": "application/json", [KEY_HEADER]: key };

  let pending: FootprintEvent[] = [];
  let inFlight = 0;
  const counts = { sent: 0, dropped: 0, lost: 0, retries: 0 };
  let linger: ReturnType<typeof setTimeout> | undefined;
  let draining: Promise<void> | undefined;
  let idle: { promise: Promise<void>; resolve: () => void } | undefined;
  let stopped = false;
  /** Aborted when stop() runs out of time: the POST in flight and any backoff end at once. */
  const giveUp = new AbortController();
  /** Whether contexts carry an execution context with waitUntil; found on the first request. */
  let hasWaitUntil: boolean | undefined;

  const report = (message: string, details: Record<string, unknown>) => {
    try {
      onError(message, details);
    } catch {
      // A failing reporter must not stop the sending, nor reach a request.
    }
  };

  /** Resolves once nothing is queued or in flight; one promise for every caller while busy. */
  const whenIdle = (): Promise<void> => {
    if (pending.length === 0 && draining === undefined) return Promise.resolve();
    if (idle === undefined) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      idle = { promise, resolve };
    }
    return idle.promise;
  };

  /** Set by flush() and stop(): send what is queued without waiting for batches to fill. */
  let forced = false;

  const drain = (force = false): Promise<void> => {
    if (force) forced = true;
    if (linger !== undefined) {
      clearTimeout(linger);
      linger = undefined;
    }
    if (draining) return draining;
    if (pending.length === 0) return Promise.resolve();
    draining = (async () => {
      try {
        do {
          const batch = pending.length <= batchMax ? pending : pending.slice(0, batchMax);
          pending = pending.length <= batchMax ? [] : pending.slice(batchMax);
          inFlight = batch.length;
          try {
            await sendBatch(batch, now() + retryMaxMs);
          } catch (err) {
            lose(batch, `${batch.length} footprints lost: ${messageOf(err)}`, {});
          } finally {
            inFlight = 0;
          }
          // Under steady traffic every POST is full or has lingered: fewer, larger requests.
        } while (pending.length >= batchMax || (pending.length > 0 && (forced || stopped)));
      } finally {
        draining = undefined;
        if (pending.length > 0) {
          linger ??= setTimeout(() => drain(), lingerMs);
        } else {
          forced = false;
          idle?.resolve();
          idle = undefined;
        }
      }
    })();
    return draining;
  };

  const lose = (batch: FootprintEvent[], message: string, details: Record<string, unknown>) => {
    counts.lost += batch.length;
    report(message, { ...details, lost: counts.lost });
  };

  /** One batch until it is accepted, refused, or out of time; a 413 is sent again in halves. */
  const sendBatch = async (batch: FootprintEvent[], deadline: number): Promise<void> => {
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      if (giveUp.signal.aborted) {
        lose(batch, `${batch.length} footprints lost: the HTTP recorder was stopped before they were sent`, {});
        return;
      }
      let failure: string;
      let details: Record<string, unknown>;
      let retryAfterMs: number | undefined;
      try {
        const res = await send(url, { method: "POST", headers, body, signal: giveUp.signal });
        if (res.ok) {
          await res.body?.cancel().catch(() => {});
          counts.sent += batch.length;
          return;
        }
        const answer = await errorAnswer(res);
        if (res.status === 413 && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          await sendBatch(batch.slice(0, half), deadline);
          await sendBatch(batch.slice(half), deadline);
          return;
        }
        details = { status: answer.status, code: answer.code, events: batch.length };
        if (!isRetryable(res.status)) {
          lose(batch, `${batch.length} footprints lost: ingest answered ${describeAnswer(answer)}`, details);
          return;
        }
        failure = describeAnswer(answer);
        retryAfterMs = retryAfter(res.headers.get("retry-after"), now());
      } catch (err) {
        if (giveUp.signal.aborted) continue;
        failure = messageOf(err);
        details = { events: batch.length };
      }
      const wait = retryAfterMs ?? backoff(attempt);
      if (now() + wait > deadline) {
        lose(batch, `${batch.length} footprints lost: not accepted within ${retryMaxMs} ms; last: ${failure}`, details);
        return;
      }
      if (attempt === 1) report(`ingest failed (${failure}); retrying`, details);
      counts.retries++;
      await sleep(wait, giveUp.signal);
    }
  };

  const keepAlive = (c: Context) => {
    if (hasWaitUntil === false) return;
    let ctx: { waitUntil?: unknown } | undefined;
    try {
      // Hono's getter throws when the runtime gave no execution context.
      ctx = c.executionCtx as { waitUntil?: unknown } | undefined;
    } catch {
      ctx = undefined;
    }
    const waitUntil = ctx?.waitUntil;
    if (typeof waitUntil !== "function") {
      hasWaitUntil ??= false;
      return;
    }
    hasWaitUntil = true;
    waitUntil.call(ctx, whenIdle());
  };

  return {
    record(event, c) {
      try {
        if (stopped || pending.length + inFlight >= queueMax) {
          counts.dropped++;
          report(
            stopped
              ? "footprint dropped: the HTTP recorder is stopped"
              : `footprint dropped: the HTTP recorder holds ${queueMax} events (queueMax) already`,
            { dropped: counts.dropped },
          );
          return false;
        }
        pending.push(event);
        if (draining === undefined) {
          if (pending.length >= batchMax) drain();
          else linger ??= setTimeout(() => drain(), lingerMs);
        }
        if (c) keepAlive(c);
        return true;
      } catch (err) {
        report(`footprint not recorded: ${messageOf(err)}`, {});
        return false;
      }
    },
    flush() {
      drain(true);
      return whenIdle();
    },
    async stop(timeoutMs = 10_000) {
      stopped = true;
      drain(true);
      const done = whenIdle();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        done.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        giveUp.abort();
        await done;
      }
    },
    stats: () => ({ queued: pending.length + inFlight, ...counts }),
  };
}

/** 5xx (KAFKA_UNAVAILABLE, TOPIC_MISSING, a proxy's 502), 429 and 408 may pass; other 4xx will not. */
function isRetryable(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** The service's `{ error: { code, message } }`, or the status text of whatever else answered. */
async function errorAnswer(res: Response): Promise<ErrorAnswer> {
  let text = "";
  try {
    text = await res.text();
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const code = body?.error?.code;
    if (typeof code === "string") {
      const message = typeof body.error?.message === "string" ? body.error.message : "";
      return { status: res.status, code, message };
    }
  } catch {
    // Not the service's JSON (a proxy's page, a cut body): the status says enough.
  }
  return { status: res.status, code: `HTTP_${res.status}`, message: res.statusText || text.slice(0, 200) };
}

function describeAnswer(a: ErrorAnswer): string {
  return `${a.status} ${a.code}${a.message ? `: ${a.message}` : ""}`;
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
function retryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function positive(name: string, value: number, integer: boolean): number {
  const ok = integer ? Number.isInteger(value) && value > 0 : Number.isFinite(value) && value >= 0;
  if (!ok)
    throw new RangeError(`httpRecorder: ${name} must be ${integer ? "a positive integer" : "≥ 0"}, got ${value}`);
  return value;
}
