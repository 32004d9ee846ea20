import type { HotPathReport } from "./hot-path.ts";
import type { IngestStep } from "./ingest.ts";
import { SCENARIOS } from "./request-thread.ts";

const n = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "—" : Math.round(x).toLocaleString("en-US"));
const us = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(1));
const mark = (met: boolean | null) => (met === null ? "—" : met ? "met" : "**missed**");

/** The CPU columns present in any row, in a fixed order (a process not found locally is left out). */
function cpuColumns(rows: Record<string, number>[], first: string[]): string[] {
  const seen = new Set(rows.flatMap((r) => Object.keys(r)));
  return [...first, "kafka", "postgres", "clickhouse"].filter((k) => seen.has(k));
}

function ingestTable(steps: IngestStep[], unit: string): string[] {
  const cols = cpuColumns(
    steps.map((s) => s.cpuMicrosPerEvent ?? {}),
    ["serve"],
  );
  return [
    `| target ${unit}/s | events/s answered | PG / CH stored/s | freshness p95 PG / CH ms | sustained | ${cols.map((c) => `${c} µs/event`).join(" | ")} |`,
    `|---:|---:|---:|---:|---|${cols.map(() => "---:").join("|")}|`,
    ...steps.map(
      (s) =>
        `| ${n(s.targetPerSecond)} | ${n(s.httpPerSecond)} | ${n(s.storedPerSecond.postgres)} / ${n(s.storedPerSecond.clickhouse)} | ${n(s.freshness.postgres.p95)} / ${n(s.freshness.clickhouse.p95)} | ${s.sustained ? "yes" : "no"} | ${cols.map((c) => us(s.cpuMicrosPerEvent?.[c])).join(" | ")} |`,
    ),
  ];
}

