import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { AppError } from "../../src/errors.ts";
import { BENCH_PARTS, type BenchOptions, type BenchPart, runBench } from "../bench/run-bench.ts";
import { defineCommand } from "./command.ts";

export const benchCommand = defineCommand({
  name: "bench",
  summary: "time PostgreSQL vs ClickHouse (bulk load, dashboard queries, ingest, the old way) and the hot path",
  help: `Usage: eft-footprint bench [--sizes 10000,100000,1000000] [--reps 20] [--seed 42] [--out docs]
                          [--ingest-rates 1000,...] [--step-seconds 10] [--backlog 100000]
                          [--row-by-row-sample 500] [--part load,ingest,old-way,hot-path]
                          [--quick] [--hot-backlog 1000000] [--generate client|in-store]
                          [--env-file <path>]

Measures, on fresh databases eft_bench_<random> (PostgreSQL and ClickHouse) and a fresh topic
eft-bench-<random> beside the configured ones (DATABASE_URL, CLICKHOUSE_URL, KAFKA_BROKERS; never
the user's tables; all dropped at the end), and writes <out>/BENCHMARKS.md, benchmarks.json and
benchmarks.svg. Progress and ETA on stderr. The default run takes about 20 minutes (half of it the
hot path); 10M rows is opt-in (--sizes 10000,100000,1000000,10000000; with --generate in-store,
minutes instead of about half an hour).

On your own servers: point the settings at them, e.g.
  DATABASE_URL=postgres://user:pass@db:5432/postgres CLICKHOUSE_URL=http://user:pass@ch:8123 \\
    KAFKA_BROKERS=kafka:9092 eft-footprint bench --out bench-out
The PostgreSQL user needs CREATEDB and the ClickHouse user CREATE/DROP DATABASE: the bench only
creates, fills and drops its own eft_bench_<random> databases (and topic). The report names what
it ran on: each server's version and host, PostgreSQL's settings (shared_buffers, work_mem,
parallel workers, jit, ...), and whether ClickHouse was a server or the chdb engine behind the
development endpoint. --ingest-rates none --backlog 0 skips the parts that need Kafka and serve.

  --sizes        (or none: skip) rows loaded per size: synthetic footprints over 30 days, deterministic from --seed,
                 loaded with COPY (PostgreSQL) and 100k-row INSERTs (ClickHouse), rows/s reported
  --reps         warm runs of each dashboard query (top, total, time-of-day, heatmap, timeseries, status),
                 raw and from rollups, per store: median, p95 and the PG/CH ratio
  --seed         seed of the synthetic data (same seed, same rows)
  --out          directory for the report files (default docs)
  --ingest-rates (or none: skip) requests/s tried in turn through serve --demo (HTTP, middleware, Kafka, consumer,
                 both stores) until one is not sustained; --step-seconds each. The consumers
                 batch as configured (BATCH_SIZE, BATCH_FLUSH_MS)
  --backlog      messages in the backlog both consumers read (ours vs one INSERT per message);
                 0 skips it. The row-by-row one is timed on --row-by-row-sample messages and
                 extrapolated
  --part         run only these parts (comma-separated): load (bulk load and queries, --sizes),
                 ingest (--ingest-rates), old-way (--backlog), hot-path (what a footprint costs:
                 request thread on/off with wrk and at a fixed rate, proxy on/off, the consumer on a
                 --hot-backlog of seed-format messages, the ingest endpoint; CPU per request/row/event
                 of serve, consume, Kafka and the stores). The parts not run keep their figures from
                 the previous <out>/benchmarks.json. Default: all
  --quick        the hot path's short version (about 2 minutes; --hot-backlog 20000 unless given)
  --hot-backlog  seed-format messages the hot path's consumer drains (default 1000000; 0 skips it)
  --generate     how the --sizes rows get into the stores: client (default: made here and sent through
                 the product's COPY and INSERT path, whose rates the bulk-load table gives) or in-store
                 (made inside each store by SQL, app/bench/in-store-rows.ts: the same traffic shape
                 without minute bursts, a little under the size as the period ends at the run; the
                 bulk-load table then gives the generation's time, not the product's load rate)
`,
  // In the order of the help: a usage error lists them so.
  options: {
    sizes: { type: "string" },
    reps: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    "ingest-rates": { type: "string" },
    "step-seconds": { type: "string" },
    backlog: { type: "string" },
    "row-by-row-sample": { type: "string" },
    part: { type: "string" },
    quick: { type: "boolean" },
    "hot-backlog": { type: "string" },
    generate: { type: "string" },
  },
  async run({ values, env, envFile, argv }) {
    // The flags first: a mistyped one is named before any setting is read. The report quotes the
    // command line it was made with.
    const options = benchOptions(
      values,
      argv.filter((a) => a !== "bench"),
    );
    return runBenchCommand(readConfig(env, envFile), options);
  },
});

