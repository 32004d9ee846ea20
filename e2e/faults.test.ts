/**
 * Fault tests: the delivery contract under real failures, through the compiled binary, on a stack
 * of their own. Kafka gives at-least-once; every sink is idempotent; an offset is committed only
 * once its message is stored in that sink or dead-lettered. Every scenario ends with
 * events sent == rows in PostgreSQL == rows in ClickHouse and no duplicate event_id.
 * Results go to docs/RELIABILITY.md. EFT_SKIP_FAULTS=1 skips them (CI never sets it).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBatchIntent } from "../consumer/partition-batches.ts";
import { type RunningBinary, repoRoot } from "../test/support/binary.ts";
import { CLUSTER_BROKERS, type ClusterStack, startClusterStack } from "../test/support/fault-cluster.ts";
import { type ScenarioResult, writeReliabilityReport } from "../test/support/fault-report.ts";
import { serveKillScenario } from "../test/support/fault-serve-kill.ts";
import {
  bothStoresHold,
  createWorld,
  type FaultStack,
  type Load,
  metricValue,
  startConsumer,
  startFaultStack,
  startLoad,
  startSite,
  type World,
} from "../test/support/fault-stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { producerResendScenario } from "./faults/producer-resend.ts";
import { deadLetterSummary, storeRefusalScenario } from "./faults/store-refusal.ts";

const skip = process.env.EFT_SKIP_FAULTS === "1";
const SCENARIO_MS = 300_000;
/** Broker-loss runs: CI runs one; EFT_CLUSTER_FAULT_RUNS=5 repeats it (each run a row of its own). */
const CLUSTER_RUNS = Math.max(1, Number(process.env.EFT_CLUSTER_FAULT_RUNS ?? "1") || 1);
const CLUSTER_REQUESTS = 6_000;

