import { describe, expect, test } from "bun:test";
import { healthRoutes } from "./health.ts";

describe("health routes", () => {
  test("/healthz answers without touching dependencies", async () => {
    let called = false;
    const app = healthRoutes({
      postgres: async () => {
        called = true;
      },
    });
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect(called).toBe(false);
  });

  test("/readyz is 503 and names the dependency that does not answer", async () => {
    const app = healthRoutes(
      {
        postgres: async () => {},
        clickhouse: async () => {
          throw new Error("connection refused");
        },
        kafka: () => new Promise(() => {}),
      },
      50,
    );
    const res = await app.request("/readyz");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.status).toBe("not ready");
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.clickhouse).toEqual({ ok: false, error: "connection refused" });
    expect(body.checks.kafka).toEqual({ ok: false, error: "no answer within 50 ms" });
  });

  test("/readyz is 200 when everything answers", async () => {
    const res = await healthRoutes({ postgres: async () => {} }).request("/readyz");
    expect(res.status).toBe(200);
  });
});
