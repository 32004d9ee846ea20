import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config.ts";
import type { FootprintRow } from "../../src/store/store.ts";
import { type BenchStores, createBenchStores } from "./bench-databases.ts";
import { benchHotPath } from "./hot-path.ts";
import { type HourPlan, hourPlan, loadClickhouseInStore, loadPostgresInStore, type Phases } from "./in-store-rows.ts";
import { benchIngest } from "./ingest.ts";
import { copyIntoPostgres, insertIntoClickhouse } from "./load.ts";
import { produceBacklog, timeOurConsumer, timeRowByRowConsumer } from "./old-way.ts";
import { createBenchTopic } from "./pipeline.ts";
import { startProgress } from "./progress.ts";
import { QUERY_RUNS_PER_SIZE, timeQueries } from "./queries.ts";
import { type BenchReport, renderMarkdown, renderSvg, type SizeResult } from "./report.ts";
import { type BenchServers, describeBenchServers } from "./servers.ts";
import { round } from "./summary.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

export type BenchOptions = {
  seed: number;
  sizes: number[];
  reps: number;
  days: number;
  ingestRates: number[];
  stepSeconds: number;
  backlog: number;
  rowByRowSample: number;
  outDir: string;
  command: string;
  /** The parts to run; a report of some parts keeps the others from <outDir>/benchmarks.json. */
  parts: ReadonlySet<BenchPart>;
  /** The hot path's short version (a few minutes) and its consumer backlog. */
  quick: boolean;
  hotBacklog: number;
  /** How the --sizes rows get into the stores: sent from here (the product's path) or made by SQL in each store. */
  generate: "client" | "in-store";
};

