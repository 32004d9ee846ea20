import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createMetrics } from "../src/metrics.ts";
import { promtoolProblems } from "../test/support/promtool.ts";
import { httpMetrics, metricsRoutes } from "./metrics.ts";

describe("/metrics against Prometheus's own lint", () => {
  test("every metric of a serving process, each with a sample, passes `promtool check metrics`", async () => {
    const metrics = createMetrics({ processMetrics: true });
    const app = new Hono();
    app.use(httpMetrics(metrics));
    app.route("/", metricsRoutes(metrics.registry));
    app.get("/items/:id", (c) => c.text("ok"));
    await app.request("/items/1");
    // A sample in every labelled metric, so that its series are linted too, not only its header.
    metrics.eventsDropped.inc({ reason: "spool_full" });
    metrics.consumerLag.set({ sink: "postgres", partition: "0" }, 3);
    metrics.consumerBuffered.set({ sink: "postgres" }, 1);
    metrics.sinkBatchRows.observe({ sink: "postgres" }, 10);
    metrics.sinkInsertSeconds.observe({ sink: "postgres" }, 0.01);
    metrics.sinkRows.inc({ sink: "postgres" }, 10);
    metrics.sinkErrors.inc({ sink: "postgres" });
    metrics.deadLetters.inc({ code: "INVALID_JSON" });

    const text = await (await app.request("/metrics")).text();
    expect(text).toContain("# TYPE process_cpu_seconds_total counter");
    expect(text).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
    expect(text).not.toMatch(/^# TYPE eft_(process|nodejs)_/m);
    expect(promtoolProblems(text)).toEqual([]);
  });

  test("the lint is live: a gauge named like a counter is a problem", async () => {
    const text = "# HELP x_active_total Active things.\n# TYPE x_active_total gauge\nx_active_total 1\n";
    expect(promtoolProblems(text)).toEqual([
      expect.stringContaining('non-counter metrics should not have "_total" suffix'),
    ]);
  });
});
