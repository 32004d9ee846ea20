import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { AppError } from "../../src/errors.ts";
import { runBench } from "../bench/run-bench.ts";
import { defineCommand } from "./command.ts";

export const benchCommand = defineCommand({
  name: "bench",
  summary: "time PostgreSQL vs ClickHouse: bulk load, dashboard queries, ingest, the old way",
  help: `Usage: eft-footprint bench [--sizes 10000,100000,1000000] [--reps 20] [--seed 42] [--out docs]
                          [--ingest-rates 1000,...] [--step-seconds 10] [--backlog 100000]
                          [--row-by-row-sample 500] [--env-file <path>]

Measures, on fresh databases eft_bench_<random> (PostgreSQL and ClickHouse) and a fresh topic
eft-bench-<random> beside the configured ones (DATABASE_URL, CLICKHOUSE_URL, KAFKA_BROKERS; never
the user's tables; all dropped at the end), and writes <out>/BENCHMARKS.md, benchmarks.json and
benchmarks.svg. Progress and ETA on stderr. The default run takes about 10 minutes; 10M rows is
opt-in (--sizes 10000,100000,1000000,10000000).

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
  },
  async run({ values, env, envFile, argv }) {
    // The report quotes the command line it was made with.
    return runBenchCommand(
      readConfig(env, envFile),
      values,
      argv.filter((a) => a !== "bench"),
    );
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
};

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

/** `eft-footprint bench`: fills docs/BENCHMARKS.md (see app/bench/). */
export async function runBenchCommand(config: Config, flags: BenchFlags, argv: readonly string[]): Promise<number> {
  const report = await runBench(config, {
    seed: whole("seed", flags.seed ?? "42", 0),
    sizes: wholeList("sizes", flags.sizes ?? "10000,100000,1000000", 1),
    reps: whole("reps", flags.reps ?? "20", 1),
    days: 30,
    ingestRates: wholeList("ingest-rates", flags["ingest-rates"] ?? "1000,2000,5000,10000,20000,50000", 1),
    stepSeconds: whole("step-seconds", flags["step-seconds"] ?? "10", 1),
    backlog: whole("backlog", flags.backlog ?? "100000", 0),
    rowByRowSample: whole("row-by-row-sample", flags["row-by-row-sample"] ?? "500", 1),
    outDir: flags.out ?? "docs",
    command: `eft-footprint bench ${argv.join(" ")}`.trim(),
  });
  console.log(JSON.stringify({ written: flags.out ?? "docs", seconds: report.seconds }));
  return 0;
}