describe.skipIf(skip)("fault tests (own stack, compiled binary)", () => {
  let stack: FaultStack;
  /** Started by the first broker-loss run only. */
  let cluster: ClusterStack | undefined;
  const results: ScenarioResult[] = [];
  const suiteStarted = Date.now();
  const running: RunningBinary[] = [];
  const loads: Load[] = [];

  beforeAll(async () => {
    stack = await startFaultStack();
  }, 300_000);

  afterAll(async () => {
    for (const l of loads.splice(0)) await l.stop();
    for (const b of running.splice(0)) await b.stop(5000).catch(() => {});
    if (results.length > 0) {
      mkdirSync(join(repoRoot, "docs"), { recursive: true });
      const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repoRoot }).stdout.toString().trim();
      writeReliabilityReport(results, Date.now() - suiteStarted, commit || "unknown");
    }
    // CI purges its stacks; a developer's stay up for the next run.
    if (cluster && process.env.CI === "true") await cluster.down(true);
    if (stack && process.env.CI === "true") await stack.down(true);
  }, 120_000);

  /** Runs one scenario in a fresh world and records its row, pass or fail. */
  async function scenario(
    name: string,
    body: (world: World, row: ScenarioResult) => Promise<void>,
    makeWorld: () => Promise<World> = () => createWorld(stack),
  ): Promise<void> {
    const world = await makeWorld();
    const row: ScenarioResult = {
      scenario: name,
      sent: 0,
      postgres: 0,
      clickhouse: 0,
      pgDuplicates: 0,
      chDuplicates: 0,
      deadLetters: undefined,
      recoveryMs: undefined,
      notes: "",
      passed: false,
    };
    results.push(row);
    try {
      await body(world, row);
      Object.assign(row, await world.counts());
      if (row.loss) {
        expect(row.loss.postgres).toBeLessThanOrEqual(row.loss.bound);
        expect(row.loss.clickhouse).toBeLessThanOrEqual(row.loss.bound);
      } else {
        expect(row.postgres).toBe(row.sent - (row.refusedBy?.postgres ?? 0));
        expect(row.clickhouse).toBe(row.sent - (row.refusedBy?.clickhouse ?? 0));
      }
      expect(row.pgDuplicates).toBe(0);
      expect(row.chDuplicates).toBe(0);
      row.passed = true;
    } catch (err) {
      Object.assign(row, await world.counts().catch(() => ({})));
      row.notes = `${row.notes} ${String(err).split("\n")[0]}`.trim();
      throw err;
    } finally {
      for (const l of loads.splice(0)) await l.stop();
      for (const b of running.splice(0)) await b.stop(15_000).catch(() => {});
      await stack.restoreAll();
      await world.drop();
    }
  }

  const site = async (world: World, env: Record<string, string> = {}) => {
    const b = await startSite(world, env);
    running.push(b);
    return b;
  };
  const consumer = async (world: World, env: Record<string, string> = {}) => {
    const b = await startConsumer(world, env);
    running.push(b);
    return b;
  };
  const load = (url: string, rate?: number, clients?: number) => {
    const l = startLoad(url, rate, clients);
    loads.push(l);
    return l;
  };
  /** Until both stores hold at least `n` events; returns the time it took. */
  const bothHold = (world: World, n: number, timeoutMs?: number) => bothStoresHold(world, n, timeoutMs);
  /** `extra`: events sent besides the load's requests. */
  const finish = async (world: World, row: ScenarioResult, l: Load, extra = 0) => {
    await l.stop();
    expect(l.failures).toEqual([]);
    row.sent = l.sent + extra;
    await bothHold(world, row.sent);
    // Anything late (a duplicate) would land within a flush or two.
    await Bun.sleep(1500);
  };
  /** A site under load with a consumer behind it, once the first 300 requests went through. */
  const startTraffic = async (world: World, siteEnv: Record<string, string> = {}) => {
    const s = await site(world, siteEnv);
    await consumer(world);
    const l = load(s.url);
    await waitFor(
      "traffic flowing",
      async () => l.sent,
      (n) => n >= 300,
    );
    return { s, l };
  };
  const retryUntil = async <T>(attempt: () => Promise<T>, times: number): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (i >= times) throw err;
        await Bun.sleep(2000);
      }
    }
  };
  /** With EFT_FAULT_LOG_DIR set, each process's log lines go to <dir>/<name>/<process>.jsonl. */
  const keepLogs = (name: string, processes: Record<string, RunningBinary>) => {
    const dir = process.env.EFT_FAULT_LOG_DIR;
    if (!dir) return;
    mkdirSync(join(dir, name), { recursive: true });
    for (const [p, b] of Object.entries(processes)) {
      writeFileSync(join(dir, name, `${p}.jsonl`), b.lines.map((x) => JSON.stringify(x)).join("\n"));
    }
  };
  /** Messages in the world's topic (sum of its partitions' end offsets). */
  const topicMessages = async (world: World) => {
    const admin = world.kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(world.topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    } finally {
      await admin.disconnect();
    }
  };
  /** After an outage: the time until both stores hold what was sent so far, then the end checks. */
  const recover = async (world: World, row: ScenarioResult, l: Load, timeoutMs?: number) => {
    row.recoveryMs = await bothHold(world, l.sent, timeoutMs);
    await finish(world, row, l);
  };

  test(
    "consumer killed with SIGKILL mid-batch, 5 times in a row",
    () =>
      scenario("consumer `kill -9` mid-batch, 5× in a row", async (world, row) => {
        const s = await site(world);
        let c = await consumer(world, { LOG_LEVEL: "debug" });
        const l = load(s.url);
        const admin = world.kafka.admin();
        await admin.connect();
        const chGroup = `${world.groupId}-clickhouse`;
        const instances = [c];
        let frozen = 0;
        try {
          for (let kill = 1; kill <= 5; kill++) {
            // Freeze the consumer just after it recorded a ClickHouse batch's intent, while the
            // insert is on its way, and kill it only if the batch is still uncommitted: the
            // restarted consumer must cut that batch again at the same offsets, and ClickHouse must
            // drop the repeat by its token instead of counting it twice.
            let hit = false;
            for (let attempt = 0; attempt < 100 && !hit; attempt++) {
              const from = c.lines.length;
              await waitFor(
                "a ClickHouse batch intent",
                async () =>
                  c.lines.slice(from).some((x) => x.msg === "batch intent recorded" && x.sink === "clickhouse"),
                Boolean,
                60_000,
                2,
              );
              process.kill(c.pid, "SIGSTOP");
              const [committed] = await admin.fetchOffsets({ groupId: chGroup, topics: [world.topic] });
              hit = (committed?.partitions ?? []).some((p) => parseBatchIntent(p.metadata) !== undefined);
              if (!hit) process.kill(c.pid, "SIGCONT");
            }
            if (hit) frozen++;
            process.kill(c.pid, "SIGKILL");
            await c.exited;
            running.splice(running.indexOf(c), 1);
            c = await consumer(world, { LOG_LEVEL: "debug" });
            instances.push(c);
            if (kill === 5) row.recoveryMs = await bothHold(world, l.sent);
          }
        } finally {
          await admin.disconnect();
        }
        await finish(world, row, l);
        const resumed = instances.filter((i) =>
          i.lines.some((x) => x.msg === "resuming a batch recorded before a restart" && x.sink === "clickhouse"),
        ).length;
        row.notes = `5 kills, ${frozen} with a ClickHouse batch recorded but not committed; ${resumed} restart(s) cut that batch again at the same offsets (same token), no row counted twice`;
        // The per-minute/hour/day rollups fed by materialized views count every event once too.
        const rollups = await world.rollupTotals();
        expect(Object.keys(rollups).length).toBeGreaterThan(0);
        for (const [table, n] of Object.entries(rollups)) expect({ table, n }).toEqual({ table, n: row.sent });
        row.notes += `; rollups ${Object.keys(rollups).join(", ")} sum to the same count`;
        // The redelivery path was exercised, not only clean restarts.
        expect(resumed).toBeGreaterThan(0);
      }),
    SCENARIO_MS,
  );

  test(
    "Kafka broker stopped and restarted while requests keep coming",
    () =>
      scenario("Kafka broker stopped and restarted under load", async (world, row) => {
        const { l } = await startTraffic(world);
        const down = Date.now();
        await stack.stop("kafka");
        await Bun.sleep(10_000);
        await stack.start("kafka");
        const outage = Date.now() - down;
        await recover(world, row, l, 180_000);
        row.notes = `broker down ${(outage / 1000).toFixed(0)} s (stop, 10 s, start); ${l.failed} failed requests`;
      }),
    SCENARIO_MS,
  );

  for (const [down, other] of [
    ["postgres", "clickhouse"],
    ["clickhouse", "postgres"],
  ] as const) {
    const label = down === "postgres" ? "PostgreSQL" : "ClickHouse";
    test(
      `${label} stopped for 30 s: the other store keeps up`,
      () =>
        scenario(`${label} stopped 30 s, then back`, async (world, row) => {
          const { l } = await startTraffic(world);
          await stack.stop(down);
          const stoppedAt = Date.now();
          await Bun.sleep(15_000);
          // While one store is away the other keeps ingesting: it holds what was sent 15 s in
          // before the 30 s are over.
          const sentMidway = l.sent;
          await waitFor(
            `${other} keeping up during the outage`,
            () => world.count(other),
            (n) => n >= sentMidway,
            Math.max(1000, 30_000 - (Date.now() - stoppedAt)),
            250,
          );
          const otherDuring = await world.count(other);
          await Bun.sleep(Math.max(0, 30_000 - (Date.now() - stoppedAt)));
          await stack.start(down);
          await recover(world, row, l);
          row.notes = `${other} held ${otherDuring.toLocaleString("en-US")} of ${sentMidway.toLocaleString("en-US")}+ events sent while ${label} was down`;
        }),
      SCENARIO_MS,
    );
  }

  test(
    "Kafka down for 60 s: the producer spools to disk and everything arrives after",
    () =>
      scenario("Kafka down 60 s → disk spool", async (world, row) => {
        // A small memory queue so that a minute of traffic has to go to the spool.
        const { s, l } = await startTraffic(world, { PRODUCER_QUEUE_MAX: "500" });
        await stack.stop("kafka");
        await Bun.sleep(60_000);
        const spooled = await metricValue(s.url, "eft_events_spooled_total");
        const spoolBytes = await metricValue(s.url, "eft_spool_bytes");
        await stack.start("kafka");
        await recover(world, row, l, 180_000);
        expect(spooled).toBeGreaterThan(0);
        expect(await metricValue(s.url, "eft_events_dropped_total")).toBe(0);
        row.notes = `${spooled.toLocaleString("en-US")} events spooled (${Math.round(spoolBytes / 1024)} KiB on disk at the end of the outage), 0 dropped, ${l.failed} failed requests`;
      }),
    SCENARIO_MS,
  );

  test(
    "serve killed with SIGKILL under load, 3 times with Kafka up and once with it down",
    () =>
      scenario("serve `kill -9` under load, 3× Kafka up, 1× Kafka down", (world, row) =>
        serveKillScenario(
          { stack, site, consumer, forget: (b) => void running.splice(running.indexOf(b) >>> 0, 1) },
          world,
          row,
        ),
      ),
    SCENARIO_MS,
  );

  test(
    "10,000 malformed messages mixed with good ones",
    () =>
      scenario("10,000 malformed messages among 5,000 good ones", async (world, row) => {
        const c = await consumer(world);
        const producer = world.kafka.producer();
        await producer.connect();
        const good = (i: number) =>
          JSON.stringify({ method: "GET", link: `/legacy/${i}`, footprint_time: "2025-05-19T13:45:30.123456+09:00" });
        const bad = (i: number): Buffer | string | null => {
          switch (i % 6) {
            case 0:
              return `{"method": "GET", "link": "/cut-${i}`; // not JSON
            case 1:
              return JSON.stringify({ method: 5, link: ["/x"], footprint_time: true }); // wrong types
            case 2:
              return i % 1000 === 2
                ? "x".repeat(70 * 1024) // over the 64 KiB limit
                : JSON.stringify({
                    method: "GET",
                    link: "/".repeat(9000),
                    footprint_time: "2025-05-19T13:45:30Z",
                    duration_ms: 1e300,
                  });
            case 3:
              return Buffer.concat([
                Buffer.from('{"method":"GET","link":"/'),
                Buffer.from([0xc3, 0x28, 0xff]),
                Buffer.from('","footprint_time":"2025-05-19T13:45:30Z"}'),
              ]); // not UTF-8
            case 4:
              return i % 2 === 0 ? null : ""; // empty
            default:
              return JSON.stringify({ method: "GET", link: "/a\u0000b", footprint_time: "9999-01-01T00:00:00Z" }); // NUL, far future
          }
        };
        const started = Date.now();
        let goodSent = 0;
        let badSent = 0;
        // 250 per request: a record batch must stay under the broker's message.max.bytes (1 MiB).
        for (let chunk = 0; chunk < 60; chunk++) {
          const messages = [];
          for (let i = chunk * 250; i < (chunk + 1) * 250; i++) {
            // Two bad ones for every good one, interleaved.
            if (i % 3 === 2) {
              messages.push({ value: good(i) });
              goodSent++;
            } else messages.push({ value: bad(badSent++) });
          }
          await producer.send({ topic: world.topic, messages });
        }
        await producer.disconnect();
        row.sent = goodSent;
        await bothHold(world, goodSent);
        row.recoveryMs = Date.now() - started;
        // Every bad one is in the dead-letter topic, counted once per source message.
        const { count, byCode } = await deadLetterSummary(world);
        row.deadLetters = count;
        expect(row.deadLetters).toBe(10_000);
        // One consumer process throughout: never crashed, never restarted.
        expect(c.lines.filter((x) => x.msg === "kafka consumer failed")).toEqual([]);
        expect(process.kill(c.pid, 0)).toBe(true);
        row.notes = `dead letters by code: ${byCode}; one consumer process throughout, never restarted; "recovery" = time to store them all`;
      }),
    SCENARIO_MS,
  );

  test(
    "producer resend / ingest retry",
    () =>
      scenario(
        "producer resend / ingest retry: every ingest POST and 10 batches sent twice, 3 partitions, 2 `consume`",
        (world, row) =>
          producerResendScenario(world, row, {
            site: (env) => site(world, env),
            consumer: () => consumer(world),
            load: (url) => load(url),
            finish: (r, l, extra) => finish(world, r, l, extra),
          }),
        () => createWorld(stack, { partitions: 3, replicationFactor: 1 }),
      ),
    SCENARIO_MS,
  );

  test(
    "a row refused by one store, among good ones under load",
    () => scenario("a row refused by one store", (world, row) => storeRefusalScenario(world, row, { startTraffic })),
    SCENARIO_MS,
  );

  for (let run = 1; run <= CLUSTER_RUNS; run++) {
    test(
      `partition leader killed with SIGKILL in a ${CLUSTER_BROKERS}-broker cluster under load (run ${run}/${CLUSTER_RUNS})`,
      () =>
        scenario(
          `broker loss: leader of partition 0 \`kill -9\` in a ${CLUSTER_BROKERS}-broker cluster (run ${run}/${CLUSTER_RUNS})`,
          async (world, row) => {
            const live = cluster as ClusterStack;
            const s = await site(world);
            const consumers = { "consume-1": await consumer(world), "consume-2": await consumer(world) };
            const l = load(s.url, 200, 16);
            await waitFor(
              "a third of the requests",
              async () => l.sent,
              (n) => n >= CLUSTER_REQUESTS / 3,
              120_000,
            );
            const leader = await live.leaderOf(world.topic, 0);
            const sentAtKill = l.sent;
            live.kill(leader);
            await waitFor(
              "the rest of the requests",
              async () => l.sent,
              (n) => n >= CLUSTER_REQUESTS,
              180_000,
            );
            await l.stop();
            row.sent = l.sent;
            try {
              row.recoveryMs = await bothHold(world, l.sent, 90_000);
              await finish(world, row, l);
            } finally {
              // Where an event went missing or came twice: in the topic (producer) or after it (consumer).
              const complaints = s.lines.filter((x) => x.level === "error" || x.level === "warn");
              const said = [...new Set(complaints.map((x) => String(x.msg).slice(0, 60)))].join("; ");
              keepLogs(world.topic, { serve: s, ...consumers });
              row.notes = `broker ${leader} (leader of partition 0 of 3, replication ${CLUSTER_BROKERS}, min.insync.replicas 2) killed after ${sentAtKill.toLocaleString("en-US")} requests; serve + 2 \`consume\`; ${(await topicMessages(world)).toLocaleString("en-US")} messages in the topic; serve logged ${complaints.length} warning/error line(s)${said ? ` (${said})` : ""}`;
            }
          },
          async () => {
            // The broker the previous run killed comes back first: every run starts from 3 brokers.
            cluster ??= await startClusterStack(stack);
            await cluster.heal();
            const live = cluster;
            // A broker just restarted learns of a new topic a moment after the others: kafkajs's
            // createTopics may meet "does not host this topic-partition" then (a new name each try).
            return retryUntil(() => createWorld(live, { partitions: 3, replicationFactor: CLUSTER_BROKERS }), 5);
          },
        ),
      SCENARIO_MS,
    );
  }
});
