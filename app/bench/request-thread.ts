import type { Admin } from "kafkajs";
import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import type { BenchStores } from "./bench-databases.ts";
import { type CpuTarget, perUnit, startCpuSample } from "./cpu.ts";
import { type FixedRateResult, runFixedRate } from "./fixed-rate.ts";
import { committedOffset, createBenchTopic } from "./pipeline.ts";
import { type SelfProcess, startSelf } from "./self-process.ts";
import { round } from "./summary.ts";
import { startUpstreamSite } from "./upstream-site.ts";
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
  /** Requests measured by wrk, and all requests answered (warm-up and the fixed-rate run included). */
  requests: number;
  answered: number;
  /** Footprints on the scenario's topic at the end (recording scenarios). */
  recorded?: number;
  /**
   * With the consumer in process: seconds it took, after a wrk run, to store the run's footprints
   * (median). The next measurement waits for it, so that no scenario runs beside another's backlog.
   */
  catchUpSeconds?: number;
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
  /** How long a consumer may take to store a run's footprints before the next measurement starts anyway. */
  catchUpLimitSeconds: number;
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

type Running = { name: ScenarioName; serve: SelfProcess; topic: Awaited<ReturnType<typeof createBenchTopic>> };

async function footprintsOn(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

/** Waits (up to `limitSeconds`) until the scenario's consumer has committed all its topic holds; seconds waited. */
async function catchUp(admin: Admin, r: Running, limitSeconds: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitSeconds * 1000) {
    const [high, done] = await Promise.all([
      footprintsOn(admin, r.topic.topic),
      committedOffset(admin, r.topic.groupId, r.topic.topic),
    ]);
    if (done.groups > 0 && done.offset >= high) break;
    await sleep(250);
  }
  return round((performance.now() - started) / 1000, 1);
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
  const upstream = startUpstreamSite();
  const running: Running[] = [];
  let admin: Admin | undefined;
  try {
    for (const name of names) {
      const s = SCENARIOS[name];
      const topic = await createBenchTopic(config);
      const serve = await startSelf(config, {
        args: [...s.args, ...(s.proxy ? ["--upstream", `http://127.0.0.1:${upstream.port}`] : [])],
        topic: topic.topic,
        groupId: topic.groupId,
        stores,
        env: { RECORD: String(s.record) },
        ready: "listening",
      }).catch(async (e) => {
        await topic.drop();
        throw e;
      });
      running.push({ name, serve, topic });
    }
    admin = (running[0] as Running).topic.kafka.admin();
    await admin.connect();
    const url = (r: Running) => new URL(o.path, r.serve.url).toString();
    const answered = new Map<ScenarioName, number>(running.map((r) => [r.name, 0]));
    const count = (r: Running, n: number) => answered.set(r.name, (answered.get(r.name) ?? 0) + n);
    const catchUps = new Map<ScenarioName, number[]>();
    const consuming = (r: Running) => SCENARIOS[r.name].record && !SCENARIOS[r.name].args.includes("--no-consumer");
    const settle = async (r: Running) => {
      if (!consuming(r) || !admin) return;
      const waited = await catchUp(admin, r, o.catchUpLimitSeconds);
      catchUps.set(r.name, [...(catchUps.get(r.name) ?? []), waited]);
    };
    for (const r of running) {
      count(r, (await runWrk(url(r), { connections: o.connections, seconds: 1 })).requests); // warm-up
      await settle(r);
    }
    catchUps.clear();
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
        count(r, w.requests);
        samples.set(r.name, [...(samples.get(r.name) ?? []), { ...w, cpu: used }]);
        process.stderr.write(
          `round ${round} ${r.name}: ${Math.round(w.rps)} req/s, p99 ${w.p99} ms, ${used.serve} µs CPU/request (main thread ${used["serve main thread"]})\n`,
        );
        await settle(r);
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
        answered: 0,
        ...(catchUps.has(r.name) ? { catchUpSeconds: median(catchUps.get(r.name) as number[]) } : {}),
      };
    });

    const fixedRate: RequestThreadReport["fixedRate"] = [];
    const off = scenarios.find((s) => s.name === "demo-off");
    if (off && o.fixedRateSeconds > 0) {
      const rate = Math.round(off.rps / 2);
      for (const r of running.filter((x) => !SCENARIOS[x.name].proxy)) {
        const f = await runFixedRate(url(r), { rate, seconds: o.fixedRateSeconds, connections: o.connections });
        count(r, f.answered);
        await settle(r);
        process.stderr.write(`fixed rate ${rate}/s ${r.name}: ${f.achievedRate}/s, p99 ${f.p99} ms\n`);
        fixedRate.push({ name: r.name, ...f });
      }
    }

    // Every recorded request must have reached Kafka: give the producers a moment to catch up.
    for (const r of running) {
      const s = scenarios.find((x) => x.name === r.name) as ScenarioResult;
      s.answered = answered.get(r.name) ?? 0;
      if (!SCENARIOS[r.name].record) continue;
      const deadline = Date.now() + 15_000;
      s.recorded = await footprintsOn(admin, r.topic.topic);
      while (s.recorded < s.answered && Date.now() < deadline) {
        await sleep(500);
        s.recorded = await footprintsOn(admin, r.topic.topic);
      }
    }
    return { path: o.path, connections: o.connections, seconds: o.seconds, rounds: o.rounds, scenarios, fixedRate };
  } finally {
    await admin?.disconnect();
    for (const r of running) {
      await r.serve.stop().catch(() => {});
      await r.topic.drop().catch(() => {});
    }
    upstream.stop(true);
  }
}
