import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { relayLogLine, showWorkerMetrics } from "./consumer-thread.ts";

describe("serve's consumer worker, seen from the main thread", () => {
  test("/metrics shows the worker's consumer metrics once each, next to this thread's own", async () => {
    const main = createMetrics();
    const worker = createMetrics();
    const shown = showWorkerMetrics(main);
    main.httpRequests.inc({ method: "GET", route: "/a", status: "200" });
    expect(await main.registry.metrics()).not.toContain('eft_sink_rows_total{sink="postgres"}');

    worker.sinkRows.inc({ sink: "postgres" }, 42);
    worker.consumerLag.set({ sink: "clickhouse", partition: "0" }, 7);
    worker.sinkInsertSeconds.observe({ sink: "postgres" }, 0.2);
    shown.update(await worker.registry.getMetricsAsJSON());

    const text = await main.registry.metrics();
    expect(text).toContain('eft_sink_rows_total{sink="postgres"} 42');
    expect(text).toContain('eft_consumer_lag{sink="clickhouse",partition="0"} 7');
    expect(text).toContain('eft_sink_insert_seconds_count{sink="postgres"} 1');
    expect(text).toContain('eft_http_requests_total{method="GET",route="/a",status="200"} 1');
    const types = text.split("\n").filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
  });

  test("a log line of the worker is written by this thread's logger, with its fields", () => {
    const logger = createMemoryLogger();
    relayLogLine(
      logger,
      JSON.stringify({ time: "t", level: "warn", msg: "sink rejected batch", sink: "postgres", attempt: 2 }),
    );
    expect(logger.lines).toMatchObject([{ level: "warn", msg: "sink rejected batch", sink: "postgres", attempt: 2 }]);
  });
});
