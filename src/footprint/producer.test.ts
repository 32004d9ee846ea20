import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../../test/support/wait-for.ts";
import { AppError } from "../errors.ts";
import { createMemoryLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import type { FootprintEvent } from "./message.ts";
import { startProducerLoop } from "./producer.ts";
import { createEventQueue } from "./queue.ts";
import { createSpool } from "./spool.ts";

const event = (i: number): FootprintEvent => ({
  method: "GET",
  link: `/p/${i}`,
  footprint_time: "2025-05-19T13:45:30.123456+09:00",
  event_id: `id-${i}`,
  status: 200,
  duration_ms: 1,
});
const links = (values: string[]) => values.map((v) => (JSON.parse(v) as FootprintEvent).link);

describe("producer loop", () => {
  test("sends queued events as JSON in batches, in order", async () => {
    const queue = createEventQueue<FootprintEvent>(100);
    const sent: string[][] = [];
    for (let i = 0; i < 5; i++) queue.offer(event(i));
    const loop = startProducerLoop({
      queue,
      send: async (v) => void sent.push(v),
      logger: createMemoryLogger(),
      batchMax: 2,
    });
    await loop.stop();
    expect(sent.map(links)).toEqual([["/p/0", "/p/1"], ["/p/2", "/p/3"], ["/p/4"]]);
    expect(JSON.parse(sent[0]?.[0] as string)).toEqual(event(0));
  });

  test("wakes up for events offered later", async () => {
    const queue = createEventQueue<FootprintEvent>(100);
    const sent: string[] = [];
    let notify = () => {};
    const arrived = new Promise<void>((r) => {
      notify = r;
    });
    const loop = startProducerLoop({
      queue,
      send: async (v) => {
        sent.push(...v);
        notify();
      },
      logger: createMemoryLogger(),
    });
    loop.offer(event(7));
    await arrived;
    expect(links(sent)).toEqual(["/p/7"]);
    await loop.stop();
  });

  test("a failed batch is retried first, with the backoff's waits, and nothing is skipped", async () => {
    const queue = createEventQueue<FootprintEvent>(100);
    for (let i = 0; i < 3; i++) queue.offer(event(i));
    const waits: number[] = [];
    const attempts: string[][] = [];
    let failures = 3;
    const logger = createMemoryLogger();
    const loop = startProducerLoop({
      queue,
      logger,
      batchMax: 2,
      backoff: (attempt) => attempt * 100,
      sleep: async (ms) => void waits.push(ms),
      send: async (v) => {
        attempts.push(links(v));
        if (failures-- > 0) throw new Error("broker down");
      },
    });
    await loop.stop();
    expect(waits).toEqual([100, 200, 300]);
    expect(attempts).toEqual([["/p/0", "/p/1"], ["/p/0", "/p/1"], ["/p/0", "/p/1"], ["/p/0", "/p/1"], ["/p/2"]]);
    // One error line for the outage and one for the recovery, not one per attempt.
    expect(logger.lines.map((l) => l.msg)).toEqual(["kafka produce failed; retrying", "kafka produce recovered"]);
  });

  test("stop gives up after its timeout and reports what was not sent", async () => {
    const queue = createEventQueue<FootprintEvent>(100);
    for (let i = 0; i < 4; i++) queue.offer(event(i));
    const logger = createMemoryLogger();
    const loop = startProducerLoop({
      queue,
      logger,
      backoff: () => 5,
      send: async () => {
        throw new Error("broker down");
      },
    });
    expect(await loop.stop(50)).toEqual({ unsent: 4, spooled: 0 });
    expect(logger.lines.at(-1)).toMatchObject({ msg: "footprint events not sent before shutdown", unsent: 4 });
  });

  test("a send Kafka never acknowledges is reported once, not sent again beside itself, and stop still ends at its deadline", async () => {
    const queue = createEventQueue<FootprintEvent>(100);
    for (let i = 0; i < 3; i++) queue.offer(event(i));
    const logger = createMemoryLogger();
    let sends = 0;
    const loop = startProducerLoop({
      queue,
      logger,
      ackReportMs: 20,
      // Like kafkajs's idempotent producer on a partition the broker keeps refusing: retried forever.
      send: () => {
        sends++;
        return new Promise<void>(() => {});
      },
    });
    await waitFor(
      "reported",
      async () => logger.lines.map((l) => l.msg),
      (m) => m.includes("kafka produce failed; retrying"),
    );
    expect(logger.lines.find((l) => l.msg === "kafka produce failed; retrying")).toMatchObject({
      err: { message: "no acknowledgement from Kafka within 20 ms" },
    });
    const started = Date.now();
    expect(await loop.stop(100)).toEqual({ unsent: 3, spooled: 0 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(sends).toBe(1);
    expect(logger.lines.filter((l) => l.msg === "kafka produce failed; retrying")).toHaveLength(1);
  });

  test("dropped events are reported, never silent", async () => {
    const queue = createEventQueue<FootprintEvent>(1);
    queue.offer(event(1));
    queue.offer(event(2));
    queue.offer(event(3));
    const logger = createMemoryLogger();
    const loop = startProducerLoop({ queue, logger, send: async () => {}, dropReportMs: 5 });
    await loop.stop();
    expect(logger.lines.filter((l) => l.msg === "footprint events dropped")).toEqual([
      expect.objectContaining({ dropped: 2 }),
    ]);
  });
});

describe("producer loop with a disk spool", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const spoolIn = (dir?: string, maxBytes = 10 * 1024 * 1024) => {
    const d = dir ?? mkdtempSync(join(tmpdir(), "eft-spool-"));
    dirs.push(d);
    return { dir: d, spool: createSpool({ dir: d, maxBytes, logger: createMemoryLogger(), writeMs: 5 }) };
  };
  const gate = () => {
    const g = { down: true, sent: [] as string[], open: () => {} };
    let opened: () => void = () => {};
    const ready = new Promise<void>((r) => {
      opened = r;
    });
    g.open = () => {
      g.down = false;
      opened();
    };
    return {
      g,
      send: async (v: string[]) => {
        if (g.down) throw new Error("broker down");
        g.sent.push(...v);
      },
      ready,
    };
  };

  /** The next start on the same spool dir, with Kafka taking everything. */
  const restartWithKafkaUp = (dir: string) => {
    const up = gate();
    up.g.open();
    const next = startProducerLoop({
      queue: createEventQueue<FootprintEvent>(100),
      spool: spoolIn(dir).spool,
      send: up.send,
      logger: createMemoryLogger(),
    });
    return { next, up };
  };

  test("overflow goes to the spool and everything arrives in order once Kafka is back", async () => {
    const { spool } = spoolIn();
    const queue = createEventQueue<FootprintEvent>(3);
    const { g, send } = gate();
    const metrics = createMetrics();
    const loop = startProducerLoop({
      queue,
      spool,
      send,
      logger: createMemoryLogger(),
      metrics,
      backoff: () => 5,
      batchMax: 4,
    });
    for (let i = 0; i < 10; i++) expect(loop.offer(event(i))).toBe(true);
    expect(spool.isEmpty).toBe(false);
    g.open();
    // Arriving while the spool drains: queued behind it, not ahead of it.
    for (let i = 10; i < 12; i++) loop.offer(event(i));
    await waitFor(
      "all sent",
      async () => g.sent.length,
      (n) => n === 12,
    );
    expect(links(g.sent)).toEqual(Array.from({ length: 12 }, (_, i) => `/p/${i}`));
    expect((await metrics.eventsSpooled.get()).values[0]?.value).toBeGreaterThanOrEqual(7);
    expect((await metrics.eventsProduced.get()).values[0]?.value).toBe(12);
    await loop.stop();
    expect(spool.isEmpty).toBe(true);
  });

  test("stopping while Kafka is down keeps everything in the spool; the next start sends it first", async () => {
    const { dir, spool } = spoolIn();
    const queue = createEventQueue<FootprintEvent>(100);
    const down = gate();
    const loop = startProducerLoop({ queue, spool, send: down.send, logger: createMemoryLogger(), backoff: () => 5 });
    for (let i = 0; i < 5; i++) loop.offer(event(i));
    expect(await loop.stop(30)).toEqual({ unsent: 0, spooled: 5 });

    const { next, up } = restartWithKafkaUp(dir);
    next.offer(event(5));
    await waitFor(
      "all sent",
      async () => up.g.sent.length,
      (n) => n === 6,
    );
    expect(links(up.g.sent)).toEqual(Array.from({ length: 6 }, (_, i) => `/p/${i}`));
    await next.stop();
  });

  for (const [how, kafkaDown] of [
    ["refuses every send", () => Promise.reject(new Error("broker down"))],
    ["never acknowledges", () => new Promise<void>(() => {})],
  ] as const) {
    test(`order is kept across a shutdown while Kafka ${how}: memory, then spool, then the next run's events`, async () => {
      const { dir, spool } = spoolIn();
      let attempts = 0;
      // A memory queue of 3: the loop takes a first batch (and keeps sending it), events fill
      // the queue, then overflow to the spool; stop() comes before the spill time.
      const loop = startProducerLoop({
        queue: createEventQueue<FootprintEvent>(3),
        spool,
        send: () => {
          attempts++;
          return kafkaDown();
        },
        logger: createMemoryLogger(),
        backoff: () => 5,
        batchMax: 2,
        spillMs: 60_000,
      });
      loop.offer(event(0));
      loop.offer(event(1));
      await waitFor(
        "a first send",
        async () => attempts,
        (n) => n > 0,
      );
      for (let i = 2; i < 10; i++) expect(loop.offer(event(i))).toBe(true);
      expect(await loop.stop(30)).toMatchObject({ unsent: 0 });

      const { next, up } = restartWithKafkaUp(dir);
      for (let i = 10; i < 12; i++) next.offer(event(i));
      await waitFor(
        "all sent",
        async () => up.g.sent.length,
        (n) => n >= 12,
      );
      await next.stop();
      expect(links(up.g.sent)).toEqual(Array.from({ length: 12 }, (_, i) => `/p/${i}`));
    });
  }

  test("unacknowledged past spillMs, memory moves to the spool in order; the batch in flight, once acknowledged, is not sent again", async () => {
    const { spool } = spoolIn();
    const sent: string[] = [];
    const inFlight: (() => void)[] = [];
    const metrics = createMetrics();
    // Kafka takes requests and acknowledges none until told to.
    let acking = false;
    const send = (v: string[]) =>
      new Promise<void>((resolve) => {
        const ack = () => {
          sent.push(...v);
          resolve();
        };
        if (acking) ack();
        else inFlight.push(ack);
      });
    const loop = startProducerLoop({
      queue: createEventQueue<FootprintEvent>(1000),
      spool,
      send,
      logger: createMemoryLogger(),
      metrics,
      batchMax: 3,
      spillMs: 20,
    });
    for (let i = 0; i < 8; i++) loop.offer(event(i));
    // Without a stop and with room in memory: all eight are on disk once they waited 20 ms.
    await waitFor(
      "everything spilled",
      async () => (await metrics.eventsSpooled.get()).values[0]?.value ?? 0,
      (n) => n === 8,
    );
    expect(inFlight.length).toBe(1);
    for (let i = 8; i < 10; i++) loop.offer(event(i)); // behind the spool, into it
    acking = true;
    inFlight[0]?.();
    await waitFor(
      "all sent",
      async () => sent.length,
      (n) => n >= 10,
    );
    await loop.stop();
    expect(links(sent)).toEqual(Array.from({ length: 10 }, (_, i) => `/p/${i}`));
    expect(spool.isEmpty).toBe(true);
  });

  test("the topic missing is like Kafka down: stop keeps everything in the spool, and the watch's line is the only one", async () => {
    const { spool } = spoolIn();
    const logger = createMemoryLogger();
    const loop = startProducerLoop({
      queue: createEventQueue<FootprintEvent>(100),
      spool,
      send: () => Promise.reject(new AppError("TOPIC_MISSING", 'topic "t" does not exist')),
      logger,
      backoff: () => 5,
    });
    for (let i = 0; i < 3; i++) loop.offer(event(i));
    expect(await loop.stop(30)).toEqual({ unsent: 0, spooled: 3 });
    expect(logger.lines.map((l) => l.msg)).not.toContain("kafka produce failed; retrying");
    expect(logger.lines.at(-1)).toMatchObject({
      msg: "footprints kept in the disk spool for the next start",
      spooled: 3,
    });
  });

  test("a full spool drops, counts and reports what it cannot keep", async () => {
    const { spool } = spoolIn(undefined, 600);
    const queue = createEventQueue<FootprintEvent>(1);
    const { send } = gate();
    const metrics = createMetrics();
    const logger = createMemoryLogger();
    const loop = startProducerLoop({ queue, spool, send, logger, metrics, backoff: () => 5, dropReportMs: 5 });
    const accepted = Array.from({ length: 20 }, (_, i) => loop.offer(event(i))).filter(Boolean).length;
    expect(accepted).toBeLessThan(20);
    const dropped = (await metrics.eventsDropped.get()).values.find((v) => v.labels.reason === "spool_full")?.value;
    expect(dropped).toBe(20 - accepted);
    await waitFor("reported", async () => logger.lines.some((l) => l.msg === "footprint events dropped"), Boolean);
    await loop.stop(10);
  });
});
