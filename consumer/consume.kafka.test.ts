/**
 * The delivery contract on a real broker: an offset is committed only once every store holds its
 * message or the message was found invalid — never merely because a write failed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { waitFor } from "../e2e/support.ts";
import { createKafka } from "../src/kafka.ts";
import { createMemoryLogger } from "../src/log.ts";
import type { FootprintRow, Store } from "../src/store/store.ts";
import { createTestTopic } from "../test/support/stack.ts";
import { startConsumer } from "./consume.ts";

type Gate = { attempts: number; batches: FootprintRow[][]; failing: boolean };

function gatedStore(gate: Gate, name: Store["name"] = "postgres"): Store {
  return {
    name,
    async insertFootprints(rows) {
      gate.attempts++;
      if (gate.failing) throw new Error(`${name} is down`);
      gate.batches.push([...rows]);
    },
    migrate: async () => [],
    countFootprints: async () => gate.batches.flat().length,
    ping: async () => {},
    close: async () => {},
  };
}

const message = (i: number) =>
  JSON.stringify({ method: "GET", link: `/m/${i}`, footprint_time: "2025-05-19T13:45:30.123456+09:00" });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(values: string[], options: { batchSize: number; flushMs: number }, gate: Gate) {
  const t = await createTestTopic();
  cleanups.push(() => t.drop());
  const kafka = new Kafka({ brokers: t.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: t.topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const committed = async () => {
    const [entry] = await admin.fetchOffsets({ groupId: t.groupId, topics: [t.topic] });
    return entry?.partitions[0]?.offset;
  };
  const logger = createMemoryLogger();
  const consumer = await startConsumer({
    kafka: createKafka({ brokers: t.brokers, clientId: "test", logger }),
    topic: t.topic,
    groupId: t.groupId,
    fromBeginning: true,
    stores: [gatedStore(gate)],
    logger,
    backoff: () => 20,
    ...options,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await consumer.stop();
  };
  cleanups.push(stop);
  return { committed, stop, logger };
}

describe("consumer on a real broker", () => {
  test("while a store fails nothing is committed; once it accepts, the offsets are", async () => {
    const gate: Gate = { attempts: 0, batches: [], failing: true };
    const { committed } = await setup(
      Array.from({ length: 10 }, (_, i) => message(i)),
      { batchSize: 100, flushMs: 50 },
      gate,
    );
    await waitFor(
      "three failed attempts",
      async () => gate.attempts,
      (n) => n >= 3,
    );
    expect(await committed()).toBe("-1");
    gate.failing = false;
    await waitFor("offsets committed", committed, (o) => o === "10");
    expect(gate.batches.flat().map((r) => r.link)).toEqual(Array.from({ length: 10 }, (_, i) => `/m/${i}`));
  }, 60_000);

  test("invalid messages are skipped, logged with their offset, and committed", async () => {
    const gate: Gate = { attempts: 0, batches: [], failing: false };
    const { committed, logger } = await setup(
      [message(0), "garbage", message(2)],
      { batchSize: 100, flushMs: 50 },
      gate,
    );
    await waitFor("offsets committed", committed, (o) => o === "3");
    expect(gate.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/2"]);
    expect(logger.lines.find((l) => l.msg === "invalid message skipped")).toMatchObject({
      offset: "1",
      partition: 0,
      code: "MESSAGE_NOT_JSON",
    });
  }, 60_000);

  test("a batch is written when it reaches the batch size; the rest on stop", async () => {
    const gate: Gate = { attempts: 0, batches: [], failing: false };
    const { committed, stop } = await setup(
      Array.from({ length: 12 }, (_, i) => message(i)),
      { batchSize: 5, flushMs: 600_000 },
      gate,
    );
    await waitFor(
      "two full batches",
      async () => gate.batches.length,
      (n) => n >= 2,
    );
    expect(await committed()).toBe("10");
    await stop();
    expect(gate.batches.map((b) => b.length)).toEqual([5, 5, 2]);
    expect(await committed()).toBe("12");
  }, 60_000);

  test("a partial batch is written when its oldest message reaches the flush interval", async () => {
    const gate: Gate = { attempts: 0, batches: [], failing: false };
    const { committed } = await setup([message(1), message(2), message(3)], { batchSize: 1000, flushMs: 100 }, gate);
    await waitFor("offsets committed", committed, (o) => o === "3");
    expect(gate.batches.map((b) => b.length)).toEqual([3]);
  }, 60_000);
});
