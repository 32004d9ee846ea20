import type { Context } from "hono";
import { type Backoff, createBackoff, sleepUnlessAborted } from "../retry.ts";
import { createErrorReporter } from "./error-reporter.ts";
import type { FootprintEvent } from "./message.ts";
import { createWaitUntil } from "./wait-until.ts";

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
  /**
   * `globalThis.fetch` by default. Any function of fetch's shape: `typeof fetch` fits,
   * and so does a wrapper with no cast (Bun's `typeof fetch` would require `preconnect`).
   */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
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
  const o = parseOptions(options);
  const counts: Counts = { sent: 0, dropped: 0, lost: 0, retries: 0 };
  const onError = options.onError ?? createErrorReporter();
  const report: Report = (message, details) => {
    try {
      onError(message, details);
    } catch {
      // A failing reporter must not stop the sending, nor reach a request.
    }
  };
  /** Aborted when stop() runs out of time: the POST in flight and any backoff end at once. */
  const giveUp = new AbortController();
  const sendBatch = createBatchSender(o, deps, counts, report, giveUp.signal);
  const queue = createSendQueue(o, sendBatch);
  const waitUntil = createWaitUntil();
  let stopped = false;

  return {
    record(event, c) {
      try {
        if (stopped || queue.held() >= o.queueMax) {
          counts.dropped++;
          report(
            stopped
              ? "footprint dropped: the HTTP recorder is stopped"
              : `footprint dropped: the HTTP recorder holds ${o.queueMax} events (queueMax) already`,
            { dropped: counts.dropped },
          );
          return false;
        }
        queue.push(event);
        // On Workers the isolate is kept until the batch is sent.
        if (c) waitUntil(c, queue.whenIdle);
        return true;
      } catch (err) {
        report(`footprint not recorded: ${messageOf(err)}`, {});
        return false;
      }
    },
    flush: () => queue.flush(),
    async stop(timeoutMs = 10_000) {
      stopped = true;
      const done = queue.flush();
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
    stats: () => ({ queued: queue.held(), ...counts }),
  };
}

type Counts = { sent: number; dropped: number; lost: number; retries: number };
type Report = (message: string, details: Record<string, unknown>) => void;
type ParsedOptions = Required<Omit<HttpRecorderOptions, "onError" | "fetch">> & {
  fetch: (url: string, init: RequestInit) => Promise<Response>;
};
/** Sends one batch until it is accepted, refused or given up; never rejects. */
type SendBatch = (batch: FootprintEvent[]) => Promise<void>;

