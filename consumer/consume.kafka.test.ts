/**
 * The delivery contract on a real broker: Kafka gives at-least-once; every sink is idempotent; an
 * offset is committed only once its message is stored in that sink or dead-lettered — never
 * because it failed. Each sink has its own consumer group (`<group>-<sink>`).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ClickHouseError } from "@clickhouse/client-web";
import { Kafka, type KafkaMessage, logLevel } from "kafkajs";
import { createKafka } from "../src/kafka.ts";
import { deadLetterTopic } from "../src/kafka-topics.ts";
import { createLogger, createMemoryLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { createClickhouseStore } from "../src/store/clickhouse.ts";
import type { FootprintRow, Store } from "../src/store/store.ts";
import { createFakeStore } from "../test/support/fake-store.ts";
import { createTestClickhouseDatabase, createTestTopic } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { adoptLegacyGroupOffsets, startConsumer } from "./consume.ts";
import { DLQ_HEADERS, headerText, REPLAY_SINK_HEADER } from "./dead-letter.ts";
import { listDeadLetters, replayDeadLetters } from "./dead-letter-tools.ts";

type Gate = {
  attempts: number;
  batches: FootprintRow[][];
  tokens: string[];
  failing: boolean;
  /** Links the store refuses for their content (as ClickHouse refuses a CHECK constraint). */
  refuses?: string[];
};
const gate = (failing = false): Gate => ({ attempts: 0, batches: [], tokens: [], failing });

function gatedStore(g: Gate, name: Store["name"] = "postgres"): Store {
  return createFakeStore(name, {
    async insertFootprints(rows, batch) {
      g.attempts++;
      if (g.failing) throw new Error(`${name} is down`);
      if (rows.some((r) => g.refuses?.includes(r.link))) {
        throw new ClickHouseError({ message: "Constraint `c` is violated", code: "469", type: "VIOLATED_CONSTRAINT" });
      }
      g.batches.push([...rows]);
      g.tokens.push(batch?.token ?? "");
    },
    countFootprints: async () => g.batches.flat().length,
  });
}

