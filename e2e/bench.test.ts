import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary } from "../test/support/binary.ts";
import { stackEnv } from "../test/support/stack.ts";

/** Runs `eft-footprint bench <args>` against the shared stack; its stderr is shown only if it fails. */
async function runBench(args: string[]): Promise<void> {
  const stack = await stackEnv();
  const proc = Bun.spawn([await ensureBinary(), "bench", ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      DATABASE_URL: stack.databaseUrl,
      CLICKHOUSE_URL: stack.clickhouseUrl,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
}

// A smoke test of the report's shape, not of speed: timings are recorded, never asserted.
describe("eft-footprint bench", () => {
  const out = mkdtempSync(join(tmpdir(), "eft-bench-test-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test(
    "--part load,ingest,old-way --sizes 10000 --reps 2 writes BENCHMARKS.md, benchmarks.json and benchmarks.svg of every part",
    async () => {
      await runBench([
        ...["--part", "load,ingest,old-way", "--sizes", "10000", "--reps", "2", "--ingest-rates", "100"],
        ...["--step-seconds", "2", "--backlog", "2000", "--row-by-row-sample", "20", "--out", out],
      ]);

      const report = JSON.parse(readFileSync(join(out, "benchmarks.json"), "utf8"));
      expect(report.options).toMatchObject({ sizes: [10000], reps: 2, seed: 42 });
      expect(report.command).toContain("--sizes 10000 --reps 2");
      expect(report.hotPath).toBeNull();
      expect(report.sizes).toHaveLength(1);
      const [size] = report.sizes;
      expect(size.rows).toBe(10000);
      for (const store of ["postgres", "clickhouse"]) expect(size.load[store].rowsPerSecond).toBeGreaterThan(0);
      // 6 queries × 2 stores × raw/rollup, each with 2 runs.
      expect(size.queries).toHaveLength(24);
      for (const q of size.queries) {
        expect(q.runs).toBe(2);
        expect(q.median).toBeGreaterThan(0);
        expect(q.p95).toBeGreaterThanOrEqual(q.median);
        // Each store said how long the query took it, and that is part of the wall time.
        expect(q.own).toBeGreaterThan(0);
        expect(q.own).toBeLessThanOrEqual(q.p95);
      }
      expect(new Set(size.queries.map((q: { query: string }) => q.query))).toEqual(
        new Set(["top", "total", "time-of-day", "heatmap", "timeseries", "status"]),
      );
      expect(report.ingest.length).toBeGreaterThanOrEqual(1);
      expect(report.ingest[0]).toMatchObject({ targetPerSecond: 100, sent: 200, drained: true });
      expect(report.oldWay).toMatchObject({ backlog: 2000, ours: { rows: 2000 }, rowByRow: { rows: 20 } });
      expect(report.oldWay.ratio).toBeGreaterThan(0);

      const md = readFileSync(join(out, "BENCHMARKS.md"), "utf8");
      for (const heading of [
        "## Bulk load",
        "## Dashboard queries",
        "## Ingest through the real path",
        "## The old way",
      ]) {
        expect(md).toContain(heading);
      }
      expect(md).toMatch(/\| 10,000 \| top \| [\d.]+ \/ [\d.]+ \|/);
      expect(md).toContain("The stores' own time");
      expect(md).toMatch(/\| 10,000 \| top \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
      // What it ran on, as the servers said (the stack's ClickHouse is chdb behind its endpoint).
      expect(report.servers.postgres.settings).toMatchObject({ work_mem: expect.any(String), jit: expect.any(String) });
      expect(["server", "chdb"]).toContain(report.servers.clickhouse.kind);
      const place = "(on the bench's machine|at \\S+)";
      expect(md).toMatch(new RegExp(`- ClickHouse ${report.servers.clickhouse.version} ${place}: `));
      expect(md).toMatch(new RegExp(`- PostgreSQL ${report.servers.postgres.version} ${place}: .*work_mem`));
      const svg = readFileSync(join(out, "benchmarks.svg"), "utf8");
      expect(svg).toStartWith("<svg");
      expect(svg.match(/<path /g)).toHaveLength(24); // a line per query, store and source
    },
    { timeout: 120_000 },
  );

  test(
    "--generate in-store: the rows are made inside each store, exactly --sizes of them, and the report says so",
    async () => {
      const inStore = join(out, "in-store");
      await runBench(["--part", "load", "--sizes", "5000", "--reps", "1", "--generate", "in-store", "--out", inStore]);

      const report = JSON.parse(readFileSync(join(inStore, "benchmarks.json"), "utf8"));
      expect(report.options).toMatchObject({ sizes: [5000], generate: "in-store" });
      const [size] = report.sizes;
      // The bench counts both stores' rows before it times the queries: a short count fails the run.
      expect(size.rows).toBe(5000);
      for (const store of ["postgres", "clickhouse"]) {
        expect(size.load[store].rowsPerSecond).toBeGreaterThan(0);
        expect(Object.keys(size.load[store].phases)).toContain("rollups");
      }
      expect(size.queries).toHaveLength(24);
      const md = readFileSync(join(inStore, "BENCHMARKS.md"), "utf8");
      expect(md).toContain("generated inside each store by SQL");
      expect(md).toContain("| rows | PostgreSQL generated by SQL");
    },
    { timeout: 180_000 },
  );

  test(
    "--part hot-path --quick writes the hot-path section: every scenario, the consumer, ingest, each target",
    async () => {
      const hotOut = join(out, "hot");
      expect(Bun.spawnSync([join(import.meta.dir, "../scripts/install-wrk")]).exitCode).toBe(0);
      await runBench(["--part", "hot-path", "--quick", "--hot-backlog", "2000", "--out", hotOut]);

      const report = JSON.parse(readFileSync(join(hotOut, "benchmarks.json"), "utf8"));
      // Only the hot path ran, and there was no earlier report to keep the other parts from.
      expect({ sizes: report.sizes, ingest: report.ingest, oldWay: report.oldWay }).toEqual({
        sizes: [],
        ingest: [],
        oldWay: null,
      });
      const hot = report.hotPath;
      expect(hot).toMatchObject({ quick: true, command: expect.stringContaining("--part hot-path --quick") });
      expect(hot.requestThread.scenarios.map((s: { name: string }) => s.name)).toEqual([
        "demo-off",
        "demo-on",
        "demo-on-no-consumer",
        "proxy-off",
        "proxy-on",
      ]);
      for (const s of hot.requestThread.scenarios) {
        expect(s.rps).toBeGreaterThan(0);
        expect(s.cpuMicrosPerRequest.serve).toBeGreaterThan(0);
        expect(s.cpuMicrosPerRequest["serve main thread"]).toBeGreaterThan(0);
        // Every request a recording scenario answered became a footprint on its topic.
        if (s.name.endsWith("-on") || s.name === "demo-on-no-consumer")
          expect(s.recorded).toBeGreaterThanOrEqual(s.answered);
      }
      expect(hot.requestThread.fixedRate.map((f: { name: string }) => f.name)).toEqual([
        "demo-off",
        "demo-on",
        "demo-on-no-consumer",
      ]);
      expect(hot.consumer).toMatchObject({ backlog: 2000, stored: { postgres: 2000, clickhouse: 2000 } });
      expect(hot.consumer.cpuMicrosPerRow.consume).toBeGreaterThan(0);
      for (const steps of [hot.ingestBatched, hot.ingestPerRequest]) {
        expect(steps.length).toBeGreaterThanOrEqual(1);
        expect(steps[0].cpuMicrosPerEvent.serve).toBeGreaterThan(0);
      }
      expect(hot.ingestBatched[0].eventsPerRequest).toBe(500);
      expect(hot.targets.map((t: { id: string }) => t.id)).toEqual([
        "request-cpu",
        "request-rps",
        "request-p99",
        "proxy-rps",
        "consumer-rows",
        "consumer-cpu",
        "ingest-batched",
        "ingest-per-request",
      ]);

      const md = readFileSync(join(hotOut, "BENCHMARKS.md"), "utf8");
      for (const heading of ["## The hot path", "### Targets", "### Request thread", "### Consumer", "### Ingest"]) {
        expect(md).toContain(heading);
      }
      expect(md).toMatch(
        /\| recording adds ≤ 5 µs of CPU per request on the request thread \| .+ \| (met|\*\*missed\*\*) \|/,
      );
    },
    { timeout: 300_000 },
  );
});
