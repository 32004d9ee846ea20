import { describe, expect, test } from "bun:test";
import { AppError } from "../src/errors.ts";
import { createMemoryLogger } from "../src/log.ts";
import { type IngestOptions, ingestRoutes } from "./ingest.ts";

const KEY = "k-0123456789abcdef";
const seed = { method: "GET", link: "/api/v1/items", footprint_time: "2025-05-19T13:45:30.123456+09:00" };
const rich = {
  ...seed,
  event_id: "0190b2f8-0000-7000-8000-000000000001",
  route: "/api/v1/items",
  status: 200,
  duration_ms: 1.5,
  host: "shop.example",
  user_agent: "curl/8",
  referrer: "https://example.org/",
  ip_hash: "a".repeat(64),
  is_bot: false,
  bytes_out: 120,
};

type Answer = {
  accepted?: number;
  event_ids?: string[];
  error?: {
    code: string;
    message: string;
    details?: { issues?: { path: string; message: string }[]; event_ids?: string[] };
  };
};
const read = (res: Response) => res.json() as Promise<Answer>;

function setup(overrides: Partial<IngestOptions> = {}) {
  const published: string[][] = [];
  let n = 0;
  const logger = createMemoryLogger();
  const app = ingestRoutes({
    keys: [KEY, "another-key-of-16-chars"],
    maxEvents: 5,
    maxBytes: 4096,
    timeoutMs: 1000,
    publish: async (values) => {
      published.push(values);
    },
    logger,
    newId: () => `0190b2f8-0000-7000-8000-00000000010${n++}`,
    ...overrides,
  });
  const post = (body: unknown, headers: Record<string, string> = { "x-footprint-key": KEY }) =>
    app.request("/api/v1/footprints", {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { app, post, published, logger };
}

describe("POST /api/v1/footprints", () => {
  test("one seed-format event: 202 once published, with an event_id made for it", async () => {
    const { post, published } = setup();
    const res = await post(seed);
    expect(res.status).toBe(202);
    expect(await read(res)).toEqual({ accepted: 1, event_ids: ["0190b2f8-0000-7000-8000-000000000100"] });
    expect(published.flat().map((v) => JSON.parse(v))).toEqual([
      { ...seed, event_id: "0190b2f8-0000-7000-8000-000000000100" },
    ]);
  });

  test("an array of rich and seed events keeps given ids and order", async () => {
    const { post, published } = setup();
    const res = await post([rich, seed]);
    expect(res.status).toBe(202);
    expect((await read(res)).event_ids).toEqual([rich.event_id, "0190b2f8-0000-7000-8000-000000000100"]);
    expect(published.flat().map((v) => JSON.parse(v))).toEqual([
      rich,
      { ...seed, event_id: "0190b2f8-0000-7000-8000-000000000100" },
    ]);
  });

  test("an unknown field is a 400 naming it, like an unknown stats parameter; nothing is published", async () => {
    const { post, published } = setup();
    const res = await post([rich, { ...seed, extra: "typo" }]);
    const body = await read(res);
    expect([res.status, body.error?.code]).toEqual([400, "INGEST_INVALID"]);
    expect(body.error?.details?.issues).toEqual([{ path: "[1]", message: expect.stringContaining("extra") }]);
    expect(published).toEqual([]);
  });

  test("a body not sent as application/json is a 415; a charset parameter is fine", async () => {
    const { post, published } = setup();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", ""]) {
      const res = await post(seed, { "x-footprint-key": KEY, "content-type": type });
      expect([type, res.status, (await read(res)).error?.code]).toEqual([type, 415, "UNSUPPORTED_MEDIA_TYPE"]);
    }
    expect(published).toEqual([]);
    for (const type of ["application/json; charset=utf-8", "Application/JSON"]) {
      expect((await post(seed, { "x-footprint-key": KEY, "content-type": type })).status).toBe(202);
    }
  });

  test("other methods on the ingest path: 405 with Allow: POST", async () => {
    const { app } = setup();
    for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
      const res = await app.request("/api/v1/footprints", { method });
      expect([method, res.status, res.headers.get("allow")]).toEqual([method, 405, "POST"]);
      expect((await read(res)).error?.code).toBe("METHOD_NOT_ALLOWED");
    }
  });

  test("no key 401, a wrong key 401, either configured key accepted", async () => {
    const { post, published } = setup();
    const missing = await post(seed, {});
    expect(missing.status).toBe(401);
    expect((await read(missing)).error?.code).toBe("INGEST_KEY_MISSING");
    const wrong = await post(seed, { "x-footprint-key": `${KEY}x` });
    expect(wrong.status).toBe(401);
    expect((await read(wrong)).error?.code).toBe("INGEST_KEY_INVALID");
    expect(published).toEqual([]);
    expect((await post(seed, { "x-footprint-key": "another-key-of-16-chars" })).status).toBe(202);
  });

  test("without configured keys the endpoint says it is disabled", async () => {
    const { post } = setup({ keys: [] });
    const res = await post(seed);
    expect(res.status).toBe(404);
    expect(await read(res)).toEqual({
      error: { code: "INGEST_DISABLED", message: "the ingest endpoint is disabled: set INGEST_KEYS to enable it" },
    });
  });

  test("too large a body or too many events: 413, nothing published", async () => {
    const { post, published } = setup();
    const big = await post({ ...seed, link: `/${"x".repeat(5000)}` });
    expect(big.status).toBe(413);
    expect((await read(big)).error?.code).toBe("PAYLOAD_TOO_LARGE");
    const many = await post(Array.from({ length: 6 }, () => seed));
    expect(many.status).toBe(413);
    expect((await read(many)).error?.code).toBe("TOO_MANY_EVENTS");
    expect(published).toEqual([]);
  });

  test("a body without Content-Length is cut off at the limit too", async () => {
    const { app } = setup();
    const chunks = [new TextEncoder().encode(`[${JSON.stringify(seed)}`), new Uint8Array(5000).fill(32)];
    const res = await app.request("/api/v1/footprints", {
      method: "POST",
      headers: { "x-footprint-key": KEY, "content-type": "application/json" },
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  test("every invalid field is named by its path, and nothing of the batch is published", async () => {
    const { post, published } = setup();
    const res = await post([
      seed,
      { ...seed, method: "GET /", status: 99 },
      { link: "", footprint_time: "yesterday" },
      "not an object",
      { ...seed, ip_hash: "1.2.3.4", is_bot: "no", link: "/a\u0000b" },
    ]);
    expect(res.status).toBe(400);
    const body = await read(res);
    expect(body.error?.code).toBe("INGEST_INVALID");
    expect(body.error?.details?.issues?.map((i) => i.path)).toEqual([
      "[1].method",
      "[1].status",
      "[2].method",
      "[2].link",
      "[2].footprint_time",
      "[3]",
      "[4].link",
      "[4].ip_hash",
      "[4].is_bot",
    ]);
    expect(published).toEqual([]);
    const nul = await post({ ...seed, link: "/a\u0000b" });
    // Text a store could not hold is refused here, by the consumer's own schema.
    expect(nul.status).toBe(400);
    expect((await read(nul)).error?.details?.issues?.map((i) => i.path)).toEqual(["link"]);
  });

  test("a single invalid object names bare fields; garbage and an empty array are 400s", async () => {
    const { post } = setup();
    const one = await post({ ...seed, duration_ms: -1 });
    expect((await read(one)).error?.details?.issues?.map((i) => i.path)).toEqual(["duration_ms"]);
    const garbage = await post("{not json");
    expect([garbage.status, (await read(garbage)).error?.code]).toEqual([400, "INGEST_NOT_JSON"]);
    const empty = await post([]);
    expect([empty.status, (await read(empty)).error?.code]).toEqual([400, "INGEST_INVALID"]);
  });

  test("Kafka failing or not acknowledging in time: 503 with the ids to retry with", async () => {
    const failing = setup({ publish: () => Promise.reject(new Error("broker down")) });
    const res = await failing.post(seed);
    expect(res.status).toBe(503);
    expect((await read(res)).error).toMatchObject({
      code: "KAFKA_UNAVAILABLE",
      details: { event_ids: ["0190b2f8-0000-7000-8000-000000000100"] },
    });
    expect(failing.logger.lines.some((l) => l.msg === "ingest: events not acknowledged by Kafka")).toBe(true);

    const hanging = setup({ publish: () => new Promise(() => {}), timeoutMs: 20 });
    expect((await hanging.post(seed)).status).toBe(503);
  });

  test("the topic missing: 503 TOPIC_MISSING with the fix, not KAFKA_UNAVAILABLE, and no log line per request", async () => {
    const message = "topic \"t\" does not exist: run 'eft-footprint migrate' to create it (TOPIC_PARTITIONS=3)";
    const missing = setup({ publish: () => Promise.reject(new AppError("TOPIC_MISSING", message, { topic: "t" })) });
    const res = await missing.post(seed);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: "TOPIC_MISSING", message, details: { topic: "t" } } });
    expect(missing.logger.lines).toEqual([]);
  });

  test("large batches go to Kafka in chunks, in order", async () => {
    const { post, published } = setup({ maxEvents: 1200, maxBytes: 1024 * 1024 });
    const events = Array.from({ length: 1200 }, (_, i) => ({ ...seed, link: `/n/${i}` }));
    expect((await post(events)).status).toBe(202);
    expect(published.map((b) => b.length)).toEqual([500, 500, 200]);
    expect(published.flat().map((v) => JSON.parse(v).link)).toEqual(events.map((e) => e.link));
  });

  test("chunks not sent when the answer was 503 stay unsent: the client resends them all", async () => {
    const started: number[] = [];
    let ackFirst = () => {};
    const { post } = setup({
      maxEvents: 1200,
      maxBytes: 1024 * 1024,
      timeoutMs: 50,
      publish: (values) => {
        started.push(values.length);
        // The first chunk is acknowledged only after the request was answered 503.
        return new Promise<void>((resolve) => {
          ackFirst = resolve;
        });
      },
    });
    const events = Array.from({ length: 1200 }, (_, i) => ({ ...seed, link: `/n/${i}` }));
    expect((await post(events)).status).toBe(503);
    ackFirst();
    await Bun.sleep(0);
    expect(started).toEqual([500]);
  });
});
