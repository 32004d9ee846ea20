/**
 * Running property-based tests (fast-check): case counts small enough for every CI run, scaled up
 * by `EFT_PROPERTY_RUNS=<factor>` for a long opt-in run; a random seed per run, replayed with
 * `EFT_PROPERTY_SEED=<seed> EFT_PROPERTY_PATH=<path>` (both printed when a property fails); each
 * run's case count recorded in docs/RELIABILITY.md (property-report.ts).
 */
import fc from "fast-check";

export type PropertyRun = {
  /** What the property says, as in the test. */
  name: string;
  /** The test file that runs it. */
  file: string;
  cases: number;
  seed: number;
  passed: boolean;
  /** What the runs did, e.g. answers by status class, or messages stored and dead-lettered. */
  outcome: string;
};

const factor = positiveNumber("EFT_PROPERTY_RUNS") ?? 1;
const replaySeed = integer("EFT_PROPERTY_SEED");
const replayPath = process.env.EFT_PROPERTY_PATH || undefined;

/** A test's timeout for its default case count, scaled like the case counts. */
export function propertyTimeout(ms: number): number {
  return Math.round(ms * Math.max(1, factor));
}

/** Every property run of this process, in order. */
export const propertyRuns: PropertyRun[] = [];

/**
 * Checks `property` over `baseRuns` cases (times EFT_PROPERTY_RUNS) and records the run. A failure
 * throws fast-check's report (the shrunk counterexample, seed and path) and the command that
 * replays it. `outcome` summarises what the cases did, for the report.
 */
export async function checkProperty<Ts>(
  run: { name: string; file: string; baseRuns: number; outcome?: () => string; shrink?: boolean },
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
): Promise<void> {
  const seed = replaySeed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const numRuns = Math.max(1, Math.round(run.baseRuns * factor));
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    numRuns,
    seed,
    includeErrorInReport: true,
    ...(replayPath ? { path: replayPath, endOnFailure: true } : {}),
    ...(run.shrink === false ? { endOnFailure: true } : {}),
  });
  propertyRuns.push({
    name: run.name,
    file: run.file,
    cases: details.failed ? details.numRuns : numRuns,
    seed,
    passed: !details.failed,
    outcome: run.outcome?.() ?? "",
  });
  console.info(
    `property "${run.name}": ${details.numRuns} cases, seed ${seed}, ${details.failed ? "FAILED" : "passed"}`,
  );
  if (details.failed) {
    // Cut: a counterexample may hold a 200 kB value, and the seed and path replay it whole.
    const report = (fc.defaultReportMessage(details) ?? "property failed")
      .split("\n")
      .map((line) => (line.length > 1500 ? `${line.slice(0, 1500)}… (${line.length} chars)` : line))
      .join("\n");
    throw new Error(
      `${run.name}\n${report}\nreplay: EFT_PROPERTY_SEED=${seed} EFT_PROPERTY_PATH=${details.counterexamplePath ?? ""} bun test ${run.file}`,
    );
  }
}

/** Counts by label (e.g. status class), shown as `2xx 40 · 4xx 60`. */
export function createTally() {
  const counts = new Map<string, number>();
  return {
    add(label: string) {
      counts.set(label, (counts.get(label) ?? 0) + 1);
    },
    get(label: string) {
      return counts.get(label) ?? 0;
    },
    toString() {
      return [...counts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, n]) => `${label} ${n}`)
        .join(" · ");
    },
  };
}

function positiveNumber(name: string): number | undefined {
  const text = process.env[name];
  if (!text) return undefined;
  const n = Number(text);
  if (!(n > 0)) throw new Error(`${name} must be a positive number (a factor on every property's case count)`);
  return n;
}

function integer(name: string): number | undefined {
  const text = process.env[name];
  if (!text) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer (a seed printed by a failed property)`);
  return n;
}
