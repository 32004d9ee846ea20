import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createMemoryLogger } from "../../src/log.ts";
import { authRoutes } from "./auth-routes.ts";
import type { AuthOptions } from "./options.ts";
import { requireLogin } from "./require-login.ts";

const TOKEN = "t0ken-t0ken-t0ken-t0ken";

function setup(overrides: Partial<AuthOptions> = {}) {
  let now = Date.UTC(2025, 4, 19, 4, 0, 0);
  const sleeps: number[] = [];
  const logger = createMemoryLogger();
  const options: AuthOptions = {
    pathPrefix: "/_footprint",
    credentials: { token: TOKEN, user: "admin", password: "correct horse" },
    sessionSecret: "s".repeat(32),
    sessionTtlMs: 60 * 60 * 1000,
    publicPaths: ["/_footprint/api/v1/footprints"],
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger,
    ...overrides,
  };
  const app = new Hono({ strict: false });
  app.use(requireLogin(options));
  app.route("/", authRoutes(options));
  app.get("/_footprint", (c) => c.text("dashboard"));
  app.get("/_footprint/api/v1/stats/total", (c) => c.json({ count: 1 }));
  app.post("/_footprint/api/v1/footprints", (c) => c.json({ accepted: 1 }));
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/api/v1/items", (c) => c.json({ items: [] }));
  return {
    app,
    sleeps,
    logger,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});
const cookieOf = (res: Response) => (res.headers.get("set-cookie") ?? "").split(";")[0] as string;

