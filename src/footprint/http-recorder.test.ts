import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { waitFor } from "../../test/support/wait-for.ts";
import { type HttpRecorderDeps, type HttpRecorderOptions, httpRecorder } from "./http-recorder.ts";
import type { FootprintEvent } from "./message.ts";
import { footprint } from "./middleware.ts";

/*
 * The delivery contract: an event offered and accepted is either sent (a 2xx) or counted as lost
 * and reported (refused by the service, or not accepted within retryMaxMs) or, past queueMax,
 * dropped and reported — never silently gone, and never thrown into a request. A batch keeps its
 * events' ids through every retry and split, so the service stores each event once.
 */

const URL_ = "http://ingest.test/_footprint/api/v1/footprints";

let serial = 0;
function event(): FootprintEvent {
  serial++;
  return {
    method: "GET",
    link: `/p/${serial}`,
    footprint_time: "2025-05-19T13:45:30.123456+09:00",
    event_id: `0190b2f8-0000-7000-8000-${String(serial).padStart(12, "0")}`,
    status: 200,
    duration_ms: 1.5,
  };
}

type Call = { url: string; headers: Headers; events: FootprintEvent[]; signal: AbortSignal | null | undefined };
type Answer = Response | Error | Promise<Response>;

/** A fetch that records each POST and answers from `answer(call, index)`; 202 by default. */
function fakeFetch(answer: (call: Call, index: number) => Answer = () => accepted()) {
  const calls: Call[] = [];
  const fetch: typeof globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      headers: new Headers(init?.headers),
      events: JSON.parse(String(init?.body)),
      signal: init?.signal,
    };
    calls.push(call);
    const a = answer(call, calls.length - 1);
    if (a instanceof Error) throw a;
    return a;
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const accepted = () => new Response('{"accepted":1}', { status: 202 });
const refused = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

/** A recorder on a fake clock: sleeps are recorded and move the clock, nothing waits for real. */
function recorderWith(options: Partial<HttpRecorderOptions> & Pick<HttpRecorderOptions, "fetch">) {
  let ms = 1_000_000;
  const slept: number[] = [];
  const reports: { message: string; details: Record<string, unknown> }[] = [];
  const deps: HttpRecorderDeps = {
    now: () => ms,
    sleep: async (wait) => {
      slept.push(wait);
      ms += wait;
    },
    backoff: (attempt) => 100 * 2 ** (attempt - 1),
  };
  const recorder = httpRecorder(
    {
      url: URL_,
      key: "k-123",
      lingerMs: 60_000,
      onError: (message, details) => reports.push({ message, details }),
      ...options,
    },
    deps,
  );
  return { recorder, slept, reports };
}

const ids = (events: FootprintEvent[]) => events.map((e) => e.event_id);

