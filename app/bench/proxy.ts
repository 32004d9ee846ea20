#!/usr/bin/env bun
/**
 * What recording costs a proxied site. Measures on loopback, with wrk, requests/s and p50/p99
 * latency of (a) the upstream site directly, (b) the same through `eft-footprint serve --upstream`
 * with RECORD=false, (c) the same with recording to Kafka. Rounds alternate the scenarios and the
 * median per scenario is reported, because a shared 2-core machine is noisy.
 *
 *   bun app/bench/proxy.ts [--duration 5] [--connections 32] [--rounds 3] [--path /api/v1/items/123]
 *
 * Needs the local stack (./scripts/stack up) for Kafka and the compiled binary (./compile.sh; built
 * when missing). The serve processes run with --no-consumer: only producing is measured here.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { type RunningBinary, startBinary } from "../../test/support/binary.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase, createTestTopic } from "../../test/support/stack.ts";
import { startCpuSample } from "./cpu.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

const root = join(import.meta.dir, "../..");
const { values: opts } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    path: { type: "string", default: "/api/v1/items/123" },
  },
});
const duration = Number(opts.duration);
const connections = Number(opts.connections);
const rounds = Number(opts.rounds);

type Result = WrkResult & { cpuUs: number };

/**
 * One wrk run, and the CPU the serving process spent per request meanwhile: on a shared machine
 * requests/s moves with everyone else's load, CPU per request much less.
 */
async function wrk(url: string, seconds: number, pid: number): Promise<Result> {
  const cpu = startCpuSample({ server: { pid } });
  const r = await runWrk(url, { connections, seconds });
  return { ...r, cpuUs: (cpu.stop().server as number) / r.requests };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main() {
  if (spawnSync(join(root, "scripts/install-wrk"), { stdio: "inherit" }).status !== 0) process.exit(1);
  if (!existsSync(join(root, "eft-footprint"))) {
    if (spawnSync("bash", [join(root, "compile.sh")], { stdio: "inherit" }).status !== 0) process.exit(1);
  }
  const [topic, pgDb, chDb] = await Promise.all([
    createTestTopic(),
    createTestPostgresDatabase(),
    createTestClickhouseDatabase(),
  ]);
  const upstream = spawn("bun", [join(import.meta.dir, "proxy-upstream.ts")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const running: RunningBinary[] = [];
  try {
    const port = await new Promise<string>((resolve) => upstream.stdout.once("data", (d) => resolve(String(d).trim())));
    const site = `http://127.0.0.1:${port}`;
    const env = (record: boolean) => ({
      KAFKA_BROKERS: topic.brokers.join(","),
      TOPIC: topic.topic,
      DATABASE_URL: pgDb.url,
      CLICKHOUSE_URL: chDb.url,
      CLICKHOUSE_DATABASE: chDb.database,
      RECORD: String(record),
      LOG_LEVEL: "warn",
      DASHBOARD_TOKEN: "bench-token-0123456789",
    });
    const plain = await startBinary(["serve", "--no-consumer", "--upstream", site], {
      ...env(false),
      LOG_LEVEL: "info",
    });
    running.push(plain);
    const recording = await startBinary(["serve", "--no-consumer", "--upstream", site], {
      ...env(true),
      LOG_LEVEL: "info",
    });
    running.push(recording);

    const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const scenarios = [
      { name: "(a) upstream directly", url: `${site}${opts.path}`, pid: upstream.pid as number },
      { name: "(b) serve --upstream, RECORD=false", url: `${plain.url}${opts.path}`, pid: plain.pid },
      { name: "(c) serve --upstream, recording", url: `${recording.url}${opts.path}`, pid: recording.pid },
    ];
    const results = new Map<string, Result[]>(scenarios.map((s) => [s.name, []]));
    for (const s of scenarios) await wrk(s.url, 1, s.pid); // warm-up
    for (let round = 1; round <= rounds; round++) {
      for (const s of round % 2 ? scenarios : [...scenarios].reverse()) {
        const r = await wrk(s.url, duration, s.pid);
        results.get(s.name)?.push(r);
        console.error(
          `round ${round} ${s.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.cpuUs.toFixed(1)} µs CPU/request`,
        );
      }
    }
    // Every request through (c), warm-up included, must have become a Kafka message.
    const admin = new Kafka({ brokers: topic.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const expected = results.get(scenarios[2]?.name as string)?.reduce((n, r) => n + r.requests, 0) ?? 0;
    const inKafkaNow = async () => (await admin.fetchTopicOffsets(topic.topic)).reduce((n, p) => n + Number(p.high), 0);
    let inKafka = 0;
    try {
      // The producer loop drains its queue in the background: give it a moment to catch up.
      const deadline = Date.now() + 30_000;
      for (inKafka = await inKafkaNow(); inKafka < expected && Date.now() < deadline; inKafka = await inKafkaNow()) {
        await Bun.sleep(500);
      }
    } finally {
      await admin.disconnect();
    }

    const row = (name: string) => {
      const rs = results.get(name) ?? [];
      return {
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        cpuUs: median(rs.map((r) => r.cpuUs)),
        requests: 0,
        socketErrors: 0,
      };
    };
    const [a, b, c] = scenarios.map((s) => row(s.name)) as [Result, Result, Result];
    const lines = [
      `wrk -t1 -c${connections} -d${duration}s --latency, ${rounds} rounds (median), path ${opts.path}, ${navigator.hardwareConcurrency} CPUs`,
      "",
      "| scenario | requests/s | p50 ms | p99 ms | CPU µs/request (server process) |",
      "|---|---:|---:|---:|---:|",
      ...scenarios.map((s, i) => {
        const r = [a, b, c][i] as Result;
        return `| ${s.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUs.toFixed(1)} |`;
      }),
      "",
      `(c)/(b) requests/s: ${((100 * c.rps) / b.rps).toFixed(1)}% (target ≥ 90%)`,
      `(c)-(b) p99: ${(c.p99 - b.p99).toFixed(2)} ms (target < 1 ms)`,
      `(c)-(b) CPU per request: ${(c.cpuUs - b.cpuUs).toFixed(1)} µs (recording's own cost, incl. the Kafka producer)`,
      `load average before/after: ${loadBefore} / ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
      `footprints in Kafka: ${inKafka} for ${expected} measured requests through (c) (plus its warm-up)`,
    ];
    console.log(lines.join("\n"));
  } finally {
    for (const r of running) await r.stop().catch(() => {});
    upstream.kill("SIGTERM");
    await Promise.all([topic.drop(), pgDb.drop(), chDb.drop()]).catch(() => {});
  }
}

await main();
process.exit(0);
