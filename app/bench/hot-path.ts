import { loadavg } from "node:os";
import type { Config } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { createBenchStores } from "./bench-databases.ts";
import { benchConsumerDrain, type ConsumerDrain } from "./consumer-drain.ts";
import { localServiceTargets } from "./cpu.ts";
import { benchIngest, type IngestStep } from "./ingest.ts";
import { createBenchTopic } from "./pipeline.ts";
import { benchRequestThread, type RequestThreadReport, type ScenarioName } from "./request-thread.ts";
import { round } from "./summary.ts";

/** Issue 12's targets ("a footprint costs almost nothing"), checked against one run's figures. */
export type HotPathTarget = { id: string; target: string; value: string; met: boolean | null };

export type HotPathReport = {
  startedAt: string;
  seconds: number;
  quick: boolean;
  loadAverage: { before: number[]; after: number[] };
  /** Pids whose CPU was read: the local Kafka broker, PostgreSQL's postmaster, the ClickHouse endpoint. */
  services: Record<string, number | null>;
  requestThread: RequestThreadReport;
  consumer: ConsumerDrain | null;
  ingestBatch: number;
  /** POSTs of `ingestBatch` events to the ingest endpoint; rates in events/s. */
  ingestBatched: IngestStep[];
  /** One GET of a demo page per event, through the footprint middleware. */
  ingestPerRequest: IngestStep[];
  targets: HotPathTarget[];
};

