/**
 * Real services for store and end-to-end tests: the local stack (`./scripts/stack`), or the services
 * KAFKA_BROKERS / DATABASE_URL / CLICKHOUSE_URL name. Every helper gives a test its own
 * database or topic with a random name, and a drop() for afterAll.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { sinkGroupId } from "../../consumer/consume.ts";
import { clickhouseRequest } from "../../scripts/lib/stack/clickhouse.ts";
import { parseBrokers } from "../../scripts/lib/stack/kafka.ts";
import { loadStackOptions } from "../../scripts/lib/stack/options.ts";
import { SERVICES, serviceAddress } from "../../scripts/lib/stack/services.ts";
import { readState } from "../../scripts/lib/stack/state.ts";
import { deadLetterTopic } from "../../src/kafka-topics.ts";

export type StackEnv = {
  kafkaBrokers: string[];
  databaseUrl: string;
  clickhouseUrl: string;
};

const REPO_ROOT = resolve(import.meta.dir, "../..");

let resolving: Promise<StackEnv> | undefined;

/**
 * Addresses of the three services, each from the environment if set, else from the stack's state;
 * when something does not answer, runs `./scripts/stack up` once (idempotent) and looks again.
 */
export function stackEnv(): Promise<StackEnv> {
  resolving ??= resolveStackEnv().catch((error) => {
    resolving = undefined;
    throw error;
  });
  return resolving;
}

async function resolveStackEnv(): Promise<StackEnv> {
  const first = await answeringStack();
  if (first.env) return first.env;
  await runStackUp();
  const second = await answeringStack();
  if (second.env) return second.env;
  throw new Error(
    `the test stack is not usable after ./scripts/stack up: ${second.problems.join("; ")} ` +
      "(see ./scripts/stack status and the logs in its state dir)",
  );
}

async function answeringStack(): Promise<{ env?: StackEnv; problems: string[] }> {
  const options = loadStackOptions(process.env, REPO_ROOT);
  const state = readState(options.stateDir);
  const checks = await Promise.all(
    SERVICES.map(async (service) => {
      const address = serviceAddress(service, options, state);
      const answering = address !== undefined && (await service.isAnswering(address));
      return { name: service.name, address, answering };
    }),
  );
  const problems = checks
    .filter((check) => !check.answering)
    .map((check) => `${check.name} ${check.address ? `at ${check.address} does not answer` : "was never started"}`);
  const address = (name: string) => checks.find((check) => check.name === name)?.address ?? "";
  if (problems.length > 0) return { problems };
  return {
    problems,
    env: {
      kafkaBrokers: parseBrokers(address("kafka")),
      databaseUrl: address("postgres"),
      clickhouseUrl: address("clickhouse"),
    },
  };
}

function runStackUp(): Promise<void> {
  return new Promise((done, fail) => {
    // Its progress goes to stderr: test output on stdout stays the test runner's.
    const child = spawn(join(REPO_ROOT, "scripts/stack"), ["up"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", 2, 2],
    });
    child.once("error", fail);
    child.once("exit", (code) =>
      code === 0 ? done() : fail(new Error(`./scripts/stack up exited with ${code}: see its output above`)),
    );
  });
}

function randomName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString("hex")}`;
}

async function withPostgres<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** A fresh PostgreSQL database `eft_test_<random>`; drop() disconnects its sessions and drops it. */
export async function createTestPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { databaseUrl } = await stackEnv();
  const name = randomName("eft_test_");
  await withPostgres(databaseUrl, (sql) => sql`create database ${sql(name)}`);
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // WITH (FORCE) terminates sessions a test forgot to close, which would otherwise block the drop.
      await withPostgres(databaseUrl, (sql) => sql`drop database if exists ${sql(name)} with (force)`);
    },
  };
}

/** Runs one statement over ClickHouse's HTTP interface (`POST /`, body = SQL) and returns the body. */
export async function clickhouseExec(clickhouseUrl: string, sql: string): Promise<string> {
  const request = clickhouseRequest(clickhouseUrl);
  const response = await fetch(request.url, { method: "POST", headers: request.headers, body: sql });
  const body = await response.text();
  if (!response.ok || response.headers.has("X-ClickHouse-Exception-Code")) {
    throw new Error(`ClickHouse ${response.status} for ${sql}: ${body}`);
  }
  return body;
}

/** A fresh ClickHouse database `eft_test_<random>` on the stack's endpoint; drop() drops it. */
export async function createTestClickhouseDatabase(): Promise<{
  url: string;
  database: string;
  drop(): Promise<void>;
}> {
  const { clickhouseUrl } = await stackEnv();
  const database = randomName("eft_test_");
  await clickhouseExec(clickhouseUrl, `CREATE DATABASE ${database}`);
  return {
    url: clickhouseUrl,
    database,
    drop: async () => {
      await clickhouseExec(clickhouseUrl, `DROP DATABASE IF EXISTS ${database}`);
    },
  };
}

/** A quiet admin client of the stack's Kafka (connect and disconnect it yourself). */
export function kafkaAdmin(brokers: string[]) {
  return new Kafka({ clientId: "eft-test-support", brokers, logLevel: logLevel.NOTHING }).admin();
}

/**
 * A fresh topic `eft-test-<random>` and an unused group id; drop() deletes both. With
 * `create: false` only the name is reserved, for tests of what happens while it is missing (and of
 * `migrate`, which creates it).
 */
export async function createTestTopic(
  partitions = 1,
  options: { create?: boolean } = {},
): Promise<{
  topic: string;
  groupId: string;
  brokers: string[];
  drop(): Promise<void>;
}> {
  const { kafkaBrokers: brokers } = await stackEnv();
  const topic = randomName("eft-test-");
  const groupId = randomName("eft-test-group-");
  if (options.create ?? true) {
    const admin = kafkaAdmin(brokers);
    await admin.connect();
    try {
      // Leaders elected before returning, so a producer's first send does not race the creation.
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  }
  return {
    topic,
    groupId,
    brokers,
    drop: async () => {
      const admin = kafkaAdmin(brokers);
      await admin.connect();
      try {
        // With the dead-letter topic the consumer (or migrate) creates beside it.
        const existing = new Set(await admin.listTopics());
        const ours = [topic, deadLetterTopic(topic)].filter((t) => existing.has(t));
        if (ours.length > 0) await admin.deleteTopics({ topics: ours });
        // The group exists only if a test consumed with it, and only empty groups can be deleted.
        // The consumer runs one group per store, named after the base group id.
        const groups = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
        const ourGroups = [
          groupId,
          sinkGroupId(groupId, { name: "postgres" }),
          sinkGroupId(groupId, { name: "clickhouse" }),
        ].filter((g) => groups.has(g));
        if (ourGroups.length > 0) await admin.deleteGroups(ourGroups).catch(() => {});
      } finally {
        await admin.disconnect();
      }
    },
  };
}