/** Bad options fail at construction, naming the option. */
function parseOptions(options: HttpRecorderOptions): ParsedOptions {
  const { url, key } = options;
  if (typeof url !== "string" || !URL.canParse(url)) throw new TypeError(`httpRecorder: url is not a URL: ${url}`);
  if (typeof key !== "string" || key === "") throw new TypeError("httpRecorder: key must be a non-empty string");
  return {
    url,
    key,
    batchMax: positive("batchMax", options.batchMax ?? 500, true),
    lingerMs: positive("lingerMs", options.lingerMs ?? 20, false),
    queueMax: positive("queueMax", options.queueMax ?? 10_000, true),
    retryMaxMs: positive("retryMaxMs", options.retryMaxMs ?? 30_000, false),
    // Looked up when called, not now: a test (or a polyfill) may replace globalThis.fetch later.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  };
}

/**
 * The events waiting, and the one loop that sends them: a full batch goes at once, a smaller one
 * after lingerMs, or at once when flushed. Whoever waits for it to be idle shares one promise.
 */
function createSendQueue(o: ParsedOptions, sendBatch: SendBatch) {
  let pending: FootprintEvent[] = [];
  let inFlight = 0;
  let linger: ReturnType<typeof setTimeout> | undefined;
  let draining: Promise<void> | undefined;
  let idle: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set by flush(): send what is queued without waiting for batches to fill. */
  let forced = false;

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

  const sendAll = async () => {
    try {
      do {
        const batch = pending.length <= o.batchMax ? pending : pending.slice(0, o.batchMax);
        pending = pending.length <= o.batchMax ? [] : pending.slice(o.batchMax);
        inFlight = batch.length;
        await sendBatch(batch);
        inFlight = 0;
        // Under steady traffic every POST is full or has lingered: fewer, larger requests.
      } while (pending.length >= o.batchMax || (pending.length > 0 && forced));
    } finally {
      inFlight = 0;
      draining = undefined;
      if (pending.length > 0) {
        linger ??= setTimeout(drain, o.lingerMs);
      } else {
        forced = false;
        idle?.resolve();
        idle = undefined;
      }
    }
  };

  function drain(): void {
    if (linger !== undefined) {
      clearTimeout(linger);
      linger = undefined;
    }
    if (draining === undefined && pending.length > 0) draining = sendAll();
  }

  return {
    whenIdle,
    held: () => pending.length + inFlight,
    push(event: FootprintEvent) {
      pending.push(event);
      if (draining !== undefined) return;
      if (pending.length >= o.batchMax) drain();
      else linger ??= setTimeout(drain, o.lingerMs);
    },
    flush(): Promise<void> {
      forced = true;
      drain();
      return whenIdle();
    },
  };
}

/** One batch until it is accepted, refused, or out of time (retryMaxMs); a 413 is sent again in halves. */
function createBatchSender(
  o: ParsedOptions,
  deps: HttpRecorderDeps,
  counts: Counts,
  report: Report,
  giveUp: AbortSignal,
): SendBatch {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? sleepUnlessAborted;
  const backoff = deps.backoff ?? createBackoff({ initialMs: 200, maxMs: 10_000 });
  const headers = { "Content-Type": "application/json", [KEY_HEADER]: o.key };
  const lose = (batch: FootprintEvent[], message: string, details: Record<string, unknown>) => {
    counts.lost += batch.length;
    report(`${batch.length} footprints lost: ${message}`, { ...details, lost: counts.lost });
  };

  const sendBatch = async (batch: FootprintEvent[], deadline: number): Promise<void> => {
    const body = JSON.stringify(batch);
    for (let attempt = 1; ; attempt++) {
      if (giveUp.aborted) return lose(batch, "the HTTP recorder was stopped before they were sent", {});
      const outcome = await post(o, headers, body, giveUp);
      if (outcome.sent) {
        counts.sent += batch.length;
        return;
      }
      const { failure, answer } = outcome;
      const details = answer
        ? { status: answer.status, code: answer.code, events: batch.length }
        : { events: batch.length };
      if (answer?.status === 413 && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await sendBatch(batch.slice(0, half), deadline);
        return sendBatch(batch.slice(half), deadline);
      }
      if (answer && !isRetryable(answer.status)) return lose(batch, `ingest answered ${failure}`, details);
      if (giveUp.aborted) continue;
      const wait = outcome.retryAfterMs ?? backoff(attempt);
      if (now() + wait > deadline) {
        return lose(batch, `not accepted within ${o.retryMaxMs} ms; last: ${failure}`, details);
      }
      if (attempt === 1) report(`ingest failed (${failure}); retrying`, details);
      counts.retries++;
      await sleep(wait, giveUp);
    }
  };
  return async (batch) => {
    try {
      await sendBatch(batch, now() + o.retryMaxMs);
    } catch (err) {
      lose(batch, messageOf(err), {});
    }
  };
}

type PostOutcome =
  | { sent: true }
  | { sent: false; failure: string; answer?: ErrorAnswer | undefined; retryAfterMs?: number | undefined };

/** One POST: sent, or why not (the service's answer, or the network error). */
async function post(
  o: ParsedOptions,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
): Promise<PostOutcome> {
  try {
    const res = await o.fetch(o.url, { method: "POST", headers, body, signal });
    if (res.ok) {
      await res.body?.cancel().catch(() => {});
      return { sent: true };
    }
    const answer = await errorAnswer(res);
    return {
      sent: false,
      failure: describeAnswer(answer),
      answer,
      retryAfterMs: retryAfter(res.headers.get("retry-after")),
    };
  } catch (err) {
    return { sent: false, failure: messageOf(err) };
  }
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
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
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
