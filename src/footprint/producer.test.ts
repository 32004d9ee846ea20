import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../log.ts";
import type { FootprintEvent } from "./event.ts";
import { startProducerLoop } from "./producer.ts";
import { createEventQueue } from "./queue.ts";

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
    queue.offer(event(7));
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
    expect(await loop.stop(50)).toEqual({ unsent: 4 });
    expect(logger.lines.at(-1)).toMatchObject({ msg: "footprint events not sent before shutdown", unsent: 4 });
  });

  test("dropped events are reported, never silent", async () => {
    const queue = createEventQueue<FootprintEvent>(1);
    queue.offer(event(1));
    queue.offer(event(2));
    queue.offer(event(3));
    const logger = createMemoryLogger();
    const loop = startProducerLoop({ queue, logger, send: async () => {}, dropReportMs: 5 });
    await loop.stop();
    expect(logger.lines.filter((l) => l.msg === "footprint queue full: events dropped")).toEqual([
      expect.objectContaining({ dropped: 2 }),
    ]);
  });
});
