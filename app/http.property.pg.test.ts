/**
 * Hostile input over every HTTP endpoint, property-based: random methods, paths, parameters,
 * headers, bodies (bad UTF-8, percent-encoding, NUL, lone surrogates, gzip, huge) and logins, sent
 * over a real socket to the whole app (createApp) on the stack's real PostgreSQL AND ClickHouse
 * (named .pg.test.ts after the first). Every answer is a 2xx/3xx, or a 4xx JSON with a named code
 * of src/errors.ts; never a 5xx while the stores are up, never a hang (REQUEST_TIMEOUT_MS); a stats
 * answer holds data from both stores; whatever ingest accepts or the middleware records, both
 * stores store. Case counts: test/support/property.ts (EFT_PROPERTY_RUNS scales them).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { FootprintEvent } from "../src/footprint/message.ts";
import { parseFootprintMessage } from "../src/footprint/parse-message.ts";
import { createMemoryLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { STATISTICS } from "../src/stats/index.ts";
import type { FootprintRow, Store } from "../src/store/store.ts";
import {
  brokenFootprint,
  HTTP_METHODS,
  headerValue,
  queryString,
  requestBody,
  requestHeaders,
  urlText,
  validFootprint,
} from "../test/support/arbitraries.ts";
import {
  type Answer,
  type AnswerRules,
  answerProblem,
  type Sent,
  send,
  statusClass,
  withinHeaderLimit,
} from "../test/support/http-answer.ts";
import { checkProperty, createTally } from "../test/support/property.ts";
import { writePropertyReport } from "../test/support/property-report.ts";
import { openTestStore, type TestStore } from "../test/support/test-store.ts";
import { createApp } from "./create-app.ts";

const FILE = "app/http.property.pg.test.ts";
const P = "/_footprint";
const TOKEN = "a-token-of-16-chars-or-more";
const USER = "admin";
const PASSWORD = "a-password-of-16-chars";
const INGEST_KEY = "an-ingest-key-of-16-chars";

let pg: TestStore<Store>;
let ch: TestStore<Store>;
let server: ReturnType<typeof Bun.serve>;
let base: string;
const published: string[] = [];
const recorded: FootprintEvent[] = [];
const logger = createMemoryLogger();

beforeAll(async () => {
  [pg, ch] = await Promise.all([openTestStore("postgres"), openTestStore("clickhouse")]);
  await Promise.all([pg.store.migrate(), ch.store.migrate()]);
  const app = createApp({
    record: (event) => recorded.push(event),
    timeZone: "Asia/Seoul",
    skipPaths: ["/healthz", "/readyz", "/metrics"],
    stores: [pg.store, ch.store],
    checks: { postgres: () => pg.store.ping(), clickhouse: () => ch.store.ping() },
    logger,
    pathPrefix: P,
    demo: true,
    metrics: createMetrics(),
    auth: {
      credentials: { token: TOKEN, user: USER, password: PASSWORD },
      sessionSecret: "s".repeat(32),
      failureDelayMs: 0,
    },
    capture: { recordQuery: true },
    ingest: {
      keys: [INGEST_KEY],
      maxEvents: 50,
      maxBytes: 256 * 1024,
      timeoutMs: 5000,
      publish: async (values) => {
        published.push(...values);
      },
    },
  });
  server = Bun.serve({ port: 0, fetch: app.fetch });
  base = `http://127.0.0.1:${server.port}`;
}, 60_000);

afterAll(async () => {
  server?.stop(true);
  await Promise.all([pg?.store.close(), ch?.store.close()]);
  await Promise.all([pg?.drop(), ch?.drop()]);
  writePropertyReport(FILE);
});

/** Logged in by token, by a session cookie from a real login, or not at all. */
function login(): fc.Arbitrary<Record<string, string>> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ authorization: `Bearer ${TOKEN}` }) },
    { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({}, { authorization: "Bearer x" }) },
  );
}

/** Mostly the endpoint's own method, sometimes any. */
function mostly(own: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(own) },
    { weight: 1, arbitrary: fc.constantFrom(...HTTP_METHODS) },
  );
}

