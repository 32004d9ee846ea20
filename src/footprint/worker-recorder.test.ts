import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { waitFor } from "../../test/support/wait-for.ts";
import { createMemoryLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import type { CapturedRequest } from "./capture.ts";
import { decodeCaptured } from "./capture-codec.ts";
import type { CaptureWorkerSettings, FromWorker, ToWorker } from "./capture-protocol.ts";
import { footprint } from "./middleware.ts";
import { type CaptureWorkerPort, startWorkerRecorder } from "./worker-recorder.ts";

const settings = (over: Partial<CaptureWorkerSettings["producer"]> & { brokers?: string[] } = {}) =>
  ({
    kafka: { brokers: over.brokers ?? ["127.0.0.1:1"], clientId: "test", topic: "t", topicPartitions: 1 },
    producer: { queueMax: 100, spoolDir: "", spoolMaxBytes: 1024 * 1024, ...over },
    timeZone: "Asia/Seoul",
    ipHash: false,
    inferRoutes: false,
    logLevel: "debug",
  }) satisfies CaptureWorkerSettings;

/** A worker stand-in that keeps what it is sent and answers only when told to. */
function fakeWorker() {
  const sent: ToWorker[] = [];
  let listener: ((e: MessageEvent<FromWorker>) => void) | undefined;
  const port: CaptureWorkerPort = {
    postMessage: (m) => void sent.push(m),
    addEventListener: ((type: string, l: (e: MessageEvent<FromWorker>) => void) => {
      if (type === "message") listener = l;
    }) as CaptureWorkerPort["addEventListener"],
    terminate: () => {},
  };
  return { port, sent, answer: (data: FromWorker) => listener?.({ data } as MessageEvent<FromWorker>) };
}

const request = (i: number): CapturedRequest => ({
  method: "GET",
  path: `/items/${i}`,
  status: 200,
  started: 1_000_000 + i,
  ended: 1_000_100 + i,
});

const batches = (sent: ToWorker[]) => sent.filter((m) => m.type === "batch");

describe("worker recorder: the request thread's side", () => {
  test("captured requests go to the worker in batches, as they came", async () => {
    const w = fakeWorker();
    const recorder = startWorkerRecorder({
      settings: settings(),
      logger: createMemoryLogger(),
      worker: w.port,
      batchMax: 4,
    });
    for (let i = 0; i < 6; i++) recorder.capture(request(i));
    // Four at once (a full batch), the other two after the short flush delay.
    expect(batches(w.sent).map((m) => m.batch.records)).toEqual([4]);
    await waitFor(
      "the rest posted",
      async () => batches(w.sent).length,
      (n) => n === 2,
    );
    const posted = batches(w.sent).flatMap((m) => decodeCaptured(m.batch));
    expect(posted).toEqual(Array.from({ length: 6 }, (_, i) => request(i)));
  });

  test("a worker that takes nothing: requests still answer, what does not fit is counted as dropped", async () => {
    const w = fakeWorker();
    const metrics = createMetrics();
    const recorder = startWorkerRecorder({
      settings: settings(),
      logger: createMemoryLogger(),
      metrics,
      worker: w.port,
      batchMax: 5,
      maxInFlight: 10,
    });
    const app = new Hono();
    app.use(footprint({ capture: recorder.capture, ipHash: false }));
    app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
    for (let i = 0; i < 25; i++) expect((await app.request(`/items/${i}`)).status).toBe(200);
    const dropped = (await metrics.eventsDropped.get()).values.find((v) => v.labels.reason === "worker_full");
    expect(dropped?.value).toBe(15);
    expect(batches(w.sent).reduce((n, m) => n + m.batch.records, 0)).toBe(10);
    // Once the worker takes a batch, there is room again.
    w.answer({ type: "taken", records: 5 });
    await (await app.request("/items/99")).text();
    expect(dropped?.value).toBe(15);
  });
});

describe("capture worker with a stalled Kafka (a broker that accepts connections and never answers)", () => {
  let dir: string | undefined;
  let broker: { port: number; stop(closeActive?: boolean): void } | undefined;
  afterEach(() => {
    broker?.stop(true);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("every request answers; unacknowledged footprints move to the disk spool by themselves, in order", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    broker = silent;
    dir = mkdtempSync(join(tmpdir(), "capture-worker-"));
    const metrics = createMetrics();
    const logger = createMemoryLogger();
    const recorder = startWorkerRecorder({
      settings: settings({ brokers: [`127.0.0.1:${silent.port}`], queueMax: 5, spoolDir: dir }),
      logger,
      metrics,
    });
    const app = new Hono();
    app.use(footprint({ capture: recorder.capture, ipHash: false }));
    app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
    const n = 40;
    for (let i = 0; i < n; i++) expect((await app.request(`/items/${i}`)).status).toBe(200);
    // Beyond the memory queue (5), and what waited unacknowledged past the spill time (the
    // batch in flight too), the worker spools while Kafka hangs, before any stop.
    await waitFor(
      "events spooled by the worker",
      async () => (await metrics.eventsSpooled.get()).values[0]?.value ?? 0,
      (v) => v >= n,
    );
    expect(await recorder.stop(500)).toEqual({ unsent: 0, spooled: 0 });
    const lines = readdirSync(dir)
      .filter((f) => f.endsWith(".ndjson"))
      .sort()
      .flatMap((f) =>
        readFileSync(join(dir as string, f), "utf8")
          .trim()
          .split("\n"),
      );
    const links = lines.map((l) => JSON.parse(l).link as string);
    expect(links).toEqual(Array.from({ length: n }, (_, i) => `/items/${i}`));
    expect((await metrics.eventsProduced.get()).values[0]?.value ?? 0).toBe(0);
  }, 30_000);
});
