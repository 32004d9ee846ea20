import { expect, test } from "bun:test";
import { type HotPathReport, hotPathTargets } from "./hot-path.ts";
import { renderHotPath } from "./hot-path-report.ts";
import type { IngestStep } from "./ingest.ts";
import type { ScenarioName, ScenarioResult } from "./request-thread.ts";

const scenario = (name: ScenarioName, rps: number, serve: number, main: number): ScenarioResult => ({
  name,
  rps,
  p50: 0.5,
  p99: 2,
  cpuMicrosPerRequest: { serve, "serve main thread": main, kafka: 1 },
  requests: 1000,
  answered: 1100,
  ...(name.endsWith("off") ? {} : { recorded: 1100 }),
});

const step = (rate: number, sustained: boolean, p95: number): IngestStep => ({
  targetPerSecond: rate,
  seconds: 10,
  sent: rate * 10,
  failed: 0,
  httpPerSecond: rate,
  storedPerSecond: { postgres: rate, clickhouse: rate },
  freshness: { postgres: { p50: 100, p95 }, clickhouse: { p50: 100, p95: 300 } },
  drained: sustained,
  sustained,
  eventsPerRequest: 500,
  cpuMicrosPerEvent: { serve: 4, postgres: 3 },
});

function report(main: { off: number; on: number }, consumerRows: number): Omit<HotPathReport, "targets"> {
  return {
    startedAt: "2026-11-30T00:00:00.000Z",
    seconds: 100,
    quick: false,
    loadAverage: { before: [1, 1, 1], after: [2, 2, 2] },
    services: { kafka: 10, postgres: 20, clickhouse: null },
    requestThread: {
      path: "/api/v1/items/ledx",
      connections: 32,
      seconds: 5,
      rounds: 3,
      scenarios: [
        scenario("demo-off", 30_000, 30, main.off),
        scenario("demo-on", 27_000, 40, main.on),
        scenario("proxy-off", 10_000, 80, 70),
        scenario("proxy-on", 8_000, 120, 90),
      ],
      fixedRate: [
        { name: "demo-off", rate: 15_000, achievedRate: 15_000, answered: 1, failed: 0, p50: 0.3, p99: 1.5, p999: 3 },
        { name: "demo-on", rate: 15_000, achievedRate: 15_000, answered: 1, failed: 0, p50: 0.4, p99: 2.5, p999: 4 },
      ],
    },
    consumer: {
      backlog: 1_000_000,
      produceSeconds: 20,
      seconds: 20,
      rowsPerSecond: 50_000,
      firstCommitSeconds: 2,
      steadyRows: 990_000,
      steadyRowsPerSecond: consumerRows,
      cpuMicrosPerRow: { consume: 12, kafka: 2, postgres: 9 },
      cpuWindow: "steady",
      backgroundMicrosPerRow: { kafka: 0.5, postgres: 1 },
      stored: { postgres: 1_000_000, clickhouse: 1_000_000 },
    },
    ingestBatch: 500,
    ingestBatched: [step(25_000, true, 800), step(50_000, true, 2500), step(100_000, false, 9000)],
    ingestPerRequest: [step(5_000, true, 900)],
  };
}

test("each target is met or missed from this run's own figures", () => {
  const met = Object.fromEntries(hotPathTargets(report({ off: 10, on: 14 }, 55_000)).map((t) => [t.id, t.met]));
  expect(met).toEqual({
    "request-cpu": true,
    "request-rps": true,
    "request-p99": true,
    "proxy-rps": false,
    "consumer-rows": true,
    "consumer-cpu": true,
    // 50,000/s was sustained, but its freshness p95 was 2.5 s.
    "ingest-batched": false,
    "ingest-per-request": null,
  });
  const missed = hotPathTargets(report({ off: 10, on: 16 }, 49_000));
  expect(missed.find((t) => t.id === "request-cpu")).toMatchObject({
    met: false,
    value: "6 µs (10 → 16 µs on the main thread; whole process +10 µs)",
  });
  expect(missed.find((t) => t.id === "consumer-rows")?.met).toBe(false);
});

test("the section lists the targets, then every table, leaving out processes that were not found", () => {
  const r = report({ off: 10, on: 14 }, 55_000);
  const md = renderHotPath({ ...r, targets: hotPathTargets(r), command: "eft-footprint bench --part hot-path" }).join(
    "\n",
  );
  for (const heading of ["### Targets", "### Request thread", "### Consumer", "### Ingest end to end"]) {
    expect(md).toContain(heading);
  }
  expect(md).toContain("| proxy with recording ≥ 90% of proxy without | 80% (8,000 / 10,000 req/s) | **missed** |");
  expect(md).toContain(
    "| serve --demo, recording, consumer in process | 27,000 | 0.50 | 2.00 | 40.0 | 14.0 | 1.0 | 1,100 for 1,100 | — |",
  );
  expect(md).toContain("| 1,000,000 | 20 | 50,000 | 2 | 55,000 | 12.0 | 2.0 | 9.0 | 1,000,000 / 1,000,000 |");
  expect(md).not.toContain("clickhouse µs");
});
