import { describe, expect, test } from "bun:test";
import type { FootprintEvent } from "../src/footprint/message.ts";
import { createMemoryLogger } from "../src/log.ts";
import { createFakeStore } from "../test/support/fake-store.ts";
import { createApp } from "./create-app.ts";

const TOKEN = "a-token-of-16-chars-or-more";
const withToken = { headers: { authorization: `Bearer ${TOKEN}` } };

/**
 * createApp over two fake stores with a token login, and the events it records; `over` replaces
 * any dependency.
 */
function app(over: Partial<Parameters<typeof createApp>[0]> = {}) {
  const events: FootprintEvent[] = [];
  const a = createApp({
    record: (e) => events.push(e),
    timeZone: "Asia/Seoul",
    skipPaths: ["/healthz"],
    stores: [createFakeStore("postgres"), createFakeStore("clickhouse")],
    checks: {},
    logger: createMemoryLogger(),
    pathPrefix: "/_footprint",
    auth: { credentials: { token: TOKEN }, sessionSecret: "s".repeat(32) },
    ...over,
  });
  return { a, events };
}

describe("createApp", () => {
  test("our own pages live under the prefix and are not recorded", async () => {
    const { a, events } = app();
    expect((await a.request("/_footprint/", withToken)).headers.get("content-type")).toContain("text/html");
    expect(await (await a.request("/_footprint", withToken)).text()).toContain('data-prefix="/_footprint"');
    expect((await a.request("/_footprint/assets/main.js", withToken)).status).toBe(200);
    expect(events).toEqual([]);
  });

  test("our pages and API need a login; health and the ingest endpoint do not", async () => {
    const { a } = app();
    expect((await a.request("/_footprint/api/v1/stats/total")).status).toBe(401);
    expect((await a.request("/_footprint/assets/main.js")).status).toBe(302);
    expect((await a.request("/_footprint/")).headers.get("location")).toBe("/_footprint/login?next=%2F_footprint%2F");
    expect((await a.request("/_footprint/login")).status).toBe(200);
    expect((await a.request("/healthz")).status).toBe(200);
    expect((await a.request("/_footprint/api/v1/footprints", { method: "POST" })).status).not.toBe(401);
    const put = await a.request("/_footprint/api/v1/footprints", { method: "PUT" });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "POST"]);
  });

  test("where the root is ours, /favicon.ico is our icon, not a 404 on every page load", async () => {
    const res = await app().a.request("/favicon.ico");
    expect([res.status, res.headers.get("content-type")]).toEqual([200, "image/svg+xml"]);
    expect(await res.text()).toStartWith("<svg");
  });

  test("without the demo site the root leads to the dashboard; unknown paths are JSON 404s and recorded", async () => {
    const { a, events } = app();
    expect((await a.request("/")).headers.get("location")).toBe("/_footprint/");
    const res = await a.request("/missing");
    expect(res.status).toBe(404);
    // Read before looking at the events: a body without Content-Length is recorded once sent.
    expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "no route for GET /missing" } });
    expect(events.map((e) => [e.link, e.status])).toEqual([
      ["/", 302],
      ["/missing", 404],
    ]);
  });

  test("the demo site's requests are recorded with their routes", async () => {
    const { a, events } = app({ demo: true });
    await (await a.request("/api/v1/items/ledx")).text();
    expect(events.map((e) => [e.link, e.route, e.status])).toEqual([["/api/v1/items/ledx", "/api/v1/items/:id", 200]]);
  });
});

describe("createApp in reverse-proxy mode", () => {
  test("the site gets everything but our prefix and health; its paths are recorded with inferred routes", async () => {
    const upstream = Bun.serve({ port: 0, fetch: (req) => new Response(`site:${new URL(req.url).pathname}`) });
    try {
      const { a, events } = app({
        skipPaths: ["/healthz", "/readyz"],
        capture: { upstream: `http://127.0.0.1:${upstream.port}` },
      });
      expect(await (await a.request("/")).text()).toBe("site:/");
      expect(await (await a.request("/orders/42")).text()).toBe("site:/orders/42");
      expect((await a.request("/healthz")).status).toBe(200);
      expect(await (await a.request("/healthz")).json()).toEqual({ status: "ok" });
      const ours = await a.request("/_footprint/no/such/page", withToken);
      expect(ours.status).toBe(404);
      expect(await ours.text()).not.toContain("site:");
      expect(events.map((e) => [e.link, e.route, e.status])).toEqual([
        ["/", "/", 200],
        ["/orders/42", "/orders/:id", 200],
      ]);
    } finally {
      upstream.stop(true);
    }
  });

  test("RECORD=false proxies without recording anything", async () => {
    const upstream = Bun.serve({ port: 0, fetch: () => new Response("site") });
    try {
      const { a, events } = app({ capture: { upstream: `http://127.0.0.1:${upstream.port}`, record: false } });
      expect(await (await a.request("/x")).text()).toBe("site");
      expect(events).toEqual([]);
    } finally {
      upstream.stop(true);
    }
  });
});

test("createApp mounts the stats API under the prefix, behind login", async () => {
  const { a } = app({ stores: [] });
  const anonymous = await a.request("/_footprint/api/v1/stats/total");
  expect(anonymous.status).toBe(401);
  const bad = await a.request("/_footprint/api/v1/stats/total?limit=0", withToken);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { details: { path: string }[] } }).error.details[0]?.path).toBe("limit");
});

test("createApp serves the OpenAPI document and its docs page behind the login, under the prefix", async () => {
  const { a } = app({ timeZone: "UTC", stores: [] });
  expect((await a.request("/_footprint/api/openapi.json")).status).toBe(401);
  const json = await a.request("/_footprint/api/openapi.json", withToken);
  expect(json.status).toBe(200);
  expect(((await json.json()) as { openapi: string }).openapi).toBe("3.1.0");
  const page = await a.request("/_footprint/api/docs", withToken);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  expect(html).toContain("<code>/_footprint/api/v1/stats/top</code>");
  expect(html).toContain("<code>exclude_bots</code>");
  expect(html).toContain('href="/_footprint/api/openapi.json"');
});
