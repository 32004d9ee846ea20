import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { AppError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { authRoutes } from "./auth-routes.ts";
import type { AuthOptions } from "./options.ts";
import { requireLogin } from "./require-login.ts";
import { createMemorySessionStore } from "./session-store.ts";

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

  test("the cookie is Secure when the request came over https, or a trusted proxy says it did", async () => {
    const viaProxy = (app: ReturnType<typeof setup>["app"], proto: string) =>
      app.request("/_footprint/api/v1/session", {
        ...json({ token: TOKEN }),
        headers: { "content-type": "application/json", "x-forwarded-proto": proto },
      });
    const { app } = setup();
    const res = await app.request("https://eft.example/_footprint/api/v1/session", json({ token: TOKEN }));
    expect(res.headers.get("set-cookie")).toContain("; Secure");
    // Without TRUST_PROXY the header is anyone's to send: not believed.
    expect((await viaProxy(app, "https")).headers.get("set-cookie")).not.toContain("Secure");
    const trusting = setup({ trustProxyHops: 1 }).app;
    expect((await viaProxy(trusting, "https")).headers.get("set-cookie")).toContain("; Secure");
    expect((await viaProxy(trusting, "http")).headers.get("set-cookie")).not.toContain("Secure");
    // Two trusted hops: the browser spoke to the outer one, whose value comes first of the two.
    const twoHops = setup({ trustProxyHops: 2 }).app;
    expect((await viaProxy(twoHops, "https, http")).headers.get("set-cookie")).toContain("; Secure");
    expect((await viaProxy(twoHops, "https, http, http")).headers.get("set-cookie")).not.toContain("Secure");
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

  test("logging out without a session clears the cookie", async () => {
    const { app } = setup();
    const res = await app.request("/_footprint/api/v1/session", { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^eft_session=; Max-Age=0; Path=\/_footprint/);
  });
});

describe("session revocation", () => {
  const login = async (app: ReturnType<typeof setup>["app"]) =>
    cookieOf(await app.request("/_footprint/api/v1/session", json({ token: TOKEN })));
  const stats = (app: ReturnType<typeof setup>["app"], cookie: string) =>
    app.request("/_footprint/api/v1/stats/total", { headers: { cookie } });

  test("after logging out, the same cookie sent again is refused: 401 for the API, the login page for a page", async () => {
    const { app } = setup();
    const cookie = await login(app);
    const other = await login(app);
    expect((await stats(app, cookie)).status).toBe(200);
    expect((await app.request("/_footprint/api/v1/session", { method: "DELETE", headers: { cookie } })).status).toBe(
      204,
    );
    const api = await stats(app, cookie);
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("UNAUTHENTICATED");
    const page = await app.request("/_footprint/", { headers: { cookie } });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toStartWith("/_footprint/login?next=");
    expect((await app.request("/_footprint/login", { headers: { cookie } })).status).toBe(200);
    // Only that session ended.
    expect((await stats(app, other)).status).toBe(200);
  });

  test("a session ended in one process is refused by another that shares the store", async () => {
    const sessions = createMemorySessionStore();
    const a = setup({ sessions }).app;
    const b = setup({ sessions }).app;
    const cookie = await login(a);
    expect((await stats(b, cookie)).status).toBe(200);
    await b.request("/_footprint/api/v1/session", { method: "DELETE", headers: { cookie } });
    expect((await stats(a, cookie)).status).toBe(401);
  });

  test("a rotated SESSION_SECRET refuses every cookie signed with the old one", async () => {
    const sessions = createMemorySessionStore();
    const before = setup({ sessions }).app;
    const cookie = await login(before);
    const after = setup({ sessions, sessionSecret: "r".repeat(32) }).app;
    expect((await stats(after, cookie)).status).toBe(401);
    expect((await stats(after, await login(after))).status).toBe(200);
  });

  test("DELETE /api/v1/sessions ends every session; it needs a login", async () => {
    const { app, logger } = setup();
    const first = await login(app);
    const second = await login(app);
    expect((await app.request("/_footprint/api/v1/sessions", { method: "DELETE" })).status).toBe(401);
    const res = await app.request("/_footprint/api/v1/sessions", {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ended: 2 });
    expect((await stats(app, first)).status).toBe(401);
    expect((await stats(app, second)).status).toBe(401);
    expect(logger.lines.map((l) => l.msg)).toContain("every dashboard session ended");
    // The Bearer token is no session: it still works, and logging in again does too.
    expect((await stats(app, await login(app))).status).toBe(200);
  });

  test("a session store that does not answer: 503 SESSION_STORE_UNAVAILABLE, never a way in", async () => {
    const sessions = createMemorySessionStore();
    const { app } = setup({ sessions });
    const cookie = await login(app);
    const down = async () => {
      throw new AppError("SESSION_STORE_UNAVAILABLE", "PostgreSQL did not answer");
    };
    Object.assign(sessions, { has: down, add: down, remove: down, removeAll: down });
    const api = await stats(app, cookie);
    expect(api.status).toBe(503);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("SESSION_STORE_UNAVAILABLE");
    expect((await app.request("/_footprint/", { headers: { cookie } })).status).toBe(503);
    // The token still opens the API; the login page still shows; logging in says what is wrong.
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await app.request("/_footprint/api/v1/stats/total", { headers: bearer })).status).toBe(200);
    expect((await app.request("/_footprint/login", { headers: { cookie } })).status).toBe(200);
    const jsonLogin = await app.request("/_footprint/api/v1/session", json({ token: TOKEN }));
    expect(jsonLogin.status).toBe(503);
    expect(jsonLogin.headers.get("set-cookie")).toBeNull();
    const formLogin = await app.request("/_footprint/api/v1/session", form({ token: TOKEN }));
    expect(formLogin.status).toBe(503);
    expect(await formLogin.text()).toContain("session store does not answer");
    // Logging out still clears this browser's cookie, and says the session may live on.
    const logout = await app.request("/_footprint/api/v1/session", { method: "DELETE", headers: { cookie } });
    expect(logout.status).toBe(503);
    expect(logout.headers.get("set-cookie")).toMatch(/^eft_session=; Max-Age=0/);
  });
});

