#!/usr/bin/env bun
/**
 * The long soak, by hand: `./scripts/soak.ts 60m` (after ./compile.sh). The compiled binary at a
 * steady load with a fault every few minutes, on a stack of its own (EFT_SOAK_STACK_DIR, default
 * `<EFT_STACK_DIR>-soak`, else /tmp/eft-footprint-soak; left up for the next run, like the fault
 * stack). Writes its section of docs/RELIABILITY.md and docs/soak.svg; exits 1 when something was
 * lost or doubled or memory was not flat. e2e/soak.test.ts runs the 10-minute one in CI.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { repoRoot } from "../test/support/binary.ts";
import { soakProblems, writeSoakReport } from "../test/support/soak-report.ts";
import { runSoak, SOAK_DEFAULTS, SOAK_FAULTS, type SoakFaultName } from "../test/support/soak-run.ts";

const USAGE = `usage: ./scripts/soak.ts <duration: 60m, 90 (minutes), 2h> [--fault-every <minutes>] [--sample <seconds>]
                       [--faults ${SOAK_FAULTS.join(",")}] [--rate <demo requests/s>] [--outage <seconds>]
                       [--json <file>: every sample, for a closer look]`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** "60m", "60", "1h", "1.5h" → minutes. */
function minutesOf(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|h)?$/.exec(text);
  if (!m) fail(`the duration is a number of minutes (60m) or hours (1h), not ${text}`);
  return Number(m[1]) * (m[2] === "h" ? 60 : 1);
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} takes a positive number, not ${text}`);
  return n;
}

function faultList(text: string | undefined): SoakFaultName[] {
  if (text === undefined) return [...SOAK_FAULTS];
  const list = text.split(",").map((f) => f.trim());
  const unknown = list.filter((f) => !(SOAK_FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0 || list.length === 0) fail(`--faults takes some of ${SOAK_FAULTS.join(", ")}, not ${text}`);
  return list as SoakFaultName[];
}

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: {
    "fault-every": { type: "string" },
    sample: { type: "string" },
    faults: { type: "string" },
    rate: { type: "string" },
    outage: { type: "string" },
    json: { type: "string" },
  },
});
if (positionals.length !== 1) fail("give one duration");
const options = {
  ...SOAK_DEFAULTS,
  minutes: minutesOf(positionals[0] as string),
  faultEveryMinutes: positive("fault-every", values["fault-every"], SOAK_DEFAULTS.faultEveryMinutes),
  sampleSeconds: positive("sample", values.sample, SOAK_DEFAULTS.sampleSeconds),
  faults: faultList(values.faults),
  demoRate: positive("rate", values.rate, SOAK_DEFAULTS.demoRate),
  outageSeconds: positive("outage", values.outage, SOAK_DEFAULTS.outageSeconds),
  log: (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`),
};
const result = await runSoak(options, false);
if (values.json) writeFileSync(values.json, JSON.stringify(result));
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repoRoot }).stdout.toString().trim();
const path = writeSoakReport(result, commit || "unknown", `./scripts/soak.ts ${Bun.argv.slice(2).join(" ")}`);
const problems = soakProblems(result);
console.error(problems.length ? `soak FAILED:\n  ${problems.join("\n  ")}` : "soak passed");
console.error(`written: ${path}, docs/soak.svg`);
process.exit(problems.length ? 1 : 0);
