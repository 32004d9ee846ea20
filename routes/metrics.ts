import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import type { Registry } from "prom-client";
import { matchedRoute } from "../src/footprint/middleware.ts";
import type { Metrics } from "../src/metrics.ts";

/** `GET /metrics`: every metric of the process in Prometheus text format. */
export function metricsRoutes(registry: Registry): Hono {
  return new Hono().get("/metrics", async (c) => {
    c.header("Content-Type", registry.contentType);
    c.header("Cache-Control", "no-store");
    return c.body(await registry.metrics());
  });
}

/**
 * Counts and times every request by method, route pattern and status. The route pattern (never
 * the raw path) keeps the label set small; a request no route matched is `unmatched`.
 */
export function httpMetrics(metrics: Pick<Metrics, "httpRequests" | "httpDuration">): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = matchedRoute(c) ?? "unmatched";
      const method = c.req.method;
      metrics.httpRequests.inc({ method, route, status: String(c.res.status) });
      metrics.httpDuration.observe({ method, route }, (performance.now() - started) / 1000);
    }
  };
}