describe("httpRecorder: batching", () => {
  test("a full batch goes at once, as JSON with the key; the rest waits for the linger", async () => {
    const { fetch, calls } = fakeFetch();
    const { recorder } = recorderWith({ fetch, batchMax: 3 });
    const events = Array.from({ length: 7 }, event);
    for (const e of events) expect(recorder.record(e)).toBe(true);
    await waitFor(
      "two batches",
      async () => calls.length,
      (n) => n === 2,
      2000,
      5,
    );
    expect(calls.map((c) => c.events.length)).toEqual([3, 3]);
    const first = calls[0] as Call;
    expect(first.url).toBe(URL_);
    expect(first.headers.get("content-type")).toBe("application/json");
    expect(first.headers.get("x-footprint-key")).toBe("k-123");
    expect(recorder.stats()).toMatchObject({ queued: 1, sent: 6 });
    await recorder.flush();
    expect(calls.flatMap((c) => ids(c.events))).toEqual(ids(events));
    expect(recorder.stats()).toEqual({ queued: 0, sent: 7, dropped: 0, lost: 0, retries: 0 });
  });

  test("fewer than a batch are sent after lingerMs, together", async () => {
    const { fetch, calls } = fakeFetch();
    const { recorder } = recorderWith({ fetch, lingerMs: 40 });
    const started = performance.now();
    recorder.record(event());
    recorder.record(event());
    expect(calls).toHaveLength(0);
    await waitFor(
      "the lingered batch",
      async () => calls.length,
      (n) => n === 1,
      2000,
      5,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    expect(calls[0]?.events).toHaveLength(2);
    await recorder.flush();
    expect(recorder.stats().sent).toBe(2);
  });
});

describe("httpRecorder: answers", () => {
  test("503 is retried with backoff, the same events and ids each time, then counted sent", async () => {
    const { fetch, calls } = fakeFetch((_c, i) =>
      i < 2 ? refused(503, "KAFKA_UNAVAILABLE", "Kafka did not acknowledge the events in time") : accepted(),
    );
    const { recorder, slept, reports } = recorderWith({ fetch });
    const events = Array.from({ length: 4 }, event);
    for (const e of events) recorder.record(e);
    await recorder.flush();
    expect(calls).toHaveLength(3);
    for (const c of calls) expect(ids(c.events)).toEqual(ids(events));
    expect(slept).toEqual([100, 200]);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 4, dropped: 0, lost: 0, retries: 2 });
    // Reported once per batch, not per attempt.
    expect(reports.map((r) => r.message)).toEqual([
      "ingest failed (503 KAFKA_UNAVAILABLE: Kafka did not acknowledge the events in time); retrying",
    ]);
  });

  test("Retry-After is honoured on 429 and 503; network errors and 408 are retried too", async () => {
    const { fetch, calls } = fakeFetch(
      (_c, i) =>
        [
          refused(429, "RATE_LIMITED", "slow down", { "Retry-After": "7" }),
          new TypeError("fetch failed: connection refused"),
          new Response("", { status: 408 }),
          refused(503, "TOPIC_MISSING", "no topic", { "Retry-After": "2" }),
        ][i] ?? accepted(),
    );
    const { recorder, slept } = recorderWith({ fetch });
    recorder.record(event());
    await recorder.flush();
    expect(calls).toHaveLength(5);
    expect(slept).toEqual([7000, 200, 400, 2000]);
    expect(recorder.stats()).toMatchObject({ sent: 1, lost: 0, retries: 4 });
  });

  test("a batch not accepted within retryMaxMs is lost, counted and reported with the last answer", async () => {
    const { fetch, calls } = fakeFetch(() => refused(503, "KAFKA_UNAVAILABLE", "down"));
    const { recorder, slept, reports } = recorderWith({ fetch, retryMaxMs: 1000 });
    recorder.record(event());
    recorder.record(event());
    await recorder.flush();
    // 100 + 200 + 400 = 700 ms waited; the next 800 would end past 1000.
    expect(slept).toEqual([100, 200, 400]);
    expect(calls).toHaveLength(4);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 0, dropped: 0, lost: 2, retries: 3 });
    expect(reports.at(-1)).toEqual({
      message: "2 footprints lost: not accepted within 1000 ms; last: 503 KAFKA_UNAVAILABLE: down",
      details: { status: 503, code: "KAFKA_UNAVAILABLE", events: 2, lost: 2 },
    });
  });

  test("413 splits the batch in halves until it fits; every event sent once", async () => {
    const { fetch, calls } = fakeFetch((c) =>
      c.events.length > 2 ? refused(413, "TOO_MANY_EVENTS", "too many") : accepted(),
    );
    const { recorder } = recorderWith({ fetch });
    const events = Array.from({ length: 5 }, event);
    for (const e of events) recorder.record(e);
    await recorder.flush();
    expect(calls.map((c) => c.events.length)).toEqual([5, 3, 2, 1, 2]);
    const sent = calls.filter((c) => c.events.length <= 2).flatMap((c) => ids(c.events));
    expect(sent).toEqual(ids(events));
    expect(recorder.stats()).toMatchObject({ sent: 5, lost: 0, retries: 0 });
  });

  test("one event too large on its own is lost, with PAYLOAD_TOO_LARGE", async () => {
    const { fetch } = fakeFetch(() => refused(413, "PAYLOAD_TOO_LARGE", "the body is larger than 1048576 bytes"));
    const { recorder, reports } = recorderWith({ fetch });
    recorder.record(event());
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ sent: 0, lost: 1 });
    expect(reports[0]?.details).toMatchObject({ status: 413, code: "PAYLOAD_TOO_LARGE" });
  });

  test.each([
    [400, "INGEST_INVALID", "1 invalid field; nothing was accepted"],
    [401, "INGEST_KEY_INVALID", "the X-Footprint-Key is not valid"],
    [404, "INGEST_DISABLED", "the ingest endpoint is disabled: set INGEST_KEYS to enable it"],
  ])("%p %s is not retried: lost, reported once with the service's code", async (status, code, message) => {
    const { fetch, calls } = fakeFetch(() => refused(status, code, message));
    const { recorder, reports, slept } = recorderWith({ fetch });
    for (let i = 0; i < 3; i++) recorder.record(event());
    await recorder.flush();
    expect(calls).toHaveLength(1);
    expect(slept).toEqual([]);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 0, dropped: 0, lost: 3, retries: 0 });
    expect(reports).toEqual([
      {
        message: `3 footprints lost: ingest answered ${status} ${code}: ${message}`,
        details: { status, code, events: 3, lost: 3 },
      },
    ]);
  });

  test("an answer that is not the service's JSON is named by its status", async () => {
    const { fetch } = fakeFetch(() => new Response("<html>nope</html>", { status: 403, statusText: "Forbidden" }));
    const { recorder, reports } = recorderWith({ fetch });
    recorder.record(event());
    await recorder.flush();
    expect(reports[0]?.message).toBe("1 footprints lost: ingest answered 403 HTTP_403: Forbidden");
  });
});

