/**
 * The soak's verdict and its section of docs/RELIABILITY.md (between the markers of
 * soak-section.ts): a row in the fault table's shape, the memory checks, a chart (docs/soak.svg)
 * and a table with a row per minute.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./binary.ts";
import { SCENARIO_TABLE_HEAD, type ScenarioResult, scenarioRow } from "./fault-report.ts";
import type { SoakResult } from "./soak-run.ts";
import type { ProcessSample, Sample } from "./soak-sample.ts";
import { withSoakSection } from "./soak-section.ts";
import { renderSoakSvg } from "./soak-svg.ts";

const MiB = 2 ** 20;
/** Memory is flat when the last third's floor is within this of the second third's (the larger). */
export const FLAT_MARGIN = { fraction: 0.1, rssBytes: 8 * MiB, heapBytes: 4 * MiB };
/** Open files are flat when the last third's maximum is at most this above the second third's. */
export const OPEN_FILES_SLACK = 4;

export type FlatCheck = {
  process: "serve" | "consume";
  measure: "RSS" | "JS heap" | "open files";
  /** Seconds since the start: the window the thirds are taken of. */
  from: number;
  to: number;
  second: number | undefined;
  last: number | undefined;
  limit: number | undefined;
  /** Least-squares slope of the per-minute floor over the last two thirds, per hour (informative). */
  perHour: number | undefined;
  passed: boolean;
};

const minOf = (xs: number[]) => (xs.length === 0 ? undefined : Math.min(...xs));

/** Least-squares slope of the per-minute lowest values, per hour (undefined under 3 minutes). */
function floorTrendPerHour(points: [number, number][]): number | undefined {
  const byMinute = new Map<number, number>();
  for (const [t, v] of points) byMinute.set(Math.floor(t / 60), Math.min(v, byMinute.get(Math.floor(t / 60)) ?? v));
  const floors = [...byMinute].map(([m, v]): [number, number] => [m * 60, v]);
  if (floors.length < 3) return undefined;
  const mx = floors.reduce((a, [x]) => a + x, 0) / floors.length;
  const my = floors.reduce((a, [, y]) => a + y, 0) / floors.length;
  const sxx = floors.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = floors.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  return (sxy / sxx) * 3600;
}

const FIELDS: Record<FlatCheck["measure"], keyof ProcessSample> = {
  RSS: "rssBytes",
  "JS heap": "heapBytes",
  "open files": "openFiles",
};

/** One measure of one process: the last third of its window against the second (the first is warm-up). */
function flatCheck(window: Sample[], process: FlatCheck["process"], measure: FlatCheck["measure"]): FlatCheck {
  const from = window[0]?.t ?? 0;
  const to = window.at(-1)?.t ?? 0;
  const third = (to - from) / 3;
  const points = window.flatMap((s): [number, number][] => {
    const v = s[process][FIELDS[measure]];
    return v === undefined ? [] : [[s.t, v]];
  });
  const second = points.filter(([t]) => t >= from + third && t < from + 2 * third).map(([, v]) => v);
  const last = points.filter(([t]) => t >= from + 2 * third).map(([, v]) => v);
  const enough = second.length >= 3 && last.length >= 3;
  const files = measure === "open files";
  // Memory: the floor (a garbage collection's low point) rises with a leak; the sawtooth between
  // collections and a fault's passing peak do not lift it. Open files: the most at any sample.
  const s = files ? Math.max(...second) : minOf(second);
  const l = files ? Math.max(...last) : minOf(last);
  const floor = measure === "RSS" ? FLAT_MARGIN.rssBytes : FLAT_MARGIN.heapBytes;
  const limit =
    !enough || s === undefined
      ? undefined
      : files
        ? s + OPEN_FILES_SLACK
        : s + Math.max(s * FLAT_MARGIN.fraction, floor);
  return {
    process,
    measure,
    from,
    to,
    second: enough ? s : undefined,
    last: enough ? l : undefined,
    limit,
    perHour: floorTrendPerHour(points.filter(([t]) => t >= from + third)),
    passed: enough && limit !== undefined && l !== undefined && l <= limit,
  };
}