/** The hot-path section of BENCHMARKS.md (issue 12): every figure, then each target met or missed. */
export function renderHotPath(h: HotPathReport & { command: string }): string[] {
  const rt = h.requestThread;
  const out: string[] = [
    "## The hot path: what a footprint costs",
    "",
    "```",
    h.command,
    "```",
    "",
    `Run ${h.startedAt}, ${Math.round(h.seconds)} s${h.quick ? " (the quick version: shorter runs, a smaller backlog)" : ""}; ` +
      `load average ${h.loadAverage.before.join(", ")} before, ${h.loadAverage.after.join(", ")} after (a shared machine). ` +
      "CPU figures are read from /proc (utime + stime) of each process over the measured interval, divided by the " +
      "requests, rows or events it handled: serve or consume (all threads), serve's main thread (the request thread), " +
      `Kafka (pid ${h.services.kafka ?? "not local"}), PostgreSQL (the postmaster ${h.services.postgres ?? "not local"} and all its processes) ` +
      `and the ClickHouse endpoint (pid ${h.services.clickhouse ?? "not local"}). Other work on the machine uses those services too, ` +
      "so their figures are upper bounds. app/bench/hot-path.ts.",
    "",
    "### Targets",
    "",
    "| target | this run | |",
    "|---|---|---|",
    ...h.targets.map((t) => `| ${t.target} | ${t.value} | ${mark(t.met)} |`),
    "",
    "### Request thread",
    "",
    `wrk -t1 -c${rt.connections} -d${rt.seconds}s on \`${rt.path}\`, ${rt.rounds} round(s) alternating the scenarios' order, ` +
      "median per scenario. Every scenario is its own `serve` process (with its own topic), all running side by side; " +
      "proxy scenarios forward to a 200-byte JSON site. *recorded*: footprints on the scenario's topic afterwards, " +
      "for every request answered (warm-up and fixed-rate run included). *catch-up*: with the consumer in process, " +
      "seconds it needed after a run to store that run's footprints (median); the next measurement waited for it.",
    "",
  ];
  const cols = cpuColumns(
    rt.scenarios.map((s) => s.cpuMicrosPerRequest),
    ["serve", "serve main thread"],
  );
  out.push(
    `| scenario | req/s | p50 ms | p99 ms | ${cols.map((c) => `${c} µs/req`).join(" | ")} | recorded | catch-up s |`,
    `|---|---:|---:|---:|${cols.map(() => "---:").join("|")}|---:|---:|`,
    ...rt.scenarios.map(
      (s) =>
        `| ${SCENARIOS[s.name].label} | ${n(s.rps)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${cols.map((c) => us(s.cpuMicrosPerRequest[c])).join(" | ")} | ${s.recorded === undefined ? "—" : `${n(s.recorded)} for ${n(s.answered)}`} | ${s.catchUpSeconds ?? "—"} |`,
    ),
    "",
  );
  if (rt.fixedRate.length > 0) {
    out.push(
      `At a fixed rate, half of recording off's maximum (open loop, app/bench/fixed-rate.ts: wrk has no rate option; ` +
        "each request's latency counts from when it was due, so a server that falls behind shows its queue):",
      "",
      "| scenario | rate/s | answered/s | p50 ms | p99 ms | p99.9 ms |",
      "|---|---:|---:|---:|---:|---:|",
      ...rt.fixedRate.map(
        (f) =>
          `| ${SCENARIOS[f.name].label} | ${n(f.rate)} | ${n(f.achievedRate)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.p999.toFixed(2)} |`,
      ),
      "",
    );
  }
  const c = h.consumer;
  if (c) {
    const cc = cpuColumns([c.cpuMicrosPerRow], ["consume"]);
    out.push(
      "### Consumer",
      "",
      `A backlog of ${n(c.backlog)} seed-format messages produced beforehand (${c.produceSeconds} s, not counted), drained by ` +
        "`eft-footprint consume` (its own process) into fresh databases. Done when every consumer group had committed " +
        "the whole backlog (offsets polled every 200 ms: counting rows would load PostgreSQL). *Steady*: from the first " +
        "commit (group joined, first batch stored) to the end; CPU per row over that part" +
        (c.cpuWindow === "whole" ? " (here over the whole run: the first commit held most of the backlog)" : "") +
        ". *background*: what the " +
        "same processes used per second in the 3 s before `consume` started (other work on the shared stack), " +
        "expressed per row of the steady part: the share of each figure that is not ours.",
      "",
      `| rows | s from start | rows/s | first commit s | rows/s steady | ${cc.map((k) => `${k} µs/row`).join(" | ")} | stored PG / CH |`,
      `|---:|---:|---:|---:|---:|${cc.map(() => "---:").join("|")}|---:|`,
      `| ${n(c.backlog)} | ${c.seconds} | ${n(c.rowsPerSecond)} | ${c.firstCommitSeconds} | ${n(c.steadyRowsPerSecond)} | ${cc.map((k) => us(c.cpuMicrosPerRow[k])).join(" | ")} | ${n(c.stored.postgres)} / ${n(c.stored.clickhouse)} |`,
      `| background | | | | | ${cc.map((k) => us(c.backgroundMicrosPerRow?.[k])).join(" | ")} | |`,
      "",
    );
  }
  out.push(
    "### Ingest end to end",
    "",
    `The ingest endpoint: POSTs of ${h.ingestBatch} seed-format events to \`serve --demo\` (consumer in process), each ` +
      "rate for a few seconds, rates rising until one is not sustained (every request answered, ≥ 90% of the rate, both " +
      "stores holding every event within 10 s, freshness p95 < 5 s). Freshness: POST sent → its rows counted in that " +
      "store (polled every 100 ms). CPU per event from the step's start until both stores held every event.",
    "",
    ...ingestTable(h.ingestBatched, "events"),
    "",
    "One request, one event: GETs of demo pages through the footprint middleware, same rules.",
    "",
    ...ingestTable(h.ingestPerRequest, "requests"),
    "",
  );
  return out;
}