describe("httpRecorder: bounds and lifecycle", () => {
  test("beyond queueMax events are dropped, counted and reported; record never throws", async () => {
    let release = () => {};
    const gate = new Promise<Response>((resolve) => {
      release = () => resolve(accepted());
    });
    const { fetch, calls } = fakeFetch(() => gate);
    const { recorder, reports } = recorderWith({ fetch, queueMax: 3, batchMax: 2 });
    const offered = Array.from({ length: 6 }, () => recorder.record(event()));
    expect(offered).toEqual([true, true, true, false, false, false]);
    expect(recorder.stats()).toMatchObject({ queued: 3, dropped: 3 });
    expect(reports.at(-1)).toEqual({
      message: "footprint dropped: the HTTP recorder holds 3 events (queueMax) already",
      details: { dropped: 3 },
    });
    release();
    await recorder.flush();
    expect(calls.map((c) => c.events.length)).toEqual([2, 1]);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 3, dropped: 3, lost: 0, retries: 0 });
    expect(recorder.record(event())).toBe(true);
  });

  test("stop() sends what is queued, then refuses new events", async () => {
    const { fetch, calls } = fakeFetch();
    const { recorder } = recorderWith({ fetch });
    for (let i = 0; i < 3; i++) recorder.record(event());
    await recorder.stop();
    expect(calls.map((c) => c.events.length)).toEqual([3]);
    expect(recorder.record(event())).toBe(false);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 3, dropped: 1, lost: 0, retries: 0 });
  });

  test("stop() out of time aborts the POST in flight and counts the rest lost", async () => {
    const { fetch, calls } = fakeFetch(
      (c) =>
        new Promise<Response>((_resolve, reject) => {
          c.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
        }),
    );
    const { recorder, reports } = recorderWith({ fetch, batchMax: 2 });
    for (let i = 0; i < 5; i++) recorder.record(event());
    await recorder.stop(50);
    expect(calls).toHaveLength(1);
    expect(recorder.stats()).toEqual({ queued: 0, sent: 0, dropped: 0, lost: 5, retries: 0 });
    expect(reports.map((r) => r.message)).toContain(
      "2 footprints lost: the HTTP recorder was stopped before they were sent",
    );
  });

  test("bad options fail at construction, naming the option", () => {
    const fetch = fakeFetch().fetch;
    expect(() => httpRecorder({ url: "not a url", key: "k", fetch })).toThrow("url is not a URL");
    expect(() => httpRecorder({ url: URL_, key: "", fetch })).toThrow("key must be");
    expect(() => httpRecorder({ url: URL_, key: "k", batchMax: 0, fetch })).toThrow("batchMax must be");
    expect(() => httpRecorder({ url: URL_, key: "k", queueMax: 1.5, fetch })).toThrow("queueMax must be");
    expect(() => httpRecorder({ url: URL_, key: "k", lingerMs: -1, fetch })).toThrow("lingerMs must be");
  });
});

describe("httpRecorder with footprint()", () => {
  test("on a runtime with waitUntil the response does not wait; waitUntil gets the flush", async () => {
    let release = () => {};
    const gate = new Promise<Response>((resolve) => {
      release = () => resolve(accepted());
    });
    const { fetch, calls } = fakeFetch(() => gate);
    const { recorder } = recorderWith({ fetch, lingerMs: 0 });
    const app = new Hono().use(footprint({ record: recorder.record })).get("/", (c) => c.text("hi"));
    const kept: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => kept.push(p), passThroughOnException: () => {}, props: {} };
    const res = await app.fetch(new Request("http://x/"), {}, ctx);
    expect(await res.text()).toBe("hi");
    expect(kept).toHaveLength(1);
    let settled = false;
    void kept[0]?.then(() => {
      settled = true;
    });
    await waitFor(
      "the POST",
      async () => calls.length,
      (n) => n === 1,
      2000,
      5,
    );
    expect(settled).toBe(false);
    release();
    await kept[0];
    expect(recorder.stats()).toMatchObject({ sent: 1, queued: 0 });
  });

  test("without an execution context (Bun, Node, app.request) nothing is asked of it", async () => {
    const { fetch, calls } = fakeFetch();
    const { recorder } = recorderWith({ fetch, lingerMs: 0 });
    const app = new Hono().use(footprint({ record: recorder.record })).get("/", (c) => c.text("hi"));
    for (let i = 0; i < 3; i++) expect(await (await app.request("/")).text()).toBe("hi");
    await recorder.flush();
    expect(calls.flatMap((c) => c.events).map((e) => e.link)).toEqual(["/", "/", "/"]);
    expect(calls[0]?.events[0]?.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
});