export type HotPathOptions = { quick: boolean; backlog: number; seed: number };

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Sizes of each part: the full run (about 10 minutes on today's code) and the quick one (~2). */
function plan(quick: boolean) {
  return quick
    ? {
        wrk: { seconds: 3, rounds: 1, fixedRateSeconds: 3, catchUpLimitSeconds: 30 },
        batchedRates: [5_000],
        perRequestRates: [2_000],
        stepSeconds: 3,
      }
    : {
        wrk: { seconds: 5, rounds: 3, fixedRateSeconds: 10, catchUpLimitSeconds: 60 },
        batchedRates: [5_000, 10_000, 25_000, 50_000, 100_000],
        perRequestRates: [1_000, 2_000, 5_000, 10_000, 20_000],
        stepSeconds: 10,
      };
}

/**
 * The hot path end to end (issue 12): what recording costs the request thread (demo and proxy,
 * recording off and on), the consumer draining a seed-format backlog, and the ingest endpoint
 * under batched POSTs; CPU per request / row / event of every process that took part.
 */
export async function benchHotPath(config: Config, o: HotPathOptions): Promise<HotPathReport> {
  if (!Bun.which("wrk")) {
    throw new AppError(
      "USAGE",
      "the hot-path part (--part) drives load with wrk, which is missing: install it (apt-get install wrk, or scripts/install-wrk)",
    );
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const before = loadavg().map((x) => round(x));
  const p = plan(o.quick);
  const services = localServiceTargets({
    kafka: config.kafka.brokers[0],
    postgres: config.postgres.url,
    clickhouse: config.clickhouse.url,
  });
  log(
    `— hot path: services ${Object.entries(services)
      .map(([k, v]) => `${k} ${v?.pid ?? "not local"}`)
      .join(", ")}`,
  );

  log("— hot path: the request thread (wrk, then a fixed rate)");
  const names: ScenarioName[] = ["demo-off", "demo-on", "demo-on-no-consumer", "proxy-off", "proxy-on"];
  const rtStores = await createBenchStores(config);
  let requestThread: RequestThreadReport;
  try {
    requestThread = await benchRequestThread(config, rtStores, names, {
      path: "/api/v1/items/ledx",
      connections: 32,
      ...p.wrk,
      services,
    });
  } finally {
    await rtStores.drop();
  }

  let consumer: ConsumerDrain | null = null;
  if (o.backlog > 0) {
    log(`— hot path: the consumer alone, a ${o.backlog.toLocaleString("en-US")}-message backlog`);
    const stores = await createBenchStores(config);
    try {
      consumer = await benchConsumerDrain(config, stores, { backlog: o.backlog, seed: o.seed, services });
    } finally {
      await stores.drop();
    }
  }

  const ingest = async (rates: number[], batch?: number) => {
    const [topic, stores] = await Promise.all([createBenchTopic(config), createBenchStores(config)]);
    try {
      return await benchIngest(config, topic, stores, rates, p.stepSeconds, { batch, cpu: services });
    } finally {
      await Promise.allSettled([topic.drop(), stores.drop()]);
    }
  };
  const ingestBatch = 500;
  log(`— hot path: the ingest endpoint, POSTs of ${ingestBatch} events`);
  const ingestBatched = await ingest(p.batchedRates, ingestBatch);
  log("— hot path: one request, one event (the footprint middleware)");
  const ingestPerRequest = await ingest(p.perRequestRates);

  const report: Omit<HotPathReport, "targets"> = {
    startedAt,
    seconds: round((performance.now() - started) / 1000, 1),
    quick: o.quick,
    loadAverage: { before, after: loadavg().map((x) => round(x)) },
    services: Object.fromEntries(Object.entries(services).map(([k, v]) => [k, v?.pid ?? null])),
    requestThread,
    consumer,
    ingestBatch,
    ingestBatched,
    ingestPerRequest,
  };
  return { ...report, targets: hotPathTargets(report) };
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");

/** The fastest sustained step, its worse store's freshness p95, and how the targets table quotes them. */
function bestSustained(steps: IngestStep[]) {
  const step = steps
    .filter((x) => x.sustained)
    .reduce<IngestStep | undefined>((a, b) => (!a || b.httpPerSecond > a.httpPerSecond ? b : a), undefined);
  const freshness = step ? Math.max(step.freshness.postgres.p95, step.freshness.clickhouse.p95) : Number.NaN;
  const value = step
    ? `${n(step.httpPerSecond)} events/s sustained, freshness p95 ${n(freshness)} ms`
    : "none sustained";
  return { step, freshness, value };
}

function rpsRatio(id: string, target: string, on: { rps: number }, off: { rps: number }, minPercent: number) {
  const ratio = round((100 * on.rps) / off.rps, 1);
  return { id, target, value: `${ratio}% (${n(on.rps)} / ${n(off.rps)} req/s)`, met: ratio >= minPercent };
}

/** Each target of the issue against this run: met, missed, or null when its part did not run. */
export function hotPathTargets(r: Omit<HotPathReport, "targets">): HotPathTarget[] {
  const s = (name: ScenarioName) => r.requestThread.scenarios.find((x) => x.name === name);
  const f = (name: ScenarioName) => r.requestThread.fixedRate.find((x) => x.name === name);
  const targets: HotPathTarget[] = [];
  const off = s("demo-off");
  const on = s("demo-on");
  if (off && on) {
    const main = (x: typeof off) => x.cpuMicrosPerRequest["serve main thread"] ?? Number.NaN;
    const added = round(main(on) - main(off), 1);
    const addedProcess = round(
      (on.cpuMicrosPerRequest.serve ?? Number.NaN) - (off.cpuMicrosPerRequest.serve ?? Number.NaN),
      1,
    );
    targets.push({
      id: "request-cpu",
      target: "recording adds ≤ 5 µs of CPU per request on the request thread",
      value: `${added} µs (${main(off)} → ${main(on)} µs on the main thread; whole process +${addedProcess} µs)`,
      met: added <= 5,
    });
    targets.push(
      rpsRatio("request-rps", "recording on, consumer in process: ≥ 80% of recording off's req/s", on, off, 80),
    );
  }
  const fOff = f("demo-off");
  const fOn = f("demo-on");
  if (fOff && fOn) {
    const added = round(fOn.p99 - fOff.p99, 2);
    targets.push({
      id: "request-p99",
      target: "added p99 < 2 ms at half the maximum rate",
      value: `${added} ms (p99 ${fOff.p99} → ${fOn.p99} ms at ${n(fOff.rate)}/s; recording answered ${n(fOn.achievedRate)}/s)`,
      met: added < 2 && fOn.achievedRate >= 0.95 * fOn.rate,
    });
  }
  const pOff = s("proxy-off");
  const pOn = s("proxy-on");
  if (pOff && pOn) targets.push(rpsRatio("proxy-rps", "proxy with recording ≥ 90% of proxy without", pOn, pOff, 90));
  const c = r.consumer;
  const size = c && c.backlog < 1_000_000 ? ` (backlog ${n(c.backlog)}, not 1M)` : "";
  targets.push({
    id: "consumer-rows",
    target: "consumer ≥ 50,000 rows/s into both stores from a 1M backlog",
    value: c ? `${n(c.steadyRowsPerSecond)} rows/s steady, ${n(c.rowsPerSecond)} from start${size}` : "not run",
    met: c ? c.steadyRowsPerSecond >= 50_000 : null,
  });
  const cpuRow = c?.cpuMicrosPerRow.consume;
  targets.push({
    id: "consumer-cpu",
    target: "≤ 15 µs of CPU per row in the consuming process",
    value: cpuRow === undefined ? "not run" : `${cpuRow} µs`,
    met: cpuRow === undefined ? null : cpuRow <= 15,
  });
  const batched = bestSustained(r.ingestBatched);
  targets.push({
    id: "ingest-batched",
    target: "ingest endpoint (batched POSTs) ≥ 50,000 events/s into both stores, freshness p95 < 2 s",
    value: batched.value,
    met: batched.step ? batched.step.httpPerSecond >= 50_000 && batched.freshness < 2000 : false,
  });
  targets.push({
    id: "ingest-per-request",
    target: "HTTP one-request-one-event: as high as the machine allows (reported, no threshold)",
    value: bestSustained(r.ingestPerRequest).value,
    met: null,
  });
  return targets;
}