/** Our headers under the random ones: the login or key of the case wins over a random one. */
function request(
  method: fc.Arbitrary<string>,
  path: fc.Arbitrary<string>,
  own: fc.Arbitrary<Record<string, string>>,
  body = requestBody(),
): fc.Arbitrary<Sent> {
  return fc
    .record({ method, path, headers: fc.tuple(requestHeaders(), own).map(([h, o]) => ({ ...h, ...o })), body })
    .map(withinHeaderLimit);
}

/** Runs the property over `requests`; each answer must keep the contract (and `also`). */
async function everyAnswerKeepsTheContract(
  name: string,
  baseRuns: number,
  requests: fc.Arbitrary<Sent>,
  rules: AnswerRules = {},
  also: (answer: Answer, sent: Sent) => Promise<string | undefined> | string | undefined = () => undefined,
) {
  const tally = createTally();
  await checkProperty(
    { name, file: FILE, baseRuns, outcome: () => `answers: ${tally}` },
    fc.asyncProperty(requests, async (sent) => {
      const answer = await send(base, sent);
      tally.add(statusClass(answer.status));
      const problem = answerProblem(answer, rules, sent.method) ?? (await also(answer, sent));
      if (problem) throw new Error(`${sent.method} ${sent.path.slice(0, 300)}: ${problem}`);
    }),
  );
}

const STATS_PARAMS = {
  from: [
    "1m",
    "15m",
    "1h",
    "24h",
    "7d",
    "30d",
    "2025-05-19T00:00:00+09:00",
    "2025-05-19T00:00:00Z",
    "1999-12-31T00:00:00Z",
  ],
  to: ["2025-05-20T00:00:00+09:00", "2025-05-19T00:00:00.000001Z", "2100-01-01T00:00:00Z"],
  tz: ["Asia/Seoul", "UTC", "America/New_York", "Asia/Kolkata", "Etc/GMT+12", "Mars/Base", "+09:00"],
  store: ["postgres", "clickhouse", "both"],
  source: ["auto", "raw", "rollup"],
  method: ["GET", "POST", "get", "M-SEARCH"],
  route: ["/api/v1/items/:id", "/", "%00abc"],
  status: ["2xx", "3xx", "4xx", "5xx"],
  exclude_bots: ["true", "false"],
  limit: ["1", "10", "100", "0", "101", "1.5", "1e2", "-1", "0x10"],
  bucket: ["minute", "hour", "day"],
};

