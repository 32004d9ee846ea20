/**
 * Integration test of the local stack itself: each helper gives a working, isolated resource on a
 * real service, and drop() really removes it. Fails when a service is broken.
 */
import { describe, expect, test } from "bun:test";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import postgres from "postgres";
import {
  clickhouseExec,
  createTestClickhouseDatabase,
  createTestPostgresDatabase,
  createTestTopic,
  stackEnv,
} from "./stack.ts";

// The first call may start the whole stack (a cold Kafka download alone takes ~40 s).
const STACK_TIMEOUT_MS = 180_000;

describe("test stack", () => {
  test(
    "stackEnv gives an address for every service",
    async () => {
      const env = await stackEnv();
      expect(env.kafkaBrokers.length).toBeGreaterThan(0);
      expect(env.databaseUrl).toStartWith("postgres");
      expect(env.clickhouseUrl).toStartWith("http");
      expect(await stackEnv()).toBe(env);
    },
    STACK_TIMEOUT_MS,
  );

  test(
    "a test PostgreSQL database is writable, and gone after drop() even with a session left open",
    async () => {
      const db = await createTestPostgresDatabase();
      expect(new URL(db.url).pathname).toMatch(/^\/eft_test_[0-9a-f]{12}$/);
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        await sql`create table t (id int primary key, note text)`;
        await sql`insert into t (id, note) values (${1}, ${"héllo"})`;
        expect([...(await sql`select id, note from t`)]).toEqual([{ id: 1, note: "héllo" }]);
        await db.drop();
      } finally {
        await sql.end({ timeout: 1 }).catch(() => {});
      }
      const admin = postgres((await stackEnv()).databaseUrl, { max: 1 });
      const name = new URL(db.url).pathname.slice(1);
      const rows = await admin`select 1 from pg_database where datname = ${name}`;
      await admin.end();
      expect(rows.length).toBe(0);
    },
    STACK_TIMEOUT_MS,
  );

  test(
    "a test ClickHouse database holds a MergeTree table, and is gone after drop()",
    async () => {
      const db = await createTestClickhouseDatabase();
      expect(db.database).toMatch(/^eft_test_[0-9a-f]{12}$/);
      await clickhouseExec(
        db.url,
        `CREATE TABLE ${db.database}.t (id UInt32, at DateTime64(3)) ENGINE = MergeTree ORDER BY id`,
      );
      await clickhouseExec(db.url, `INSERT INTO ${db.database}.t VALUES (1, now64(3)), (2, now64(3))`);
      expect((await clickhouseExec(db.url, `SELECT count() FROM ${db.database}.t FORMAT TabSeparated`)).trim()).toBe(
        "2",
      );
      await db.drop();
      const left = await clickhouseExec(
        db.url,
        `SELECT count() FROM system.databases WHERE name = '${db.database}' FORMAT TabSeparated`,
      );
      expect(left.trim()).toBe("0");
    },
    STACK_TIMEOUT_MS,
  );

  test(
    "a message produced to a test topic is consumed by its group, and the topic is gone after drop()",
    async () => {
      const t = await createTestTopic(2);
      const kafka = new Kafka({ clientId: "stack-test", brokers: t.brokers, logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      const consumer = kafka.consumer({ groupId: t.groupId });
      try {
        await producer.connect();
        await producer.send({ topic: t.topic, messages: [{ key: "k", value: "hello stack" }] });
        await consumer.connect();
        await consumer.subscribe({ topic: t.topic, fromBeginning: true });
        const received = new Promise<string>((done, fail) => {
          consumer.run({ eachMessage: async ({ message }) => done(String(message.value)) }).catch(fail);
        });
        expect(await received).toBe("hello stack");
      } finally {
        await Promise.all([producer.disconnect(), consumer.disconnect()]);
      }
      await t.drop();
      const admin = kafka.admin();
      await admin.connect();
      const topics = await admin.listTopics();
      await admin.disconnect();
      expect(topics).not.toContain(t.topic);
    },
    STACK_TIMEOUT_MS,
  );
});
