/**
 * Producer-side duplicates end once in both stores (issue 16): the same events produced twice, as
 * a producer's resend, a spool sent again after a crash or an ingest client's retry would, are
 * consumed by the real consumer into real PostgreSQL and ClickHouse.
 */
import { afterAll, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { createKafka, createKafkaSender } from "../src/kafka.ts";
import { createMemoryLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { createClickhouseStore } from "../src/store/clickhouse.ts";
import { createPostgresStore } from "../src/store/postgres.ts";
import { ROLLUP_TABLES } from "../src/store/rollup-key.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase, createTestTopic } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { startConsumer } from "./consume.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  while (cleanups.length)
    await cleanups
      .pop()?.()
      .catch(() => {});
});

const event = (i: number) =>
  JSON.stringify({
    method: "GET",
    link: `/resent/${i}`,
    route: "/resent/:id",
    status: 200,
    footprint_time: new Date(Date.now() - 60_000 + i).toISOString(),
    event_id: crypto.randomUUID(),
  });

test("events produced twice (a resend) and once more without a key end once in each store and rollup", async () => {
  const t = await createTestTopic(3);
  cleanups.push(() => t.drop());
  const [pgDb, chDb] = await Promise.all([createTestPostgresDatabase(), createTestClickhouseDatabase()]);
  cleanups.push(
    () => pgDb.drop(),
    () => chDb.drop(),
  );
  const pg = createPostgresStore({ url: pgDb.url });
  const ch = createClickhouseStore({ url: chDb.url, username: "default", password: "", database: chDb.database });
  cleanups.push(
    () => pg.close(),
    () => ch.close(),
  );
  await Promise.all([pg.migrate(), ch.migrate()]);

  const logger = createMemoryLogger();
  const kafka = createKafka({ brokers: t.brokers, clientId: "test", logger });
  const values = Array.from({ length: 120 }, (_, i) => event(i));
  // Our producer (keyed by event_id), then its resend of the same batch in two pieces.
  const send = createKafkaSender(kafka, t.topic);
  await send(values);
  await send(values.slice(60));
  await send(values.slice(0, 60));
  await send.disconnect();
  // An outside producer that resends without a key: its copies land on other partitions, read by
  // the same consumer, whose writes to a store run one at a time.
  const plain = new Kafka({ brokers: t.brokers, logLevel: logLevel.NOTHING }).producer();
  await plain.connect();
  await plain.send({ topic: t.topic, messages: values.slice(0, 40).map((value) => ({ value })) });
  await plain.disconnect();
  const produced = 2 * values.length + 40;

  const consumer = await startConsumer({
    kafka,
    topic: t.topic,
    groupId: t.groupId,
    fromBeginning: true,
    stores: [pg, ch],
    logger,
    metrics: createMetrics(),
    backoff: () => 20,
    lagIntervalMs: 100,
    batchSize: 50,
    flushMs: 50,
  });
  cleanups.push(() => consumer.stop());
  const admin = new Kafka({ brokers: t.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const committed = async (sink: string) => {
    const [entry] = await admin.fetchOffsets({ groupId: `${t.groupId}-${sink}`, topics: [t.topic] });
    return (entry?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  };
  for (const sink of ["postgres", "clickhouse"]) {
    await waitFor(
      `${sink} committed every message`,
      () => committed(sink),
      (n) => n === produced,
    );
  }

  expect(await pg.countFootprints()).toBe(values.length);
  expect(await ch.countFootprints()).toBe(values.length);
  for (const { table } of ROLLUP_TABLES) {
    const rs = await ch.stats.client.query({ query: `SELECT sum(n) AS n FROM ${table}`, format: "JSONEachRow" });
    expect({ table, n: Number((await rs.json<{ n: string }>())[0]?.n) }).toEqual({ table, n: values.length });
  }
}, 120_000);