/**
 * Memory and open files flat, per process, over its window: serve's whole run; for consume the
 * life of its last process (a kill -9 starts a new one with fresh memory).
 */
export function flatChecks(r: SoakResult): FlatCheck[] {
  const inRun = r.samples.filter((s) => s.t <= r.options.minutes * 60 + r.options.sampleSeconds / 2);
  const lastInstance = inRun.at(-1)?.consumeInstance;
  const consume = inRun.filter((s) => s.consumeInstance === lastInstance);
  const measures = ["RSS", "JS heap", "open files"] as const;
  return [
    ...measures.map((m) => flatCheck(inRun, "serve", m)),
    ...measures.map((m) => flatCheck(consume, "consume", m)),
  ];
}

/** Everything that makes the soak fail, in words (empty: it passed). */
export function soakProblems(r: SoakResult): string[] {
  const problems: string[] = r.error ? [`ended early: ${r.error}`] : [];
  const { counts, sent } = r;
  if (counts.postgres !== sent.total) problems.push(`PostgreSQL holds ${counts.postgres} of ${sent.total} events`);
  if (counts.clickhouse !== sent.total) problems.push(`ClickHouse holds ${counts.clickhouse} of ${sent.total} events`);
  if (counts.pgDuplicates || counts.chDuplicates)
    problems.push(`duplicate event_ids: ${counts.pgDuplicates} in PostgreSQL, ${counts.chDuplicates} in ClickHouse`);
  if (!(r.dropped === 0)) problems.push(`${r.dropped} events dropped by serve`);
  if (r.failedRequests.length > 0) problems.push(`failed requests: ${r.failedRequests.slice(0, 3).join("; ")}`);
  for (const f of r.faults.filter((x) => x.recoveryMs === undefined))
    problems.push(`not recovered within 180 s after ${f.name} at ${f.at.toFixed(0)} s`);
  for (const c of flatChecks(r).filter((x) => !x.passed))
    problems.push(`${c.process} ${c.measure} not flat: last third ${show(c, c.last)}, limit ${show(c, c.limit)}`);
  return problems;
}

function show(c: Pick<FlatCheck, "measure">, v: number | undefined): string {
  if (v === undefined) return "— (too few samples)";
  return c.measure === "open files" ? String(v) : `${(v / MiB).toFixed(1)} MiB`;
}

const minutesLabel = (m: number) => (Number.isInteger(m) ? String(m) : m.toFixed(1));

/** The soak as a row of the fault table: "the soak (10 min, faults every 2 min)". */
export function soakScenario(r: SoakResult): ScenarioResult {
  const recoveries = r.faults.flatMap((f) => (f.recoveryMs === undefined ? [] : [f.recoveryMs]));
  const problems = soakProblems(r);
  const flat = flatChecks(r).every((c) => c.passed);
  return {
    scenario: `the soak (${minutesLabel(r.options.minutes)} min, faults every ${minutesLabel(r.options.faultEveryMinutes)} min)`,
    sent: r.sent.total,
    postgres: r.counts.postgres,
    clickhouse: r.counts.clickhouse,
    pgDuplicates: r.counts.pgDuplicates,
    chDuplicates: r.counts.chDuplicates,
    deadLetters: undefined,
    recoveryMs: recoveries.length ? Math.max(...recoveries) : undefined,
    notes: `${r.faults.length} faults (${r.faults.map((f) => f.name).join(", ")}); recovery time = the slowest; ${r.spooled.toLocaleString("en-US")} events spooled, ${r.dropped} dropped; memory and open files ${flat ? "flat" : "**not flat**"}${problems.length ? `; ${problems.join("; ")}` : ""}`,
    passed: problems.length === 0,
  };
}