describe("requireLogin", () => {
  test("an API request without a session is 401 JSON; a page request goes to the login page", async () => {
    const { app } = setup();
    const api = await app.request("/_footprint/api/v1/stats/total?from=1h");
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({
      error: { code: "UNAUTHENTICATED", message: "log in first (session cookie or Bearer token)" },
    });
    const page = await app.request("/_footprint/?from=7d");
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/_footprint/login?next=%2F_footprint%2F%3Ffrom%3D7d");
  });

  test("health, the recorded site and the ingest endpoint need no login", async () => {
    const { app } = setup();
    expect((await app.request("/healthz")).status).toBe(200);
    expect((await app.request("/api/v1/items")).status).toBe(200);
    expect((await app.request("/_footprint/api/v1/footprints", { method: "POST" })).status).toBe(200);
    expect((await app.request("/_footprint/login")).status).toBe(200);
  });

  test("a path that only starts like the prefix is not ours and not guarded", async () => {
    const { app } = setup();
    app.get("/_footprintx", (c) => c.text("theirs"));
    expect((await app.request("/_footprintx")).status).toBe(200);
  });

  test("the Bearer token opens the API; a wrong one does not", async () => {
    const { app } = setup();
    const ok = await app.request("/_footprint/api/v1/stats/total", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const bad = await app.request("/_footprint/api/v1/stats/total", { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(bad.status).toBe(401);
  });

  test("without a configured token no Bearer value opens anything", async () => {
    const { app } = setup({ credentials: { user: "admin", password: "correct horse" } });
    const res = await app.request("/_footprint/api/v1/stats/total", { headers: { authorization: "Bearer " } });
    expect(res.status).toBe(401);
  });
});

describe("authRoutes", () => {
  test("logging in with the token (JSON) sets a session cookie that opens the API until it expires", async () => {
    const { app, advance } = setup();
    const res = await app.request("/_footprint/api/v1/session", json({ token: TOKEN }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, expiresAt: "2025-05-19T05:00:00.000Z" });
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^eft_session=[^;]+; Max-Age=3600; Path=\/_footprint; HttpOnly; SameSite=Lax$/);
    const cookie = cookieOf(res);
    expect((await app.request("/_footprint/api/v1/stats/total", { headers: { cookie } })).status).toBe(200);
    advance(60 * 60 * 1000 - 1000);
    expect((await app.request("/_footprint/api/v1/stats/total", { headers: { cookie } })).status).toBe(200);
    advance(1000);
    expect((await app.request("/_footprint/api/v1/stats/total", { headers: { cookie } })).status).toBe(401);
  });

  test("the cookie is Secure when the request came over https", async () => {
    const { app } = setup();
    const res = await app.request("https://eft.example/_footprint/api/v1/session", json({ token: TOKEN }));
    expect(res.headers.get("set-cookie")).toContain("; Secure");
    const proxied = await app.request("/_footprint/api/v1/session", {
      ...json({ token: TOKEN }),
      headers: { "content-type": "application/json", "x-forwarded-proto": "https" },
    });
    expect(proxied.headers.get("set-cookie")).toContain("; Secure");
  });

  test("a tampered, foreign or malformed cookie is refused", async () => {
    const { app } = setup();
    const cookie = cookieOf(await app.request("/_footprint/api/v1/session", json({ token: TOKEN })));
    const [name, value] = cookie.split("=") as [string, string];
    const [expires, nonce, sig] = value.split(".") as [string, string, string];
    const later = `${name}=${Number(expires) + 3600}.${nonce}.${sig}`;
    const other = setup({ sessionSecret: "o".repeat(32) });
    const foreign = cookieOf(await other.app.request("/_footprint/api/v1/session", json({ token: TOKEN })));
    for (const bad of [later, foreign, `${name}=garbage`, `${name}=`]) {
      const res = await app.request("/_footprint/api/v1/stats/total", { headers: { cookie: bad } });
      expect(res.status).toBe(401);
    }
  });

  test("user and password from the form log in and go to the page asked for", async () => {
    const { app } = setup();
    const res = await app.request(
      "/_footprint/api/v1/session",
      form({ user: "admin", password: "correct horse", next: "/_footprint/?from=7d" }),
    );
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/_footprint/?from=7d");
    const page = await app.request("/_footprint/", { headers: { cookie: cookieOf(res) } });
    expect(await page.text()).toBe("dashboard");
  });

  test.each([
    ["wrong password", { user: "admin", password: "correct horsE" }],
    ["wrong user", { user: "Admin", password: "correct horse" }],
    ["password alone", { password: "correct horse" }],
    ["wrong token", { token: `${TOKEN}!` }],
    ["empty", {}],
  ])("%s is refused after the failure delay, and logged", async (_, attempt) => {
    const { app, sleeps, logger } = setup();
    const res = await app.request("/_footprint/api/v1/session", json(attempt));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { code: "UNAUTHENTICATED", message: "Wrong token, or wrong user or password." },
    });
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(sleeps).toEqual([1000]);
    expect(logger.lines.map((l) => l.msg)).toEqual(["dashboard login failed"]);
  });

  test("a failed form login shows the form again with the error", async () => {
    const { app } = setup();
    const res = await app.request("/_footprint/api/v1/session", form({ user: "admin", password: "nope" }));
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('role="alert">Wrong token, or wrong user or password.');
    expect(html).toContain('name="password"');
  });

  test("a body that is neither JSON nor a form is a 400", async () => {
    const { app } = setup();
    const res = await app.request("/_footprint/api/v1/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("BAD_REQUEST");
  });

  test("after 10 failures in a minute the address gets 429 until the oldest failure ages out", async () => {
    const { app, advance } = setup();
    for (let i = 0; i < 10; i++) {
      expect((await app.request("/_footprint/api/v1/session", json({ token: "nope" }))).status).toBe(401);
      advance(1000);
    }
    const limited = await app.request("/_footprint/api/v1/session", json({ token: TOKEN }));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("50");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_ATTEMPTS");
    advance(50_000);
    expect((await app.request("/_footprint/api/v1/session", json({ token: TOKEN }))).status).toBe(200);
  });

  test("the login page offers the configured ways to log in and keeps next", async () => {
    const tokenOnly = setup({ credentials: { token: TOKEN } });
    const html = await (await tokenOnly.app.request("/_footprint/login?next=%2F_footprint%2F%3Ffrom%3D1h")).text();
    expect(html).toContain('name="token"');
    expect(html).not.toContain('name="password"');
    expect(html).toContain('action="/_footprint/api/v1/session"');
    expect(html).toContain('name="next" value="/_footprint/?from=1h"');
    const both = await (await setup().app.request("/_footprint/login")).text();
    expect(both).toContain('name="token"');
    expect(both).toContain('name="password"');
  });

  test.each(["https://evil.example/", "//evil.example/_footprint/", "/_footprint//evil.example", "/elsewhere"])(
    "next=%s is not followed (no open redirect)",
    async (next) => {
      const { app } = setup();
      const res = await app.request("/_footprint/api/v1/session", form({ token: TOKEN, next }));
      expect(res.headers.get("location")).toBe("/_footprint/");
      const page = await (await app.request(`/_footprint/login?next=${encodeURIComponent(next)}`)).text();
      expect(page).toContain('name="next" value="/_footprint/"');
    },
  );

  test("the start-up link with ?token= logs in and leaves the token out of the address bar", async () => {
    const { app } = setup({ credentials: { token: TOKEN } });
    const res = await app.request(`/_footprint/login?token=${TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/_footprint/");
    expect(res.headers.get("set-cookie")).toStartWith("eft_session=");
    const bad = await app.request("/_footprint/login?token=guess");
    expect(bad.status).toBe(401);
    expect(await bad.text()).toContain("token is not valid");
  });

  test("a logged-in visit to the login page goes on to the dashboard", async () => {
    const { app } = setup();
    const cookie = cookieOf(await app.request("/_footprint/api/v1/session", json({ token: TOKEN })));
    const res = await app.request("/_footprint/login", { headers: { cookie } });
    expect(res.status).toBe(303);
  });

  test("logging out clears the cookie", async () => {
    const { app } = setup();
    const res = await app.request("/_footprint/api/v1/session", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^eft_session=; Max-Age=0; Path=\/_footprint/);
  });
});
