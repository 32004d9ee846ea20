import { expect, test } from "bun:test";
import type { QueryTiming } from "./queries.ts";
import { type BenchReport, renderMarkdown, renderSvg } from "./report.ts";

const timing = (
  query: QueryTiming["query"],
  store: QueryTiming["store"],
  source: QueryTiming["source"],
  median: number,
) => ({ query, store, source, median, p95: median * 2, runs: 3 }) satisfies QueryTiming;

function report(chTopMs: number): BenchReport {
  const queries = (["top", "total", "heatmap"] as const).flatMap((q) => [
    timing(q, "postgres", "raw", 400),
    timing(q, "postgres", "rollup", 40),
    timing(q, "clickhouse", "raw", q === "top" ? chTopMs : 20),
    timing(q, "clickhouse", "rollup", 10),
  ]);
  return {
    command: "eft-footprint bench --sizes 10000000",
    startedAt: "2026-11-25T00:00:00.000Z",
    seconds: 300,
    machine: { cpus: "cpu", cores: 2, memoryGb: 8, os: "Linux", bun: "1.4.4", loadAverage: [1, 1, 1] },
    versions: { postgres: "17.10", clickhouse: "26.7" },
    options: { seed: 42, sizes: [10_000_000], reps: 3, days: 30, timeZone: "Asia/Seoul" },
    sizes: [
      {
        rows: 10_000_000,
        load: {
          postgres: { seconds: 100, rowsPerSecond: 100_000 },
          clickhouse: { seconds: 50, rowsPerSecond: 200_000 },
        },
        queries,
      },
    ],
    ingest: [],
    oldWay: null,
  };
}

test("the report checks the targets against its own figures", () => {
  expect(renderMarkdown(report(80))).toContain(
    "| ClickHouse raw top-10/total/heatmap at 10M < 100 ms | 80.0 ms / 20.0 ms / 20.0 ms | met |",
  );
  expect(renderMarkdown(report(150))).toContain("| 150 ms / 20.0 ms / 20.0 ms | **missed** |");
  expect(renderMarkdown(report(80))).toContain(
    "| PostgreSQL rollups < 50 ms at 10,000,000 | slowest: top 40.0 ms | met |",
  );
  expect(renderMarkdown(report(80))).toContain(
    "| 10,000,000 | top | 400 / 800 | 40.0 / 80.0 | 80.0 / 160 | 10.0 / 20.0 | 5.0× | 4.0× |",
  );
});

test("the chart has one line per store, source and query", () => {
  const svg = renderSvg(report(80));
  expect(svg.match(/<path /g)).toHaveLength(12);
  expect(svg).toContain("<title>clickhouse raw top</title>");
});

test("the report names the ClickHouse and the PostgreSQL it measured, with the settings that matter", () => {
  const servers = {
    postgres: {
      host: "db.internal:5432",
      version: "17.10",
      settings: { shared_buffers: "128MB", work_mem: "4MB", max_parallel_workers_per_gather: "2", jit: "on" },
    },
    clickhouse: { host: "127.0.0.1:8123", version: "26.7.2.1", kind: "chdb" as const, maxThreads: "2" },
  };
  const md = renderMarkdown({ ...report(80), servers });
  expect(md).toContain(
    "- ClickHouse 26.7.2.1 on the bench's machine: the chdb engine (clickhouse-local, embedded) behind the development HTTP endpoint",
  );
  expect(md).toContain("which runs one query at a time: not a ClickHouse server; max_threads 2.");
  expect(md).toContain(
    "- PostgreSQL 17.10 at db.internal:5432: shared_buffers 128MB, work_mem 4MB, max_parallel_workers_per_gather 2, jit on (server settings;",
  );
  const server = renderMarkdown({
    ...report(80),
    servers: { ...servers, clickhouse: { ...servers.clickhouse, kind: "server" } },
  });
  expect(server).toContain(
    "- ClickHouse 26.7.2.1 on the bench's machine: a ClickHouse server over HTTP; max_threads 2.",
  );
  // A report made before the servers were recorded keeps its one line.
  expect(renderMarkdown(report(80))).toContain("- PostgreSQL 17.10; ClickHouse 26.7.");
});