const mib = (b: number | undefined) => (b === undefined ? "—" : (b / MiB).toFixed(1));
const num = (n: number | undefined) => (n === undefined ? "—" : n.toLocaleString("en-US"));
const maxOf = (xs: (number | undefined)[]) => {
  const d = xs.filter((x): x is number => x !== undefined);
  return d.length ? Math.max(...d) : undefined;
};

/** A row per minute: the minute's last sample for memory, files and counts; its maximum for spool and lag. */
export function minuteTable(r: SoakResult): string {
  const rows: string[] = [];
  const bucket = Math.max(60, r.options.sampleSeconds);
  const end = r.options.minutes * 60;
  for (let from = 0; from < end; from += bucket) {
    const inside = r.samples.filter((s) => s.t > from && s.t <= from + bucket + 0.5);
    const s = inside.at(-1);
    if (!s) continue;
    const faults = r.faults.filter((f) => f.at > from && f.at <= from + bucket).map((f) => f.name);
    rows.push(sampleRow(minutesLabel((from + bucket) / 60), faults.join(", "), s, inside));
  }
  const last = r.samples.at(-1);
  if (last && last.t > end)
    rows.push(sampleRow(`end (${minutesLabel(last.t / 60)})`, "load stopped, drained", last, [last]));
  return [
    "| minute | fault | serve RSS MiB | serve heap MiB | serve open files | consume RSS MiB | consume heap MiB | consume open files | spool on disk KiB (max) | spool unsent KiB (max) | lag PG / CH (max) | events sent | stored PG | stored CH |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function sampleRow(label: string, faults: string, s: Sample, inside: Sample[]): string {
  const kib = (b: number | undefined) => (b === undefined ? "—" : Math.round(b / 1024).toLocaleString("en-US"));
  const cells = [
    label,
    faults,
    mib(s.serve.rssBytes),
    mib(s.serve.heapBytes),
    num(s.serve.openFiles),
    mib(s.consume.rssBytes),
    mib(s.consume.heapBytes),
    num(s.consume.openFiles),
    kib(maxOf(inside.map((x) => x.spoolBytes))),
    kib(maxOf(inside.map((x) => x.spoolUnsentBytes))),
    `${num(maxOf(inside.map((x) => x.lag.postgres)))} / ${num(maxOf(inside.map((x) => x.lag.clickhouse)))}`,
    num(s.sent),
    num(s.stored.postgres),
    num(s.stored.clickhouse),
  ];
  return `| ${cells.join(" | ")} |`;
}

function checksTable(r: SoakResult): string {
  const rows = flatChecks(r).map((c) => {
    const rate =
      c.perHour === undefined
        ? "—"
        : c.measure === "open files"
          ? `${c.perHour >= 0 ? "+" : ""}${c.perHour.toFixed(1)}/h`
          : `${c.perHour >= 0 ? "+" : ""}${(c.perHour / MiB).toFixed(1)} MiB/h`;
    const cells = [
      c.process,
      c.measure,
      `${minutesLabel(c.from / 60)}–${minutesLabel(c.to / 60)} min`,
      show(c, c.second),
      show(c, c.last),
      show(c, c.limit),
      rate,
      c.passed ? "flat" : "**not flat**",
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [
    "| process | measure | window | second third | last third | limit | trend of the per-minute floor (last two thirds) | result |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

function faultTable(r: SoakResult): string {
  const rows = r.faults.map(
    (f) =>
      `| ${minutesLabel(f.at / 60)} min | ${f.name} | ${(f.undoneAt - f.at).toFixed(0)} s | ${f.recoveryMs === undefined ? "—" : `${(f.recoveryMs / 1000).toFixed(1)} s`} | ${f.note} |`,
  );
  return ["| at | fault | applied → undone | recovery | what happened |", "|---|---|---|---|---|", ...rows].join("\n");
}

function prose(r: SoakResult): string {
  const o = r.options;
  return `## The soak

Generated by the soak (\`test/support/soak-run.ts\`): in CI by \`e2e/soak.test.ts\`
(\`EFT_SOAK_MINUTES\`, default 10; skipped with \`EFT_SKIP_FAULTS=1\` like the fault suite), the long
run by hand with \`./scripts/soak.ts 60m\`. Do not edit by hand: each run rewrites this section and
docs/soak.svg; the fault tests and the property tests keep it when they rewrite the file.

On a stack of its own (\`EFT_SOAK_STACK_DIR\`, default \`<EFT_STACK_DIR>-soak\`, never the shared
one), the compiled binary runs as \`serve --demo --no-consumer\` (PRODUCER_QUEUE_MAX=500, so that a
Kafka outage reaches the spool on disk within seconds) and one \`consume\`. The load is steady:
${o.demoRate} demo requests/s (every answer must be 200; each records one footprint) and an ingest
client POSTing ${o.ingestBatch} events every 500 ms with event ids of its own, resending a batch with
the same ids until it is answered 202. Every ${minutesLabel(o.faultEveryMinutes)} minutes comes the
next fault of: ${o.faults.join(", ")} — \`consume\` killed with -9 and started again; PostgreSQL,
ClickHouse or Kafka stopped for ${o.outageSeconds} s and started again (while Kafka is down the
ingest client holds its batches: a 503's events may still be stored, and ClickHouse would count a
resent one twice, issue 16 item 1). Every ${o.sampleSeconds} s the soak samples each process's RSS
(/proc/PID/status) and open files (/proc/PID/fd), its JS heap (\`nodejs_heap_size_used_bytes\` of its
/metrics: the main thread's; serve's capture Worker and its producer count in its RSS only), the spool dir's size on disk and serve's unsent spool bytes, each sink's consumer lag,
events sent and rows in each store. At the end the load stops and the soak waits for both stores
to hold everything.

It passes when nothing is lost (events sent = rows in PostgreSQL = rows in ClickHouse), nothing is
stored twice, serve dropped nothing, every request was answered, every fault was recovered from
within 180 s, and memory is flat: for serve over the whole run, for consume over the life of its
last process (a kill starts it afresh), the first third is warm-up, and the floor (lowest sample)
of RSS and of JS heap in the last third is within ${FLAT_MARGIN.fraction * 100} % of the second
third's floor (or ${FLAT_MARGIN.rssBytes / MiB} MiB of RSS, ${FLAT_MARGIN.heapBytes / MiB} MiB of heap,
whichever is larger); the most open files of the last third are at most ${OPEN_FILES_SLACK} above the
second third's. The floor, not the median: the JS heap is a sawtooth between garbage collections
(10–20 MiB apart) and a fault's backlog lifts memory for a minute, but only a leak lifts the low
points. The trend column (a least-squares slope of the per-minute floors) is for reading, not judged.`;
}

/** The section's text (without markers), and the chart it links to. */
export function renderSoakSection(r: SoakResult, commit: string, command: string): string {
  return `${prose(r)}

${SCENARIO_TABLE_HEAD}
${scenarioRow(soakScenario(r))}

${checksTable(r)}

![the soak: memory, open files, spool and lag over time](soak.svg)

${faultTable(r)}

${minuteTable(r)}

Run: ${r.startedAt}, commit ${commit}, ${cpus().length} CPU(s), \`${command}\`; ${r.sent.demo.toLocaleString("en-US")} demo
requests and ${r.sent.ingest.toLocaleString("en-US")} ingest events, ${r.ingestRetries} ingest resends; both stores held
everything ${r.drainMs === undefined ? "— (not within 300 s)" : `${(r.drainMs / 1000).toFixed(1)} s`} after the load stopped.`;
}

/** Writes the section into docs/RELIABILITY.md (the rest kept) and the chart to docs/soak.svg. */
export function writeSoakReport(r: SoakResult, commit: string, command: string): string {
  const path = join(repoRoot, "docs/RELIABILITY.md");
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Reliability\n";
  writeFileSync(path, withSoakSection(text, renderSoakSection(r, commit, command)));
  writeFileSync(join(repoRoot, "docs/soak.svg"), renderSoakSvg(r));
  return path;
}
