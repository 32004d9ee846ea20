import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createMetrics } from "../src/metrics.ts";
import { httpMetrics, metricsRoutes } from "./metrics.ts";

describe("/metrics", () => {
  test("counts requests by route pattern and status, and serves them in Prometheus format", async () => {
    const metrics = createMetrics();
    const app = new Hono();
    app.use(httpMetrics(metrics));
    app.route("/", metricsRoutes(metrics.registry));
    app.get("/items/:id", (c) => c.text("ok"));
    await app.request("/items/1");
    await app.request("/items/2");
    await app.request("/nowhere");
    metrics.eventsProduced.inc(3);
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('eft_http_requests_total{method="GET",route="/items/:id",status="200"} 2');
    expect(text).toContain('eft_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toContain('eft_http_request_duration_seconds_count{method="GET",route="/items/:id"} 2');
    expect(text).toContain("eft_events_produced_total 3");
    for (const name of [
      "eft_events_queued",
      "eft_events_spooled_total",
      "eft_spool_bytes",
      "eft_events_dropped_total",
      "eft_consumer_lag",
      "eft_sink_batch_rows",
      "eft_sink_insert_seconds",
      "eft_dead_letters_total",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });
});