describe("every HTTP endpoint answers hostile input with a named code, never a 5xx or a hang", () => {
  test("the stats API: any parameters; both stores answer or it is a 400 naming the parameter", async () => {
    const endpoints = [...Object.keys(STATISTICS), "nope"];
    const path = fc
      .tuple(fc.constantFrom(...endpoints), queryString(STATS_PARAMS, { maxPairs: 8 }))
      .map(([e, q]) => `${P}/api/v1/stats/${e}?${q}`);
    await everyAnswerKeepsTheContract(
      "stats API (7 endpoints)",
      80,
      request(mostly("GET"), path, login()),
      {},
      (answer) => {
        if (answer.status !== 200) return undefined;
        const body = JSON.parse(answer.text) as { results: { store: string; error?: unknown }[] };
        const failed = body.results.filter((r) => r.error !== undefined);
        return failed.length ? `a store failed: ${JSON.stringify(failed).slice(0, 500)}` : undefined;
      },
    );
  }, 120_000);

  test("the ingest API: any body, key, type and encoding; what it accepts both stores store", async () => {
    const events = fc.oneof(
      validFootprint(),
      brokenFootprint(),
      fc.array(fc.oneof(validFootprint(), brokenFootprint()), { maxLength: 8 }),
    );
    const body = fc.oneof(
      { weight: 2, arbitrary: events.map((e) => ({ label: "events", bytes: Buffer.from(JSON.stringify(e)) })) },
      { weight: 1, arbitrary: requestBody(validFootprint()) },
    );
    const own = fc.oneof(
      { weight: 5, arbitrary: fc.constant({ "x-footprint-key": INGEST_KEY, "content-type": "application/json" }) },
      { weight: 1, arbitrary: headerValue().map((key) => ({ "x-footprint-key": key })) },
      { weight: 1, arbitrary: fc.constant({}) },
    );
    const headers = fc.tuple(requestHeaders(), own, fc.nat(4)).map(([h, o, keepEncoding]) => {
      const out: Record<string, string> = { ...h, ...o };
      // Mostly a body as sent: a random encoding header on every case would reject them all.
      if (keepEncoding > 0) delete out["content-encoding"];
      return out;
    });
    const sent = fc
      .record({ method: mostly("POST"), path: fc.constant(`${P}/api/v1/footprints`), headers, body })
      .map(withinHeaderLimit);
    await everyAnswerKeepsTheContract("ingest API", 100, sent, {}, async (answer) => {
      if (answer.status !== 202) return undefined;
      return collectRows(
        published.splice(0).map((v) => Buffer.from(v)),
        "ingest",
      );
    });
    expect(await storeCollected()).toBeUndefined();
  }, 120_000);

  test("login, session and logout: any form, JSON, token link or next", async () => {
    const next = fc.oneof(
      fc.constantFrom(`${P}/`, "//evil.example", "https://evil.example", `${P}/\\evil`, `${P}//x`),
      urlText(),
    );
    const loginPage = fc
      .tuple(next, fc.oneof(fc.constantFrom(TOKEN, "wrong"), urlText()), fc.boolean())
      .map(([n, t, withToken]) => `${P}/login?next=${n}${withToken ? `&token=${t}` : ""}`);
    const fields = fc.record(
      {
        token: fc.oneof(fc.constant(TOKEN), urlText()),
        user: fc.constantFrom(USER, "x", ""),
        password: fc.oneof(fc.constant(PASSWORD), urlText()),
        next,
      },
      { requiredKeys: [] },
    );
    const formBody = fields.map((f) => ({
      label: "form",
      bytes: Buffer.from(
        Object.entries(f)
          .map(([k, v]) => `${k}=${v}`)
          .join("&"),
      ),
    }));
    const jsonBody = fields.map((f) => ({ label: "json", bytes: Buffer.from(JSON.stringify(f)) }));
    const session = fc
      .record({
        method: fc.constantFrom("POST", "POST", "DELETE", "GET", "PUT"),
        path: fc.constant(`${P}/api/v1/session`),
        headers: fc
          .tuple(
            requestHeaders(),
            fc.constantFrom(
              "application/json",
              "application/x-www-form-urlencoded",
              "multipart/form-data",
              "text/plain",
            ),
          )
          .map(([h, t]) => ({ ...h, "content-type": t })),
        body: fc.oneof(formBody, jsonBody, requestBody()),
      })
      .map(withinHeaderLimit);
    const page = request(fc.constantFrom("GET", "HEAD", "POST"), loginPage, fc.constant({}));
    await everyAnswerKeepsTheContract("login page, session API", 100, fc.oneof(session, page), { htmlErrors: true });
  }, 120_000);

  test("dashboard, assets, OpenAPI, health, metrics, favicon, root: any method, path and headers", async () => {
    const paths = fc.oneof(
      fc.constantFrom(
        `${P}/`,
        P,
        `${P}/assets/main.js`,
        `${P}/assets/dashboard.css`,
        `${P}/api/openapi.json`,
        `${P}/api/docs`,
        "/healthz",
        "/readyz",
        "/metrics",
        "/favicon.ico",
        "/",
      ),
      urlText().map((t) => `${P}/assets/${t}`),
      fc.tuple(fc.constantFrom(`${P}/`, "/healthz", "/metrics", `${P}/api/`), urlText()).map(([p, t]) => `${p}${t}`),
    );
    const query = fc.oneof(
      fc.constant(""),
      queryString({}).map((q) => `?${q}`),
    );
    const path = fc.tuple(paths, query).map(([p, q]) => `${p}${q}`);
    await everyAnswerKeepsTheContract(
      "dashboard, assets, OpenAPI, health, metrics, favicon",
      120,
      request(mostly("GET"), path, login()),
    );
  }, 120_000);

  test("the demo site and unknown paths: any request; whatever the middleware records, both stores store", async () => {
    const paths = fc.oneof(
      fc.constantFrom(
        "/api/v1/items",
        "/api/v1/quests",
        "/api/v1/search?q=x",
        "/api/v1/auth/login",
        "/api/v1/comments",
      ),
      fc
        .tuple(
          fc.constantFrom(
            "/api/v1/items/",
            "/api/v1/quests/",
            "/api/v1/traders/",
            "/api/v1/maps/",
            "/api/v1/search?q=",
            "/",
          ),
          urlText(),
        )
        .map(([p, t]) => `${p}${t}`),
      fc.tuple(urlText(), queryString({ q: ["x"] })).map(([p, q]) => `/${p}?${q}`),
    );
    recorded.length = 0;
    await everyAnswerKeepsTheContract(
      "demo site, unknown paths (recorded)",
      60,
      request(mostly("GET"), paths, fc.constant({})),
      {},
      async () => {
        // The footprint is recorded once the answer is sent; give the middleware its turn.
        await Bun.sleep(0);
        return collectRows(
          recorded.splice(0).map((e) => Buffer.from(JSON.stringify(e))),
          "middleware",
        );
      },
    );
    expect(await storeCollected()).toBeUndefined();
  }, 120_000);
});