describe("failed-login limit per account, across addresses", () => {
  const from = (address: string, body: Record<string, string>) => {
    const req = json(body);
    return { ...req, headers: { ...req.headers, "x-client": address } };
  };
  const setupPerAddress = () => setup({ clientAddress: (c) => c.req.header("x-client") ?? "none" });

  test("20 wrong passwords from 20 addresses close password logins for 10 minutes, from every address", async () => {
    const { app, advance } = setupPerAddress();
    for (let i = 0; i < 20; i++) {
      // Right and wrong user names count alike: a 429 never tells which name is the real one.
      const user = i % 2 === 0 ? "admin" : `guess-${i}`;
      const res = await app.request("/_footprint/api/v1/session", from(`10.0.0.${i}`, { user, password: "nope" }));
      expect(res.status).toBe(401);
      advance(1000);
    }
    const right = { user: "admin", password: "correct horse" };
    const limited = await app.request("/_footprint/api/v1/session", from("10.0.1.1", right));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_ATTEMPTS");
    // The oldest failure (20 s ago) ages out of the 10-minute window in 580 s.
    expect(limited.headers.get("retry-after")).toBe("580");
    // A user name that is not the real one is answered the same.
    expect((await app.request("/_footprint/api/v1/session", from("10.0.1.2", { ...right, user: "x" }))).status).toBe(
      429,
    );
    // The token is another account: still open, from anywhere.
    expect((await app.request("/_footprint/api/v1/session", from("10.0.1.3", { token: TOKEN }))).status).toBe(200);
    advance(580_000);
    expect((await app.request("/_footprint/api/v1/session", from("10.0.1.4", right))).status).toBe(200);
  });

  test("wrong tokens count per address only: the token, which API clients use, cannot be locked out", async () => {
    const { app } = setupPerAddress();
    for (let i = 0; i < 30; i++) {
      expect(
        (await app.request("/_footprint/api/v1/session", from(`10.1.0.${i}`, { token: `guess-${i}` }))).status,
      ).toBe(401);
    }
    expect((await app.request("/_footprint/api/v1/session", from("10.1.1.1", { token: TOKEN }))).status).toBe(200);
    const link = await app.request(`/_footprint/login?token=${TOKEN}`, { headers: { "x-client": "10.1.1.2" } });
    expect(link.status).toBe(303);
  });

  test("the per-address limit still holds below the account limit", async () => {
    const { app } = setupPerAddress();
    for (let i = 0; i < 10; i++) {
      await app.request("/_footprint/api/v1/session", from("10.2.0.1", { user: "admin", password: "nope" }));
    }
    const right = { user: "admin", password: "correct horse" };
    expect((await app.request("/_footprint/api/v1/session", from("10.2.0.1", right))).status).toBe(429);
    expect((await app.request("/_footprint/api/v1/session", from("10.2.0.2", right))).status).toBe(200);
  });
});

