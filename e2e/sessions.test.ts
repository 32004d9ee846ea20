import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  createPipelineResources,
  ensureBinary,
  type PipelineResources,
  type RunningBinary,
  startBinary,
} from "../test/support/binary.ts";

/**
 * Dashboard sessions across two `serve` processes of the compiled binary sharing one PostgreSQL
 * (as behind a load balancer): a session started on one opens the other, a logout or a revocation
 * on one is refused by the other at once, a session survives a restart, a process with another
 * SESSION_SECRET refuses the cookies of the first, and failed passwords count over all processes.
 */
const TOKEN = "sessions-e2e-token-0123456789";
const SECRET = "a-session-secret-of-32-characters-or-more";

describe("sessions across serve processes (compiled binary, shared PostgreSQL)", () => {
  let resources: PipelineResources;
  const running: RunningBinary[] = [];

  const serve = async (env: Record<string, string> = {}) => {
    const app = await startBinary(["serve", "--no-consumer"], {
      ...resources.env,
      DASHBOARD_TOKEN: TOKEN,
      SESSION_SECRET: SECRET,
      ...env,
    });
    running.push(app);
    return app;
  };
  const login = async (app: RunningBinary) => {
    const res = await fetch(`${app.url}/_footprint/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: TOKEN }),
    });
    expect(res.status).toBe(200);
    return (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  };
  const statusWith = async (app: RunningBinary, cookie: string) =>
    (await fetch(`${app.url}/_footprint/api/openapi.json`, { headers: { cookie } })).status;

  beforeAll(async () => {
    await ensureBinary();
    resources = await createPipelineResources();
    // serve --no-consumer does not migrate; migration 0009 holds the sessions.
    await resources.pg.migrate();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.map((app) => app.stop()));
    await resources?.drop();
  });

  test("a session from one process opens the other; a logout on either ends it on both", async () => {
    const [a, b] = [await serve(), await serve()] as [RunningBinary, RunningBinary];
    const cookie = await login(a);
    expect(await statusWith(b, cookie)).toBe(200);
    const logout = await fetch(`${b.url}/_footprint/api/v1/session`, { method: "DELETE", headers: { cookie } });
    expect(logout.status).toBe(204);
    expect(await statusWith(a, cookie)).toBe(401);
    expect(await statusWith(b, cookie)).toBe(401);
    const page = await fetch(`${a.url}/_footprint/`, { headers: { cookie }, redirect: "manual" });
    expect([page.status, page.headers.get("location")]).toEqual([302, "/_footprint/login?next=%2F_footprint%2F"]);
  }, 60_000);

  test("DELETE /api/v1/sessions on one process ends every session on both", async () => {
    const [a, b] = running as [RunningBinary, RunningBinary];
    const first = await login(a);
    const second = await login(b);
    const res = await fetch(`${b.url}/_footprint/api/v1/sessions`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ended: number }).ended).toBe(2);
    for (const app of [a, b]) for (const cookie of [first, second]) expect(await statusWith(app, cookie)).toBe(401);
  }, 60_000);

  test("a session survives a restart; a process with a rotated SESSION_SECRET refuses it", async () => {
    const [a] = running as [RunningBinary];
    const cookie = await login(a);
    await a.stop();
    const restarted = await serve();
    expect(await statusWith(restarted, cookie)).toBe(200);
    const rotated = await serve({ SESSION_SECRET: "another-session-secret-of-32-characters" });
    expect(await statusWith(rotated, cookie)).toBe(401);
    expect(await statusWith(rotated, await login(rotated))).toBe(200);
  }, 60_000);

  test("failed passwords on two processes count together: a third refuses the right password", async () => {
    const withUser = { DASHBOARD_USER: "operator", DASHBOARD_PASSWORD: "correct horse battery" };
    const [p1, p2] = [await serve(withUser), await serve(withUser)] as [RunningBinary, RunningBinary];
    const attempt = (app: RunningBinary, password: string) =>
      fetch(`${app.url}/_footprint/api/v1/session`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "operator", password }),
      });
    // 10 from this address on each (each process's address limit), 20 for the user in all. One at a
    // time: what is tested is the count across processes; 20 at once on a loaded machine made the
    // session store's 2 s lookup limit answer some of them 503 (it fails closed), which is no count.
    const failed: number[] = [];
    for (let i = 0; i < 10; i++) for (const app of [p1, p2]) failed.push((await attempt(app, "nope")).status);
    expect(failed).toEqual(Array(20).fill(401));
    const p3 = await serve(withUser);
    const refused = await attempt(p3, withUser.DASHBOARD_PASSWORD);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("TOO_MANY_ATTEMPTS");
    // The user's window (10 minutes), not an address's minute: p3 has seen no failure itself.
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(60);
    // The token is no account of this limit.
    expect(await statusWith(p3, await login(p3))).toBe(200);
  }, 60_000);

  test("the login page and the API carry the security headers", async () => {
    const app = running.at(-1) as RunningBinary;
    for (const path of ["/_footprint/login", "/_footprint/api/v1/stats/total"]) {
      const res = await fetch(`${app.url}${path}`, { redirect: "manual" });
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  }, 30_000);
});
