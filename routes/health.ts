import { Hono } from "hono";
import { withTimeout } from "../src/timeout.ts";

/** A dependency check: resolves when the service answers, rejects with the reason otherwise. */
export type ReadinessCheck = () => Promise<void>;

/**
 * `/healthz` says the process is alive (for restarts); `/readyz` says every dependency answers
 * (for load balancers), naming each one that does not.
 */
export function healthRoutes(checks: Record<string, ReadinessCheck>, timeoutMs = 2000): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      const entries = await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          const started = performance.now();
          try {
            await withTimeout(check(), timeoutMs);
            return [name, { ok: true, ms: Math.round(performance.now() - started) }] as const;
          } catch (err) {
            return [name, { ok: false, error: (err as Error).message ?? String(err) }] as const;
          }
        }),
      );
      const ready = entries.every(([, r]) => r.ok);
      return c.json({ status: ready ? "ready" : "not ready", checks: Object.fromEntries(entries) }, ready ? 200 : 503);
    });
}
