import type { Config } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { runBench } from "../bench/run-bench.ts";

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
