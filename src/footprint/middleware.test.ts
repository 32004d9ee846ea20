import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { FootprintEvent } from "./event.ts";
import { footprint } from "./middleware.ts";
import { createEventQueue } from "./queue.ts";

function appWith(options: Partial<Parameters<typeof footprint>[0]> = {}) {
  const events: FootprintEvent[] = [];
  let now = 1_747_629_930_123_456; // 2025-05-19T13:45:30.123456+09:00
  const app = new Hono();
  app.use(
    footprint({
      record: (e) => events.push(e),
      clock: () => {
        const t = now;
        now += 2_500; // every clock read advances 2.5 ms
        return t;
      },
      newId: () => "0190b2f8-0000-7000-8000-000000000001",
      skipPaths: ["/healthz", "/assets/*"],
      ...options,
    }),
  );
  app.onError((_err, c) => c.json({ error: "internal" }, 500));
  app.get("/api/v1/items/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/api/v1/items", (c) => c.json({ ok: true }, 201));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/assets/app.js", (c) => c.text("js"));
  return { app, events };
}

describe("footprint middleware", () => {
  test("records the seed's fields plus id, status, duration and the matched route", async () => {
    const { app, events } = appWith();
    const res = await app.request("/api/v1/items/123?ref=home");
    expect(res.status).toBe(200);
    expect(events).toEqual([
      {
        method: "GET",
        link: "/api/v1/items/123",
        footprint_time: "2025-05-19T13:45:30.123456+09:00",
        event_id: "0190b2f8-0000-7000-8000-000000000001",
        route: "/api/v1/items/:id",
        status: 200,
        duration_ms: 2.5,
      },
    ]);
  });

  test("records the real status of created, failing and unmatched requests", async () => {
    const { app, events } = appWith();
    await app.request("/api/v1/items", { method: "POST" });
    const boom = await app.request("/boom");
    await app.request("/nowhere/at/all");
    expect(boom.status).toBe(500);
    expect(events.map((e) => [e.method, e.link, e.status, e.route])).toEqual([
      ["POST", "/api/v1/items", 201, "/api/v1/items"],
      ["GET", "/boom", 500, "/boom"],
      ["GET", "/nowhere/at/all", 404, undefined],
    ]);
  });

  test("writes footprint_time in the configured zone", async () => {
    const { app, events } = appWith({ timeZone: "UTC" });
    await app.request("/api/v1/items/1");
    expect(events[0]?.footprint_time).toBe("2025-05-19T04:45:30.123456+00:00");
  });

  test("skips exact paths and prefixes", async () => {
    const { app, events } = appWith();
    await app.request("/healthz");
    await app.request("/assets/app.js");
    await app.request("/api/v1/items/7");
    expect(events.map((e) => e.link)).toEqual(["/api/v1/items/7"]);
  });

  test("a full queue never delays or fails the request", async () => {
    const queue = createEventQueue<FootprintEvent>(2);
    const { app } = appWith({ record: (e) => queue.offer(e) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.request(`/api/v1/items/${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(queue.size).toBe(2);
    expect(queue.takeDropped()).toBe(3);
  });

  test("a recorder that throws is reported and the response is untouched", async () => {
    const errors: unknown[] = [];
    const { app } = appWith({
      record: () => {
        throw new Error("broken recorder");
      },
      onError: (err) => errors.push(err),
    });
    const res = await app.request("/api/v1/items/9");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "9" });
    expect(errors).toHaveLength(1);
  });

  test("default ids are UUIDv7 and default time is now", async () => {
    const events: FootprintEvent[] = [];
    const app = new Hono().use(footprint({ record: (e) => events.push(e) })).get("/", (c) => c.text("hi"));
    const before = Date.now();
    await app.request("/");
    const e = events[0] as FootprintEvent;
    expect(e.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.footprint_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+09:00$/);
    expect(Math.abs(Date.parse(e.footprint_time) - before)).toBeLessThan(60_000);
  });
});