describe("Bearer token failures", () => {
  const bearer = (token: string, address = "10.3.0.1") => ({
    headers: { authorization: `Bearer ${token}`, "x-client": address },
  });
  const setupPerAddress = () => setup({ clientAddress: (c) => c.req.header("x-client") ?? "none" });

  test("a wrong Bearer token is a failed login: delayed, logged, 401 saying the token is not valid", async () => {
    const { app, sleeps, logger } = setupPerAddress();
    const res = await app.request("/_footprint/api/v1/stats/total", bearer("wrong-token"));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: "UNAUTHENTICATED", message: "the Bearer token is not valid" } });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="eft-footprint", error="invalid_token"');
    expect(sleeps).toEqual([1000]);
    expect(logger.lines.map((l) => l.msg)).toEqual(["dashboard login failed"]);
  });

  test("10 wrong Bearer tokens from an address close it, with the login form, until they age out", async () => {
    const { app, advance } = setupPerAddress();
    for (let i = 0; i < 10; i++) {
      expect((await app.request("/_footprint/api/v1/stats/total", bearer(`guess-${i}`))).status).toBe(401);
    }
    const limited = await app.request("/_footprint/api/v1/stats/total", bearer(TOKEN));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_ATTEMPTS");
    const form = await app.request("/_footprint/api/v1/session", {
      ...json({ token: TOKEN }),
      headers: { "content-type": "application/json", "x-client": "10.3.0.1" },
    });
    expect(form.status).toBe(429);
    // Another address is not affected; this one is open again once the failures are a minute old.
    expect((await app.request("/_footprint/api/v1/stats/total", bearer(TOKEN, "10.3.0.2"))).status).toBe(200);
    advance(60_000);
    expect((await app.request("/_footprint/api/v1/stats/total", bearer(TOKEN))).status).toBe(200);
  });
});

describe("the address a failure counts against", () => {
  const viaProxy = (clientIp: string, body: Record<string, string>) => ({
    ...json(body),
    headers: { "content-type": "application/json", "x-forwarded-for": clientIp },
  });
  // What Bun.serve gives Hono as env: every request arrives from the proxy at 10.0.0.1.
  const server = { requestIP: () => ({ address: "10.0.0.1" }) };

  test.each([
    [1, 200],
    [0, 429],
  ])("behind TRUST_PROXY=%d a second client behind the same proxy gets %d", async (hops, status) => {
    const { app } = setup({ trustProxyHops: hops });
    for (let i = 0; i < 10; i++) {
      await app.request("/_footprint/api/v1/session", viaProxy("203.0.113.7", { token: "nope" }), server);
    }
    const same = await app.request("/_footprint/api/v1/session", viaProxy("203.0.113.7", { token: TOKEN }), server);
    expect(same.status).toBe(429);
    const other = await app.request("/_footprint/api/v1/session", viaProxy("198.51.100.9", { token: TOKEN }), server);
    expect(other.status).toBe(status);
  });
});
