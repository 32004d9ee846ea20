import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary } from "../test/support/binary.ts";
import { stackEnv } from "../test/support/stack.ts";

// A smoke test of the report's shape, not of speed: timings are recorded, never asserted.
describe("eft-footprint bench", () => {
  const out = mkdtempSync(join(tmpdir(), "eft-bench-test-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test(
    "--sizes 10000 --reps 2 writes BENCHMARKS.md, benchmarks.json and benchmarks.svg of every part",
    async () => {
      const binary = await ensureBinary();
      const stack = await stackEnv();
      const args = ["bench", "--sizes", "10000", "--reps", "2", "--ingest-rates", "100", "--step-seconds", "2"];
      const proc = Bun.spawn([binary, ...args, "--backlog", "2000", "--row-by-row-sample", "20", "--out", out], {
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

      const report = JSON.parse(readFileSync(join(out, "benchmarks.json"), "utf8"));
      expect(report.options).toMatchObject({ sizes: [10000], reps: 2, seed: 42 });
      expect(report.command).toContain("bench --sizes 10000 --reps 2");
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
      const svg = readFileSync(join(out, "benchmarks.svg"), "utf8");
      expect(svg).toStartWith("<svg");
      expect(svg.match(/<path /g)).toHaveLength(24); // a line per query, store and source
    },
    { timeout: 120_000 },
  );
});
