import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../src/log.ts";
import { createFakeStore } from "../test/support/fake-store.ts";
import { createApp } from "./create-app.ts";

/**
 * The security headers of our pages and API as createApp wires them (routes/security-headers.ts),
 * and the pages' freedom from inline script and style, which the CSP relies on.
 */
const TOKEN = "a-token-of-16-chars-or-more";
const withToken = { headers: { authorization: `Bearer ${TOKEN}` } };
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function app(upstream?: string) {
  return createApp({
    record: () => {},
    timeZone: "Asia/Seoul",
    skipPaths: [],
    stores: [createFakeStore("postgres"), createFakeStore("clickhouse")],
    checks: {},
    logger: createMemoryLogger(),
    pathPrefix: "/_footprint",
    auth: { credentials: { token: TOKEN }, sessionSecret: "s".repeat(32) },
    capture: { upstream },
  });
}

function expectSecurityHeaders(res: Response) {
  expect({
    csp: res.headers.get("content-security-policy"),
    frame: res.headers.get("x-frame-options"),
    referrer: res.headers.get("referrer-policy"),
    nosniff: res.headers.get("x-content-type-options"),
    hsts: res.headers.get("strict-transport-security"),
  }).toEqual({ csp: CSP, frame: "DENY", referrer: "no-referrer", nosniff: "nosniff", hsts: null });
}

/** Inline script or style of any kind: a <script> without src, <style>, a style or on* attribute. */
const INLINE = /<script(?![^>]*\ssrc=)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=|javascript:/i;

describe("security headers", () => {
  test.each([
    ["the dashboard", "/_footprint/", withToken, 200],
    ["the dashboard without its slash", "/_footprint", withToken, 200],
    ["the login page", "/_footprint/login", {}, 200],
    ["the login page's stylesheet", "/_footprint/login.css", {}, 200],
    ["the API docs", "/_footprint/api/docs", withToken, 200],
    ["an API answer (JSON)", "/_footprint/api/openapi.json", withToken, 200],
    ["a stats request without a login (401 JSON)", "/_footprint/api/v1/stats/total", {}, 401],
    ["a page request without a login (redirect)", "/_footprint/", {}, 302],
    ["an unknown path under the prefix (404 JSON)", "/_footprint/api/v1/nothing", withToken, 404],
  ])("are on %s", async (_, path, init, status) => {
    const res = await app().request(path, init);
    expect(res.status).toBe(status);
    expectSecurityHeaders(res);
  });

  test("the session endpoint's answers carry them, the login's JSON and its cookie (HttpOnly, SameSite)", async () => {
    const res = await app().request("/_footprint/api/v1/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(res.status).toBe(200);
    expectSecurityHeaders(res);
    expect(res.headers.get("set-cookie")).toMatch(/; HttpOnly; SameSite=Lax$/);
  });

  test("our HTML pages have no inline script or style, so the CSP needs no 'unsafe-inline'", async () => {
    const a = app();
    for (const [path, init] of [
      ["/_footprint/", withToken],
      ["/_footprint/login", {}],
      ["/_footprint/login?next=%2F_footprint%2F&token=wrong", {}],
      ["/_footprint/api/docs", withToken],
    ] as const) {
      const html = await (await a.request(path, init)).text();
      expect(html).toContain("<html");
      expect(html.match(INLINE)?.[0]).toBeUndefined();
    }
    // The check itself catches each kind.
    for (const bad of ["<script>x()</script>", "<style>a{}</style>", '<p style="x">', '<a onclick="x">']) {
      expect(INLINE.test(bad)).toBe(true);
    }
    expect(INLINE.test('<script src="/_footprint/assets/main.js"></script>')).toBe(false);
  });

  test("the stylesheets the pages link are served as CSS", async () => {
    const a = app();
    const login = await a.request("/_footprint/login.css");
    expect([login.status, login.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
    expect(await login.text()).toContain("--accent");
    const docs = await a.request("/_footprint/api/docs.css", withToken);
    expect([docs.status, docs.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
    // The docs' stylesheet is behind the login like the page itself.
    expect((await a.request("/_footprint/api/docs.css")).status).toBe(401);
  });

  test("the proxied site's answers, health and the root are left as they are", async () => {
    const upstream = Bun.serve({ port: 0, fetch: () => new Response("<p>site</p>", { headers: { "x-site": "1" } }) });
    try {
      const proxied = await app(`http://127.0.0.1:${upstream.port}`).request("/shop/items");
      expect(await proxied.text()).toBe("<p>site</p>");
      expect(proxied.headers.get("content-security-policy")).toBeNull();
      expect(proxied.headers.get("x-frame-options")).toBeNull();
      expect((await app().request("/healthz")).headers.get("content-security-policy")).toBeNull();
    } finally {
      await upstream.stop(true);
    }
  });
});