export type BenchFlags = {
  seed?: string;
  sizes?: string;
  reps?: string;
  out?: string;
  "ingest-rates"?: string;
  "step-seconds"?: string;
  backlog?: string;
  "row-by-row-sample"?: string;
  part?: string;
  quick?: boolean;
  "hot-backlog"?: string;
  generate?: string;
};

function partList(text: string): Set<BenchPart> {
  const parts = text.split(",").map((p) => p.trim());
  const unknown = parts.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p));
  if (unknown.length > 0 || parts.length === 0) {
    throw new AppError("USAGE", `--part takes a comma-separated list of ${BENCH_PARTS.join(", ")}, not ${text}`);
  }
  return new Set(parts as BenchPart[]);
}

function wholeList(name: string, text: string, min: number): number[] {
  if (text === "none" && (name === "sizes" || name === "ingest-rates")) return [];
  const list = text.split(",").map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min)) {
    throw new AppError(
      "USAGE",
      `--${name} must be comma-separated whole numbers of at least ${min}${name === "sizes" || name === "ingest-rates" ? " (or none, to skip that part)" : ""}, not ${text}`,
    );
  }
  return list;
}

function whole(name: string, text: string, min: number): number {
  const [n] = wholeList(name, text, min);
  if (text.includes(",")) throw new AppError("USAGE", `--${name} takes one number, not ${text}`);
  return n as number;
}

function generateFlag(text: string): "client" | "in-store" {
  if (text === "client" || text === "in-store") return text;
  throw new AppError("USAGE", `--generate takes client or in-store, not ${text}`);
}

/** The command line as the bench's options; a usage error names the flag. */
export function benchOptions(flags: BenchFlags, argv: readonly string[]): BenchOptions {
  return {
    seed: whole("seed", flags.seed ?? "42", 0),
    sizes: wholeList("sizes", flags.sizes ?? "10000,100000,1000000", 1),
    reps: whole("reps", flags.reps ?? "20", 1),
    days: 30,
    ingestRates: wholeList("ingest-rates", flags["ingest-rates"] ?? "1000,2000,5000,10000,20000,50000", 1),
    stepSeconds: whole("step-seconds", flags["step-seconds"] ?? "10", 1),
    backlog: whole("backlog", flags.backlog ?? "100000", 0),
    rowByRowSample: whole("row-by-row-sample", flags["row-by-row-sample"] ?? "500", 1),
    outDir: flags.out ?? "docs",
    parts: partList(flags.part ?? BENCH_PARTS.join(",")),
    quick: flags.quick === true,
    hotBacklog: whole("hot-backlog", flags["hot-backlog"] ?? (flags.quick ? "20000" : "1000000"), 0),
    generate: generateFlag(flags.generate ?? "client"),
    command: `eft-footprint bench ${argv.join(" ")}`.trim(),
  };
}

/** `eft-footprint bench`: fills docs/BENCHMARKS.md (see app/bench/). */
export async function runBenchCommand(config: Config, options: BenchOptions): Promise<number> {
  const report = await runBench(config, options);
  console.log(JSON.stringify({ written: options.outDir, seconds: report.seconds }));
  return 0;
}