const message = (i: number) =>
  JSON.stringify({ method: "GET", link: `/m/${i}`, footprint_time: "2025-05-19T13:45:30.123456+09:00" });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function createTopicWith(values: (string | Buffer | null)[]) {
  const t = await createTestTopic();
  cleanups.push(() => t.drop());
  const kafka = new Kafka({ brokers: t.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const send = (more: (string | Buffer | null)[]) =>
    producer.send({ topic: t.topic, messages: more.map((value) => ({ value })) });
  if (values.length) await send(values);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(async () => {
    const dlq = deadLetterTopic(t.topic);
    if ((await admin.listTopics()).includes(dlq)) await admin.deleteTopics({ topics: [dlq] });
    await admin.deleteGroups([`${t.groupId}-postgres`, `${t.groupId}-clickhouse`]).catch(() => {});
    await admin.disconnect();
  });
  const committed = async (sink: Store["name"] = "postgres") => {
    const [entry] = await admin.fetchOffsets({ groupId: `${t.groupId}-${sink}`, topics: [t.topic] });
    return entry?.partitions[0]?.offset;
  };
  return { t, kafka, admin, send, committed };
}

async function consume(
  t: { brokers: string[]; topic: string; groupId: string },
  stores: Store[],
  options: { batchSize: number; flushMs: number },
) {
  const logger = process.env.DEBUG_TEST ? createLogger({ level: "debug" }) : createMemoryLogger();
  const metrics = createMetrics();
  const consumer = await startConsumer({
    kafka: createKafka({ brokers: t.brokers, clientId: "test", logger }),
    topic: t.topic,
    groupId: t.groupId,
    fromBeginning: true,
    stores,
    logger,
    metrics,
    backoff: () => 20,
    lagIntervalMs: 100,
    ...options,
  });
  let stopped = false;
  const stop = async (timeoutMs?: number) => {
    if (stopped) return;
    stopped = true;
    await consumer.stop(timeoutMs);
  };
  cleanups.push(() => stop());
  return { stop, logger, metrics };
}

describe("consumer on a real broker", () => {
  test("while a store fails nothing is committed; once it accepts, the offsets are", async () => {
    const g = gate(true);
    const { t, committed } = await createTopicWith(Array.from({ length: 10 }, (_, i) => message(i)));
    await consume(t, [gatedStore(g)], { batchSize: 100, flushMs: 50 });
    await waitFor(
      "three failed attempts",
      async () => g.attempts,
      (n) => n >= 3,
    );
    // Only the batch's intent (its start offset and where it ends) is committed before the write.
    expect(await committed()).toBe("0");
    g.failing = false;
    await waitFor("offsets committed", committed, (o) => o === "10");
    expect(g.batches.flat().map((r) => r.link)).toEqual(Array.from({ length: 10 }, (_, i) => `/m/${i}`));
  }, 60_000);

  test("a sink that is down does not hold the other back: each group commits on its own", async () => {
    const pg = gate(true);
    const ch = gate(false);
    const { t, committed, send } = await createTopicWith(Array.from({ length: 10 }, (_, i) => message(i)));
    const { metrics } = await consume(t, [gatedStore(pg, "postgres"), gatedStore(ch, "clickhouse")], {
      batchSize: 4,
      flushMs: 50,
    });
    await waitFor(
      "ClickHouse group committed",
      () => committed("clickhouse"),
      (o) => o === "10",
    );
    await send([message(10), message(11)]);
    await waitFor(
      "ClickHouse group keeps going",
      () => committed("clickhouse"),
      (o) => o === "12",
    );
    expect(await committed("postgres")).toBe("0");
    expect(ch.batches.flat()).toHaveLength(12);
    const lag = async (sink: string) =>
      (await metrics.consumerLag.get()).values.find((v) => v.labels.sink === sink)?.value;
    await waitFor(
      "PostgreSQL lag measured",
      () => lag("postgres"),
      (n) => n === 12,
    );
    pg.failing = false;
    await waitFor(
      "PostgreSQL group catches up",
      () => committed("postgres"),
      (o) => o === "12",
    );
    expect(pg.batches.flat().map((r) => r.link)).toEqual(ch.batches.flat().map((r) => r.link));
    await waitFor(
      "lag back to 0",
      () => lag("postgres"),
      (n) => n === 0,
    );
  }, 60_000);

  test("invalid messages go to <topic>.dlq with their reason and origin, once; the good ones are stored", async () => {
    const pg = gate();
    const ch = gate();
    const { t, kafka, committed } = await createTopicWith([
      message(0),
      "garbage",
      null,
      Buffer.from([0x7b, 0xff, 0x7d]),
      JSON.stringify({ method: "GET", link: "/x", footprint_time: "2025-05-19T13:45:30Z", status: 1e308 }),
      message(5),
    ]);
    const { metrics } = await consume(t, [gatedStore(pg, "postgres"), gatedStore(ch, "clickhouse")], {
      batchSize: 100,
      flushMs: 50,
    });
    await waitFor(
      "both groups committed",
      async () => [await committed("postgres"), await committed("clickhouse")],
      (o) => o.every((x) => x === "6"),
    );
    expect(pg.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/5"]);
    expect(ch.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/5"]);

    const letters: KafkaMessage[] = [];
    const reader = kafka.consumer({ groupId: `${t.groupId}-reader`, maxWaitTimeInMs: 100 });
    await reader.connect();
    cleanups.push(() => reader.disconnect());
    await reader.subscribe({ topic: deadLetterTopic(t.topic), fromBeginning: true });
    await reader.run({ eachMessage: async ({ message: m }) => void letters.push(m) });
    await waitFor(
      "four dead letters",
      async () => letters.length,
      (n) => n >= 4,
    );
    expect(
      letters.map((m) => ({
        code: headerText(m.headers, DLQ_HEADERS.code),
        offset: headerText(m.headers, DLQ_HEADERS.offset),
        topic: headerText(m.headers, DLQ_HEADERS.topic),
        partition: headerText(m.headers, DLQ_HEADERS.partition),
        key: m.key?.toString(),
      })),
    ).toEqual([
      { code: "MESSAGE_NOT_JSON", offset: "1", topic: t.topic, partition: "0", key: `${t.topic}/0/1` },
      { code: "MESSAGE_EMPTY", offset: "2", topic: t.topic, partition: "0", key: `${t.topic}/0/2` },
      { code: "MESSAGE_NOT_UTF8", offset: "3", topic: t.topic, partition: "0", key: `${t.topic}/0/3` },
      { code: "MESSAGE_INVALID", offset: "4", topic: t.topic, partition: "0", key: `${t.topic}/0/4` },
    ]);
    expect(letters[0]?.value?.toString()).toBe("garbage");
    expect(Date.parse(headerText(letters[0]?.headers, DLQ_HEADERS.deadLetteredAt) ?? "")).toBeGreaterThan(0);
    expect((await metrics.deadLetters.get()).values.reduce((n, v) => n + v.value, 0)).toBe(4);
  }, 60_000);

  test("PostgreSQL down: the ClickHouse group dead-letters what is invalid and what ClickHouse refuses; a replay goes to ClickHouse only", async () => {
    const pg = gate(true);
    const ch = { ...gate(false), refuses: ["/m/2"] };
    const { t, kafka, admin, committed } = await createTopicWith([message(0), "garbage", message(2), message(3)]);
    const { metrics } = await consume(t, [gatedStore(pg, "postgres"), gatedStore(ch, "clickhouse")], {
      batchSize: 100,
      flushMs: 50,
    });
    await waitFor(
      "ClickHouse group committed",
      () => committed("clickhouse"),
      (o) => o === "4",
    );
    const dlq = { topic: t.topic, groupId: t.groupId };
    const listed = await waitFor(
      "two dead letters while PostgreSQL is down",
      () => listDeadLetters(kafka, admin, dlq),
      (l) => l.letters.length >= 2,
    );
    expect(
      listed.letters.map((l) => [l.origin?.offset, l.code, l.rejectedBy, l.storeCode, l.dlqOffset !== undefined]),
    ).toEqual([
      ["1", "MESSAGE_NOT_JSON", undefined, undefined, true],
      ["2", "MESSAGE_REJECTED_BY_STORE", "clickhouse", "469 VIOLATED_CONSTRAINT", true],
    ]);
    expect(listed.letters[1]?.message).toBe("Constraint `c` is violated");
    expect(await committed("postgres")).toBe("0");
    expect(ch.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/3"]);

    // PostgreSQL back: it stores every valid row, /m/2 included; the parse error is not written again.
    pg.failing = false;
    await waitFor(
      "PostgreSQL group committed",
      () => committed("postgres"),
      (o) => o === "4",
    );
    expect(pg.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/2", "/m/3"]);
    expect((await listDeadLetters(kafka, admin, dlq)).duplicates).toBe(0);
    const counted = (await metrics.deadLetters.get()).values.map((v) => [v.labels.code, v.labels.rejected_by, v.value]);
    expect(counted).toEqual([
      ["MESSAGE_NOT_JSON", undefined, 1],
      ["MESSAGE_REJECTED_BY_STORE", "clickhouse", 1],
    ]);

    // ClickHouse fixed: the replay of the refusal is stored by ClickHouse, skipped by PostgreSQL.
    ch.refuses = [];
    const { replayed } = await replayDeadLetters(kafka, admin, dlq);
    expect(replayed).toHaveLength(2);
    await waitFor(
      "both groups past the replayed messages",
      async () => [await committed("postgres"), await committed("clickhouse")],
      (o) => o.every((x) => x === "6"),
    );
    expect(ch.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/3", "/m/2"]);
    expect(pg.batches.flat().map((r) => r.link)).toEqual(["/m/0", "/m/2", "/m/3"]);
    const again = await listDeadLetters(kafka, admin, dlq);
    // "garbage" is still garbage: written again once (a new position, the same source), not twice.
    expect(again.letters.map((l) => [l.origin?.offset, l.code])).toEqual([
      ["1", "MESSAGE_NOT_JSON"],
      ["2", "MESSAGE_REJECTED_BY_STORE"],
      ["4", "MESSAGE_NOT_JSON"],
    ]);
    expect(headerText(again.letters[1]?.headers, REPLAY_SINK_HEADER)).toBeUndefined();
  }, 90_000);

  test("a batch is written when it reaches the batch size; the rest on stop", async () => {
    const g = gate();
    const { t, committed } = await createTopicWith(Array.from({ length: 12 }, (_, i) => message(i)));
    const consumer = await consume(t, [gatedStore(g)], { batchSize: 5, flushMs: 600_000 });
    const { stop } = consumer;
    await waitFor(
      "two full batches",
      async () => g.batches.length,
      (n) => n >= 2,
    );
    await waitFor("ten committed", committed, (o) => o === "10");
    const { metrics } = consumer;
    await waitFor(
      "the last two read",
      async () => (await metrics.consumerBuffered.get()).values[0]?.value,
      (n) => n === 2,
    );
    await stop();
    expect(g.batches.map((b) => b.length)).toEqual([5, 5, 2]);
    expect(g.tokens).toEqual([`${t.topic}/0/0-4`, `${t.topic}/0/5-9`, `${t.topic}/0/10-11`]);
    expect(await committed()).toBe("12");
  }, 60_000);

  test("a partial batch is written when its oldest message reaches the flush interval", async () => {
    const g = gate();
    const { t, committed } = await createTopicWith([message(1), message(2), message(3)]);
    await consume(t, [gatedStore(g)], { batchSize: 1000, flushMs: 100 });
    await waitFor("offsets committed", committed, (o) => o === "3");
    expect(g.batches.map((b) => b.length)).toEqual([3]);
  }, 60_000);

  test("a consumer dying between insert and commit: the batch is cut at the same offsets again and ClickHouse counts it once", async () => {
    const db = await createTestClickhouseDatabase();
    cleanups.push(() => db.drop());
    const real = createClickhouseStore({ url: db.url, username: "default", password: "", database: db.database });
    cleanups.push(() => real.close());
    await real.migrate();
    const tokens: string[] = [];
    let mode: "die-after-insert" | "dead" | "ok" = "die-after-insert";
    const crashing: Store = {
      ...real,
      name: "clickhouse",
      async insertFootprints(rows, batch) {
        if (mode === "dead") throw new Error("dead");
        tokens.push(batch?.token ?? "");
        await real.insertFootprints(rows, batch);
        // Stored, but the process "dies" before its commit: from here on nothing succeeds, and
        // stop(0) gives up without committing.
        if (mode === "die-after-insert") {
          mode = "dead";
          throw new Error("killed");
        }
      },
    };
    const { t, committed, send } = await createTopicWith([message(0), message(1), message(2)]);
    const first = await consume(t, [crashing], { batchSize: 1000, flushMs: 50 });
    await waitFor(
      "first insert",
      async () => tokens.length,
      (n) => n >= 1,
    );
    await first.stop(0);
    expect(await real.countFootprints()).toBe(3);
    expect(await committed("clickhouse")).toBe("0"); // the recorded intent, at the batch start

    // More messages arrive while it is down: a plain size/time cut would now take all five.
    await send([message(3), message(4)]);
    mode = "ok";
    await consume(t, [crashing], { batchSize: 1000, flushMs: 50 });
    await waitFor(
      "all committed",
      () => committed("clickhouse"),
      (o) => o === "5",
    );
    expect(tokens.slice(0, 2)).toEqual([`${t.topic}/0/0-2`, `${t.topic}/0/0-2`]);
    expect(tokens[2]).toBe(`${t.topic}/0/3-4`);
    expect(await real.countFootprints()).toBe(5);
  }, 60_000);
});

describe("upgrade from one consumer group", () => {
  test("a new sink group starts from the old group's committed offsets; one that has its own keeps them", async () => {
    const { t, admin } = await createTopicWith(Array.from({ length: 5 }, (_, i) => message(i)));
    await admin.setOffsets({ groupId: t.groupId, topic: t.topic, partitions: [{ partition: 0, offset: "3" }] });
    const logger = createMemoryLogger();
    const to = `${t.groupId}-postgres`;
    cleanups.push(() =>
      admin.deleteGroups([to]).then(
        () => {},
        () => {},
      ),
    );
    expect(await adoptLegacyGroupOffsets(admin, { from: t.groupId, to, topic: t.topic }, logger)).toBe(true);
    const [after] = await admin.fetchOffsets({ groupId: to, topics: [t.topic] });
    expect(after?.partitions[0]?.offset).toBe("3");
    await admin.setOffsets({ groupId: t.groupId, topic: t.topic, partitions: [{ partition: 0, offset: "4" }] });
    expect(await adoptLegacyGroupOffsets(admin, { from: t.groupId, to, topic: t.topic }, logger)).toBe(false);
    const [still] = await admin.fetchOffsets({ groupId: to, topics: [t.topic] });
    expect(still?.partitions[0]?.offset).toBe("3");
  }, 60_000);
});
