import type { Kafka } from "kafkajs";
import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import type { BenchStores } from "./bench-databases.ts";
import { type CpuTarget, perUnit, startCpuSample } from "./cpu.ts";
import { type FixedRateResult, runFixedRate } from "./fixed-rate.ts";
import { createBenchTopic } from "./pipeline.ts";
import { type SelfProcess, startSelf } from "./self-process.ts";
import { round } from "./summary.ts";
import { runWrk } from "./wrk.ts";

/** One way of serving, measured at full load (wrk) in every round. */
export type ScenarioResult = {
  name: ScenarioName;
  /** Medians over the rounds. */
  rps: number;
  p50: number;
  p99: number;
  /** CPU µs per request: the serving process (all threads), its main thread, and the other processes. */
  cpuMicrosPerRequest: Record<string, number>;
  requests: number;
  /** Footprints on the scenario's topic at the end, for `requests` (plus warm-up and fixed-rate) requests. */
  recorded?: number;
};

export type ScenarioName = "demo-off" | "demo-on" | "demo-on-no-consumer" | "proxy-off" | "proxy-on";

export const SCENARIOS: Record<ScenarioName, { args: string[]; record: boolean; proxy: boolean; label: string }> = {
  "demo-off": { args: ["serve", "--demo"], record: false, proxy: false, label: "serve --demo, RECORD=false" },
  "demo-on": {
    args: ["serve", "--demo"],
    record: true,
    proxy: false,
    label: "serve --demo, recording, consumer in process",
  },
  "demo-on-no-consumer": {
    args: ["serve", "--demo", "--no-consumer"],
    record: true,
    proxy: false,
    label: "serve --demo --no-consumer, recording",
  },
  "proxy-off": { args: ["serve"], record: false, proxy: true, label: "serve --upstream, RECORD=false" },
  "proxy-on": { args: ["serve"], record: true, proxy: true, label: "serve --upstream, recording, consumer in process" },
};

export type RequestThreadOptions = {
  path: string;
  connections: number;
  seconds: number;
  rounds: number;
  /** Seconds of each fixed-rate run (at half of recording-off's requests/s). */
  fixedRateSeconds: number;
  services: Record<string, CpuTarget | undefined>;
};

export type RequestThreadReport = {
  path: string;
  connections: number;
  seconds: number;
  rounds: number;
  scenarios: ScenarioResult[];
  /** p99 at a fixed rate, half of demo-off's maximum requests/s. */
  fixedRate: (FixedRateResult & { name: ScenarioName })[];
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** The site behind the proxy: a fixed 200-byte JSON answer, in the bench process (wrk runs apart). */
function startUpstream() {
  const body = JSON.stringify({
    id: 123,
    name: "ledx",
    price: 1_250_000,
    tags: ["medical", "rare"],
    text: "x".repeat(120),
  });
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
  });
}

type Running = { name: ScenarioName; serve: SelfProcess; topic: Awaited<ReturnType<typeof createBenchTopic>> };

async function footprintsOn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * What recording costs the request thread: every scenario's serve process runs side by side (one
 * topic each, shared fresh databases); rounds alternate their order; each wrk run samples the CPU
 * of the serving process, its main thread, Kafka and the stores. Then a fixed-rate run at half
 * of recording-off's requests/s gives the p99 that recording adds below saturation.
 */
export async function benchRequestThread(
  config: Config,
  stores: BenchStores,
  names: readonly ScenarioName[],
  o: RequestThreadOptions,
): Promise<RequestThreadReport> {
  const upstream = startUpstream();
  const running: Running[] = [];
  try {
    for (const name of names) {
      const s = SCENARIOS[name];
      const topic = await createBenchTopic(config);
      const serve = await startSelf(config, {
        args: [...s.args, ...(s.proxy ? ["--upstream", `http://127.0.0.1:${upstream.port}`] : [])],
        topic: topic.topic,
        groupId: topic.groupId,
        stores,
        env: { RECORD: String(s.record), LOG_LEVEL: "warn" },
        ready: "listening",
      }).catch(async (e) => {
        await topic.drop();
        throw e;
      });
      running.push({ name, serve, topic });
    }
    const url = (r: Running) => new URL(o.path, r.serve.url).toString();
    for (const r of running) await runWrk(url(r), { connections: o.connections, seconds: 1 }); // warm-up
    const samples = new Map<
      ScenarioName,
      { rps: number; p50: number; p99: number; requests: number; cpu: Record<string, number> }[]
    >();
    for (let round = 1; round <= o.rounds; round++) {
      for (const r of round % 2 ? running : [...running].reverse()) {
        const cpu = startCpuSample({
          serve: { pid: r.serve.pid },
          "serve main thread": { pid: r.serve.pid, thread: r.serve.pid },
          ...o.services,
        });
        const w = await runWrk(url(r), { connections: o.connections, seconds: o.seconds });
        const used = perUnit(cpu.stop(), w.requests);
        samples.set(r.name, [...(samples.get(r.name) ?? []), { ...w, cpu: used }]);
        process.stderr.write(
          `round ${round} ${r.name}: ${Math.round(w.rps)} req/s, p99 ${w.p99} ms, ${used.serve} µs CPU/request (main thread ${used["serve main thread"]})\n`,
        );
      }
    }
    const scenarios: ScenarioResult[] = running.map((r) => {
      const rs = samples.get(r.name) ?? [];
      const keys = Object.keys(rs[0]?.cpu ?? {});
      return {
        name: r.name,
        rps: Math.round(median(rs.map((x) => x.rps))),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        cpuMicrosPerRequest: Object.fromEntries(
          keys.map((k) => [k, round(median(rs.map((x) => x.cpu[k] as number)), 1)]),
        ),
        requests: rs.reduce((n, x) => n + x.requests, 0),
      };
    });

    const fixedRate: RequestThreadReport["fixedRate"] = [];
    const off = scenarios.find((s) => s.name === "demo-off");
    if (off && o.fixedRateSeconds > 0) {
      const rate = Math.round(off.rps / 2);
      for (const r of running.filter((x) => !SCENARIOS[x.name].proxy)) {
        const f = await runFixedRate(url(r), { rate, seconds: o.fixedRateSeconds, connections: o.connections });
        process.stderr.write(`fixed rate ${rate}/s ${r.name}: ${f.achievedRate}/s, p99 ${f.p99} ms\n`);
        fixedRate.push({ name: r.name, ...f });
      }
    }

    // Every recorded request must have reached Kafka: give the producers a moment to catch up.
    for (const r of running) {
      if (!SCENARIOS[r.name].record) continue;
      const s = scenarios.find((x) => x.name === r.name) as ScenarioResult;
      const deadline = Date.now() + 15_000;
      s.recorded = await footprintsOn(r.topic.kafka, r.topic.topic);
      while (s.recorded < s.requests && Date.now() < deadline) {
        await sleep(500);
        s.recorded = await footprintsOn(r.topic.kafka, r.topic.topic);
      }
    }
    return { path: o.path, connections: o.connections, seconds: o.seconds, rounds: o.rounds, scenarios, fixedRate };
  } finally {
    for (const r of running) {
      await r.serve.stop().catch(() => {});
      await r.topic.drop().catch(() => {});
    }
    upstream.stop(true);
  }
}