let origin = 0;
const collected: FootprintRow[] = [];

/**
 * Every message value must parse as a footprint (else the consumer dead-letters it: what went
 * wrong); the rows are kept for storeCollected, which stores them all in one batch per store.
 */
function collectRows(values: Buffer[], from: string): string | undefined {
  for (const value of values) {
    const parsed = parseFootprintMessage(value, { topic: "t", partition: 0, offset: String(origin++) });
    if (!parsed.ok) {
      return `${from} produced a message the consumer dead-letters (${parsed.code}): ${value.toString().slice(0, 300)}`;
    }
    collected.push(parsed.row);
  }
  return undefined;
}

/** Both stores take every collected row; else the first row a store refuses, and why. */
async function storeCollected(): Promise<string | undefined> {
  const rows = collected.splice(0);
  for (const { store } of [pg, ch]) {
    try {
      await store.insertFootprints(rows, { token: `prop-${origin}` });
    } catch {
      // One by one, to name the row.
      for (const [i, row] of rows.entries()) {
        const refused = await store
          .insertFootprints([row], { token: `prop-${origin}-${i}` })
          .catch((err) => err as Error);
        if (refused)
          return `${store.name} refuses ${JSON.stringify(row).slice(0, 500)}: ${refused.message.slice(0, 300)}`;
      }
    }
  }
  return undefined;
}

describe("what the properties found, pinned", () => {
  const token = { authorization: `Bearer ${TOKEN}` };

  test("route=%00abc is a 400 naming route, not a store outage (the known escapee)", async () => {
    const answer = await send(base, { method: "GET", path: `${P}/api/v1/stats/top?route=%00abc`, headers: token });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: "BAD_REQUEST", details: [{ path: "route" }] });
  });

  test("GET /%00 is recorded with the link /%00 (decoded it held NUL, which the consumer dead-lettered)", async () => {
    recorded.length = 0;
    const answer = await send(base, { method: "GET", path: "/a%00b" });
    expect(answer.status).toBe(404);
    await Bun.sleep(0);
    expect(recorded.map((e) => e.link)).toEqual(["/a%00b"]);
    expect(
      collectRows(
        recorded.splice(0).map((e) => Buffer.from(JSON.stringify(e))),
        "middleware",
      ),
    ).toBeUndefined();
    expect(await storeCollected()).toBeUndefined();
  });

  test("the demo site's 404 and 401 carry a named code, like every answer of ours", async () => {
    const missing = await send(base, { method: "GET", path: "/api/v1/items/%00" });
    expect([missing.status, JSON.parse(missing.text).error.code]).toEqual([404, "NOT_FOUND"]);
    const login = await send(base, {
      method: "POST",
      path: "/api/v1/auth/login",
      body: { label: "", bytes: new Uint8Array() },
    });
    expect([login.status, JSON.parse(login.text).error.code]).toEqual([401, "UNAUTHENTICATED"]);
  });

  test("a request line past 16 KiB gets Bun's own 431 at once, before any route: no hang, no 5xx", async () => {
    const answer = await send(base, {
      method: "GET",
      path: `${P}/api/v1/stats/top?route=${"a".repeat(20_000)}`,
      headers: token,
    });
    expect(answer.status).toBe(431);
  });
});