export const BENCH_PARTS = ["load", "ingest", "old-way", "hot-path"] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Runs every part of the benchmark on fresh databases and a fresh topic; writes the report files. */
export async function runBench(config: Config, o: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const sizes: SizeResult[] = [];
  let versions = { postgres: "?", clickhouse: "?" };
  let servers: BenchServers | undefined;
  for (const rows of o.parts.has("load") ? o.sizes : []) {
    log(`— ${rows.toLocaleString("en-US")} rows`);
    // The in-store generation's statements may run longer than the client's usual 30 s.
    const stores = await createBenchStores(config, o.generate === "in-store" ? { clickhouseTimeoutMs: 3_600_000 } : {});
    try {
      servers ??= await describeBenchServers(stores.pg.stats.sql, stores.ch.stats.client, {
        postgres: config.postgres.url,
        clickhouse: config.clickhouse.url,
      });
      versions = { postgres: servers.postgres.version, clickhouse: servers.clickhouse.version };
      const end = Date.now();
      const loaded =
        o.generate === "in-store"
          ? await generateInStores(stores, rows, o.days, end)
          : await sendRows(stores, rows, o, end);
      const total = QUERY_RUNS_PER_SIZE(o.reps, 2);
      let done = 0;
      const p = startProgress("queries", total);
      const queries = await timeQueries(
        [stores.pg, stores.ch],
        { from: (end - o.days * 86_400_000) * 1000, to: end * 1000, timeZone: config.timeZone, filters: {} },
        o.reps,
        () => p.tick(++done),
      );
      p.end();
      sizes.push({ ...loaded, queries });
    } finally {
      await stores.drop();
    }
  }

  let ingest: BenchReport["ingest"] = [];
  if (o.parts.has("ingest") && o.ingestRates.length > 0) {
    log("— ingest through HTTP → Kafka → consumer → stores");
    const [topic, stores] = await Promise.all([createBenchTopic(config), createBenchStores(config)]);
    try {
      ingest = await benchIngest(config, topic, stores, o.ingestRates, o.stepSeconds);
    } finally {
      await Promise.allSettled([topic.drop(), stores.drop()]);
    }
  }

  let oldWay: BenchReport["oldWay"] = null;
  if (o.parts.has("old-way") && o.backlog > 0) {
    log(`— the old way: ${o.backlog.toLocaleString("en-US")}-message backlog`);
    const topic = await createBenchTopic(config);
    try {
      await produceBacklog(topic.kafka, topic.topic, o.backlog, o.seed, config.timeZone);
      const oursStores = await createBenchStores(config);
      let ours: Awaited<ReturnType<typeof timeOurConsumer>>;
      try {
        ours = await timeOurConsumer(topic.kafka, topic.topic, topic.groupId, oursStores, o.backlog, config.consumer);
      } finally {
        await oursStores.drop();
      }
      const oldStores = await createBenchStores(config);
      let rowByRow: Awaited<ReturnType<typeof timeRowByRowConsumer>>;
      try {
        rowByRow = await timeRowByRowConsumer(
          topic.kafka,
          topic.topic,
          topic.groupId,
          oldStores,
          Math.min(o.rowByRowSample, o.backlog),
        );
      } finally {
        await oldStores.drop();
      }
      const extrapolatedSeconds = round(o.backlog / rowByRow.rowsPerSecond, 1);
      oldWay = {
        backlog: o.backlog,
        ours,
        rowByRow: { ...rowByRow, extrapolatedSeconds },
        ratio: round(ours.rowsPerSecond / rowByRow.rowsPerSecond, 1),
      };
    } finally {
      await topic.drop();
    }
  }

  const hotPath = o.parts.has("hot-path")
    ? await benchHotPath(config, { quick: o.quick, backlog: o.hotBacklog, seed: o.seed })
    : null;

  const cpu = cpus();
  const fresh: BenchReport = {
    command: o.command,
    startedAt,
    // The hot path reports its own time; "the run ≤ 10 minutes" is about the other parts.
    seconds: round((performance.now() - started) / 1000 - (hotPath?.seconds ?? 0), 1),
    machine: {
      cpus: cpu[0]?.model.trim() ?? "?",
      cores: cpu.length,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      os: `Linux ${release()}`,
      bun: Bun.version,
      loadAverage: loadavg().map((x) => round(x)),
    },
    versions,
    ...(servers && { servers }),
    options: {
      seed: o.seed,
      sizes: o.sizes,
      reps: o.reps,
      days: o.days,
      timeZone: config.timeZone,
      batchSize: config.consumer.batchSize,
      batchFlushMs: config.consumer.flushMs,
      generate: o.generate,
    },
    sizes,
    ingest,
    oldWay,
    hotPath: hotPath && { command: o.command, ...hotPath },
  };
  const report = keepPartsNotRun(fresh, o.parts, join(o.outDir, "benchmarks.json"));
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, "benchmarks.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(o.outDir, "BENCHMARKS.md"), renderMarkdown(report));
  writeFileSync(join(o.outDir, "benchmarks.svg"), renderSvg(report));
  return report;
}

type Loaded = Omit<SizeResult, "queries">;

function loadResult(rows: number, pg: [number, Phases], ch: [number, Phases]): Loaded {
  const side = ([seconds, phases]: [number, Phases]) => ({
    seconds: round(seconds),
    rowsPerSecond: Math.round(rows / seconds),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, round(v)])),
  });
  return { rows, load: { postgres: side(pg), clickhouse: side(ch) } };
}

/** `--generate client`: synthetic rows made here and sent through the product's COPY and INSERT path. */
async function sendRows(stores: BenchStores, rows: number, o: BenchOptions, end: number): Promise<Loaded> {
  // Generated before the clocks start: the load rates are the stores', not the generator's.
  let p = startProgress("generate", rows);
  const chunks: FootprintRow[][] = [];
  for (const chunk of syntheticFootprints({ count: rows, days: o.days, end, seed: o.seed }, 100_000)) {
    chunks.push(chunk);
    p.tick(chunks.length * 100_000);
  }
  p.end();
  p = startProgress("load PostgreSQL (COPY)", rows);
  let t = performance.now();
  const pgPhases = await copyIntoPostgres(stores.pg.stats.sql, chunks, (n) => p.tick(n));
  const pgSeconds = (performance.now() - t) / 1000;
  p.end(`${Math.round(rows / pgSeconds).toLocaleString("en-US")} rows/s`);
  p = startProgress("load ClickHouse (INSERT)", rows);
  t = performance.now();
  const chPhases = await insertIntoClickhouse(
    (chunk) => stores.ch.insertFootprints(chunk),
    stores.ch.stats.client,
    chunks,
    (n) => p.tick(n),
  );
  const chSeconds = (performance.now() - t) / 1000;
  p.end(`${Math.round(rows / chSeconds).toLocaleString("en-US")} rows/s`);
  await expectRows(stores, rows);
  return loadResult(rows, [pgSeconds, pgPhases], [chSeconds, chPhases]);
}

