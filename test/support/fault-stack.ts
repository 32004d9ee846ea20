/**
 * The fault tests' own stack and helpers. They stop and kill services, so they never touch the
 * shared stack: theirs lives in EFT_FAULT_STACK_DIR (default `<EFT_STACK_DIR>-faults`, or
 * /tmp/eft-footprint-faults), with its own ports, started here and, under CI, purged at the end.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClickHouseClient, createClient } from "@clickhouse/client-web";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { deadLetterTopic } from "../../src/kafka-topics.ts";
import { type RunningBinary, repoRoot, startBinary } from "./binary.ts";
import { waitFor } from "./wait-for.ts";

export type ServiceName = "kafka" | "postgres" | "clickhouse";

export function faultStackDir(env: Record<string, string | undefined> = process.env): string {
  if (env.EFT_FAULT_STACK_DIR) return env.EFT_FAULT_STACK_DIR;
  return env.EFT_STACK_DIR ? `${env.EFT_STACK_DIR.replace(/\/$/, "")}-faults` : "/tmp/eft-footprint-faults";
}

/** `./scripts/stack <args>` on `dir`; `services` names services it uses instead of starting them. */
export function stackCommand(
  dir: string,
  args: string[],
  services: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  // Never the addresses of the shared stack: scripts/test exports them for the other tests.
  const { KAFKA_BROKERS: _k, DATABASE_URL: _d, CLICKHOUSE_URL: _c, BOOTSTRAP_SERVER: _b, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, "scripts/stack"), args, {
      cwd: repoRoot,
      env: { ...env, ...services, EFT_STACK_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

export type FaultStack = {
  dir: string;
  brokers: string[];
  databaseUrl: string;
  clickhouseUrl: string;
  stop(service: ServiceName): Promise<void>;
  start(service: ServiceName): Promise<void>;
  /** Starts again whatever a scenario stopped and did not start (it failed half-way). */
  restoreAll(): Promise<void>;
  /** Stops what `up` started; with purge also deletes the state dir (CI). */
  down(purge: boolean): Promise<void>;
};

/** The fault stack, or another stack of the same kind in `dir` (the soak's: test/support/soak-run.ts). */
export async function startFaultStack(dir = faultStackDir()): Promise<FaultStack> {
  let up = await stackCommand(dir, ["up"]);
  // A first start on a busy machine may time out (Kafka's JVM): one more try reuses what started.
  if (up.code !== 0) up = await stackCommand(dir, ["up"]);
  if (up.code !== 0) throw new Error(`fault stack did not start (${dir}):\n${up.out}`);
  const envOut = await stackCommand(dir, ["env"]);
  const vars = Object.fromEntries(
    [...envOut.out.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  const run = async (args: string[]) => {
    const r = await stackCommand(dir, args);
    if (r.code !== 0) throw new Error(`./scripts/stack ${args.join(" ")} failed:\n${r.out}`);
  };
  const stopped = new Set<ServiceName>();
  return {
    dir,
    brokers: (vars.KAFKA_BROKERS ?? "").split(","),
    databaseUrl: vars.DATABASE_URL ?? "",
    clickhouseUrl: vars.CLICKHOUSE_URL ?? "",
    stop: async (service) => {
      stopped.add(service);
      await run(["stop", service]);
    },
    start: async (service) => {
      await run(["start", service]);
      stopped.delete(service);
    },
    restoreAll: async () => {
      for (const service of [...stopped]) {
        await run(["start", service]);
        stopped.delete(service);
      }
    },
    down: async (purge) => {
      await stackCommand(dir, purge ? ["down", "--purge"] : ["down"]);
    },
  };
}

const rand = () => randomBytes(5).toString("hex");

/** One scenario's own topic, PostgreSQL database, ClickHouse database and spool dir. */
export type World = {
  topic: string;
  groupId: string;
  env: Record<string, string>;
  pg: postgres.Sql;
  ch: ClickHouseClient;
  kafka: Kafka;
  spoolDir: string;
  counts(): Promise<{ postgres: number; clickhouse: number; pgDuplicates: number; chDuplicates: number }>;
  /** Footprints counted by each ClickHouse rollup table (sum of n): each must equal the raw count. */
  rollupTotals(): Promise<Record<string, number>>;
  /** Rows in one store (works while the other is down). */
  count(store: "postgres" | "clickhouse"): Promise<number>;
  drop(): Promise<void>;
};

/** Where a world lives: its Kafka (the fault stack's broker, or a cluster's) and stores. */
export type WorldStack = Pick<FaultStack, "brokers" | "databaseUrl" | "clickhouseUrl">;

export async function createWorld(
  stack: WorldStack,
  topicShape: { partitions: number; replicationFactor: number } = { partitions: 1, replicationFactor: 1 },
): Promise<World> {
  const topic = `eft-fault-${rand()}`;
  const groupId = `eft-fault-group-${rand()}`;
  const database = `eft_fault_${rand()}`;
  const kafka = new Kafka({ clientId: "eft-fault-test", brokers: stack.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: topicShape.partitions, replicationFactor: topicShape.replicationFactor }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const server = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  await server`create database ${server(database)}`;
  await server.end();
  const pgUrl = new URL(stack.databaseUrl);
  pgUrl.pathname = `/${database}`;
  const chServer = createClient({ url: stack.clickhouseUrl });
  await chServer.command({ query: `CREATE DATABASE ${database}` });
  await chServer.close();
  const spoolDir = mkdtempSync(join(tmpdir(), "eft-fault-spool-"));
  const pg = postgres(pgUrl.toString(), { max: 2, onnotice: () => {}, connect_timeout: 5 });
  const ch = createClient({ url: stack.clickhouseUrl, database, request_timeout: 10_000 });
  return {
    topic,
    groupId,
    kafka,
    spoolDir,
    pg,
    ch,
    env: {
      KAFKA_BROKERS: stack.brokers.join(","),
      TOPIC: topic,
      GROUP_ID: groupId,
      DATABASE_URL: pgUrl.toString(),
      CLICKHOUSE_URL: stack.clickhouseUrl,
      CLICKHOUSE_DATABASE: database,
      BATCH_SIZE: "2000",
      BATCH_FLUSH_MS: "300",
      SPOOL_DIR: spoolDir,
      SHUTDOWN_TIMEOUT_MS: "10000",
      // A killed consumer's partitions are handed over after this; the default 30 s would make
      // five kills take minutes.
      KAFKA_SESSION_TIMEOUT_MS: "8000",
      DASHBOARD_TOKEN: "fault-test-token-0123456789abcdef",
    },
    async rollupTotals() {
      const rs = await ch.query({
        query: `SELECT name FROM system.tables
                WHERE database = currentDatabase() AND engine = 'SummingMergeTree' AND name LIKE 'user_footprint_%'`,
        format: "JSONEachRow",
      });
      const totals: Record<string, number> = {};
      for (const { name } of await rs.json<{ name: string }>()) {
        const sum = await ch.query({ query: `SELECT toUInt64(sum(n)) AS n FROM ${name}`, format: "JSONEachRow" });
        totals[name] = Number((await sum.json<{ n: string | number }>())[0]?.n ?? 0);
      }
      return totals;
    },
    async count(store) {
      if (store === "postgres") {
        const [p] = await pg<{ n: number }[]>`select count(*)::int as n from user_footprint`;
        return p?.n ?? 0;
      }
      const rs = await ch.query({ query: "SELECT toUInt64(count()) AS n FROM user_footprint", format: "JSONEachRow" });
      const [c] = await rs.json<{ n: string | number }>();
      return Number(c?.n ?? 0);
    },
    async counts() {
      const [p] = await pg<{ n: number; d: number }[]>`
        select count(*)::int as n, count(distinct event_id)::int as d from user_footprint`;
      const rs = await ch.query({
        query: "SELECT toUInt64(count()) AS n, toUInt64(uniqExact(event_id)) AS d FROM user_footprint",
        format: "JSONEachRow",
      });
      const [c] = await rs.json<{ n: string | number; d: string | number }>();
      return {
        postgres: p?.n ?? 0,
        clickhouse: Number(c?.n ?? 0),
        pgDuplicates: (p?.n ?? 0) - (p?.d ?? 0),
        chDuplicates: Number(c?.n ?? 0) - Number(c?.d ?? 0),
      };
    },
    async drop() {
      await pg.end({ timeout: 2 }).catch(() => {});
      await ch.close().catch(() => {});
      rmSync(spoolDir, { recursive: true, force: true });
      const a = kafka.admin();
      await a.connect().catch(() => {});
      const topics = await a.listTopics().catch(() => [] as string[]);
      await a
        .deleteTopics({ topics: topics.filter((t) => t === topic || t === deadLetterTopic(topic)) })
        .catch(() => {});
      await a.disconnect().catch(() => {});
      const s = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
      await s`drop database if exists ${s(database)} with (force)`.catch(() => {});
      await s.end();
      const c = createClient({ url: stack.clickhouseUrl });
      await c.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => {});
      await c.close();
    },
  };
}

/** Until both stores of `world` hold at least `n` events; returns the time it took. */
export async function bothStoresHold(world: World, n: number, timeoutMs = 120_000, intervalMs = 250): Promise<number> {
  const started = Date.now();
  await waitFor(
    `both stores holding ${n} events`,
    () => world.counts(),
    (c) => c.postgres >= n && c.clickhouse >= n,
    timeoutMs,
    intervalMs,
  );
  return Date.now() - started;
}

/** `serve --demo --no-consumer`: the site whose requests are recorded (the producer side). */
export function startSite(world: World, env: Record<string, string> = {}): Promise<RunningBinary> {
  return startBinary(["serve", "--demo", "--no-consumer"], { ...world.env, ...env });
}

/** `consume`: the consumer alone, so it can be killed without touching the site. */
export function startConsumer(world: World, env: Record<string, string> = {}): Promise<RunningBinary> {
  return startBinary(["consume"], { ...world.env, ...env }, "consumer started");
}

const PATHS = [
  "/api/v1/items",
  "/api/v1/items/ledx",
  "/api/v1/quests/7",
  "/api/v1/traders/prapor",
  "/api/v1/maps/customs",
];

export type Load = {
  /** Requests answered 200: each recorded one footprint. */
  readonly sent: number;
  readonly failed: number;
  readonly failures: string[];
  stop(): Promise<void>;
};

/**
 * Steady traffic to the site: `rate` requests per second from a few concurrent clients, each
 * waiting for its answer. Bounded in time by whoever calls stop().
 */
export function startLoad(url: string, rate = 80, clients = 8): Load {
  let sent = 0;
  let failed = 0;
  const failures: string[] = [];
  let running = true;
  const interval = (1000 * clients) / rate;
  const worker = async (w: number) => {
    for (let i = w; running; i += clients) {
      const started = Date.now();
      try {
        const res = await fetch(`${url}${PATHS[i % PATHS.length]}?n=${i}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) sent++;
        else {
          failed++;
          if (failures.length < 10) failures.push(`HTTP ${res.status}`);
        }
      } catch (err) {
        failed++;
        if (failures.length < 10) failures.push(String(err));
      }
      await Bun.sleep(Math.max(0, interval - (Date.now() - started)));
    }
  };
  const workers = Array.from({ length: clients }, (_, w) => worker(w));
  return {
    get sent() {
      return sent;
    },
    get failed() {
      return failed;
    },
    failures,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** A counter's value from a /metrics page (0 when absent). */
export async function metricValue(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(" ").at(-1));
  }
  return total;
}