/**
 * `--generate in-store`: the rows made inside each store by SQL (in-store-rows.ts, its "fast"
 * path): minutes instead of an hour at 10M rows. The same traffic shape without the minute bursts.
 */
async function generateInStores(stores: BenchStores, rows: number, days: number, end: number): Promise<Loaded> {
  const plan = exactly(rows, hourPlan(rows, days, end));
  const planned = rows;
  const timed = async (name: string, load: (tick: (h: number) => void) => Promise<Phases>) => {
    const p = startProgress(`generate in ${name} (SQL)`, planned);
    let done = 0;
    const t = performance.now();
    const phases = await load((h) => {
      done += plan[h]?.count ?? 0;
      p.tick(done);
    });
    const s = (performance.now() - t) / 1000;
    p.end(`${Math.round(planned / s).toLocaleString("en-US")} rows/s`);
    return [s, phases] as [number, Phases];
  };
  const pg = await timed("PostgreSQL", (tick) => loadPostgresInStore(stores.pg.stats.sql, plan, "fast", tick));
  const ch = await timed("ClickHouse", (tick) => loadClickhouseInStore(stores.ch.stats.client, plan, "fast", tick));
  await expectRows(stores, planned);
  return loadResult(planned, pg, ch);
}

/** The plan's hours scaled to `rows` in all: its last day ends at the run, so it holds a little less. */
function exactly(rows: number, plan: HourPlan): HourPlan {
  const planned = plan.reduce((sum, h) => sum + h.count, 0);
  const scaled = plan.map((h) => ({ ...h, count: Math.round((h.count * rows) / planned) }));
  // The rounding's remainder (at most half a row an hour) goes to the busiest hour.
  const busiest = scaled.reduce((a, b) => (b.count > a.count ? b : a), scaled[0] as HourPlan[number]);
  if (busiest) busiest.count += rows - scaled.reduce((sum, h) => sum + h.count, 0);
  return scaled;
}

async function expectRows(stores: BenchStores, rows: number): Promise<void> {
  const counts = [await stores.pg.countFootprints(), await stores.ch.countFootprints()];
  if (counts[0] !== rows || counts[1] !== rows) throw new Error(`loaded ${counts.join(" / ")} rows, expected ${rows}`);
}

/**
 * `--part hot-path` refreshes one section of the committed report: the parts not run this time
 * come from the previous benchmarks.json (when there is one), with the command and machine they
 * were measured with.
 */
function keepPartsNotRun(report: BenchReport, parts: ReadonlySet<BenchPart>, previousJson: string): BenchReport {
  if (BENCH_PARTS.every((p) => parts.has(p)) || !existsSync(previousJson)) return report;
  const previous = JSON.parse(readFileSync(previousJson, "utf8")) as BenchReport;
  const kept: BenchReport = {
    ...report,
    sizes: parts.has("load") ? report.sizes : previous.sizes,
    ingest: parts.has("ingest") ? report.ingest : previous.ingest,
    oldWay: parts.has("old-way") ? report.oldWay : previous.oldWay,
    hotPath: parts.has("hot-path") ? report.hotPath : (previous.hotPath ?? null),
  };
  // The header describes the run of the bulk of the report; a partial run is quoted in its section.
  if (!parts.has("load")) {
    return {
      ...kept,
      command: previous.command,
      startedAt: previous.startedAt,
      seconds: previous.seconds,
      machine: previous.machine,
      versions: previous.versions,
      options: previous.options,
      ...(previous.servers && { servers: previous.servers }),
    };
  }
  return kept;
}
