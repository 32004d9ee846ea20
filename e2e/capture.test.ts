import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type PipelineBinary,
  type PipelineResources,
  type RunningBinary,
  startPipelineBinary,
} from "../test/support/binary.ts";
import { waitFor } from "../test/support/wait-for.ts";

const KEY = "e2e-ingest-key-0123456789";

/** The columns a footprint fills, as both stores return them. */
const COLUMNS = `toString(event_id) AS event_id, request, link, route, status, query, host, user_agent, referrer,
  ip_hash, is_bot, bytes_out`;

/**
 * Capture on the real stack with the compiled binary: `serve --upstream` in front of a small site,
 * and the ingest endpoint, both ending as rows in PostgreSQL and ClickHouse.
 */
describe("end to end: reverse proxy and ingest endpoint → Kafka → PostgreSQL + ClickHouse", () => {
  let pipeline: PipelineBinary | undefined;
  let pg: PipelineResources["pg"];
  let ch: PipelineResources["ch"];
  let app: RunningBinary | undefined;
  let site: ReturnType<typeof Bun.serve>;

  const pgRows = async (where: string): Promise<Record<string, unknown>[]> =>
    await pg.stats.sql.unsafe(
      `select event_id::text as event_id, request, link, route, status, query, host, user_agent, referrer,
              ip_hash, is_bot, bytes_out::float8 as bytes_out
       from user_footprint where ${where} order by link`,
    );
  const chRows = async (where: string): Promise<Record<string, unknown>[]> => {
    const rows = await (
      await ch.stats.client.query({
        query: `SELECT ${COLUMNS} FROM user_footprint WHERE ${where} ORDER BY link`,
        format: "JSONEachRow",
      })
    ).json<Record<string, unknown>>();
    // chdb returns UInt64 as numbers, a real ClickHouse as strings; booleans as true/false.
    return rows.map((r) => ({ ...r, bytes_out: r.bytes_out === null ? null : Number(r.bytes_out) }));
  };

  /** Waits for `n` rows in each store, checks that ClickHouse holds what PostgreSQL does, returns them. */
  const storedInBoth = async (what: string, n: number, pgWhere: string, chWhere = pgWhere) => {
    const rows = await waitFor(
      `${n} ${what} rows in PostgreSQL`,
      () => pgRows(pgWhere),
      (r) => r.length === n,
    );
    const inClickhouse = await waitFor(
      `${n} ${what} rows in ClickHouse`,
      () => chRows(chWhere),
      (r) => r.length === n,
    );
    expect(inClickhouse).toEqual(rows.map((r) => ({ ...r })));
    return rows;
  };

  beforeAll(async () => {
    site = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/missing") return new Response("no such page", { status: 404 });
        const body = await req.text();
        return new Response(`${req.method} ${url.pathname}${url.search} ${body}`, {
          status: req.method === "POST" ? 201 : 200,
        });
      },
    });
    pipeline = await startPipelineBinary(["serve", "--upstream", `http://127.0.0.1:${site.port}`], {
      INGEST_KEYS: `some-other-key-0123456789,${KEY}`,
      INGEST_MAX_EVENTS: "20",
      INGEST_MAX_BYTES: "65536",
      RECORD_QUERY: "true",
      DASHBOARD_TOKEN: "e2e-dashboard-token-0123456789",
    });
    ({ app } = pipeline);
    ({ pg, ch } = pipeline.resources);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    site?.stop(true);
  });

  const ingest = (body: unknown, key: string | null = KEY) =>
    fetch(`${app?.url}/_footprint/api/v1/footprints`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { "x-footprint-key": key } : {}) },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("proxied requests reach the site unchanged and are stored with the site's status and rich fields", async () => {
    const a = app as RunningBinary;
    const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0";
    const get = await fetch(`${a.url}/orders/42?coupon=SPRING`, {
      headers: { "user-agent": ua, referer: "https://ref.example/" },
    });
    expect([get.status, await get.text()]).toEqual([200, "GET /orders/42?coupon=SPRING "]);
    const post = await fetch(`${a.url}/orders`, { method: "POST", body: "qty=2", headers: { "user-agent": ua } });
    expect([post.status, await post.text()]).toEqual([201, "POST /orders qty=2"]);
    const missing = await fetch(`${a.url}/missing`, { headers: { "user-agent": "Googlebot/2.1" } });
    expect([missing.status, await missing.text()]).toEqual([404, "no such page"]);

    const rows = await storedInBoth("proxied", 3, "link in ('/orders/42', '/orders', '/missing')");
    const host = new URL(a.url).host;
    const plain: Record<string, unknown>[] = rows.map(({ event_id: _e, ip_hash, ...r }) => ({
      ...r,
      ip_hash: /^[0-9a-f]{64}$/.test(String(ip_hash)),
    }));
    expect(plain).toEqual([
      {
        request: "GET",
        link: "/missing",
        route: "/missing",
        status: 404,
        query: null,
        host,
        user_agent: "Googlebot/2.1",
        referrer: null,
        ip_hash: true,
        is_bot: true,
        bytes_out: 12,
      },
      {
        request: "POST",
        link: "/orders",
        route: "/orders",
        status: 201,
        query: null,
        host,
        user_agent: ua,
        referrer: null,
        ip_hash: true,
        is_bot: false,
        bytes_out: 18,
      },
      {
        request: "GET",
        link: "/orders/42",
        route: "/orders/:id",
        status: 200,
        query: "coupon=SPRING",
        host,
        user_agent: ua,
        referrer: "https://ref.example/",
        ip_hash: true,
        is_bot: false,
        bytes_out: 29,
      },
    ]);
    // The same client (IP and user agent) gets the same hash the same day.
    expect(rows[1]?.ip_hash).toBe(rows[2]?.ip_hash);
  }, 120_000);

  test("ingest: one seed event, a rich array, and verbatim injection-looking text, stored in both stores", async () => {
    const single = await ingest({
      method: "GET",
      link: "/ingest/seed",
      footprint_time: "2025-05-19T13:45:30.123456+09:00",
    });
    expect(single.status).toBe(202);
    const { event_ids: seedIds } = (await single.json()) as { event_ids: string[] };

    const hostile = {
      method: "POST",
      link: "/ingest/x'); DROP TABLE user_footprint; --",
      footprint_time: "2025-05-19T04:45:31.000001Z",
      event_id: "0190b2f8-0000-7000-8000-0000000000e2",
      route: "{link:String} $1 %s \\' \\\\",
      status: 500,
      duration_ms: 12.5,
      query: "q=' OR 1=1 --&x=<script>alert(1)</script>",
      host: 'evil`host"',
      user_agent: "<img src=x onerror=alert(1)> '; SELECT 1; --",
      referrer: "javascript:alert('x')",
      ip_hash: "0".repeat(64),
      is_bot: true,
      bytes_out: 9_007_199_254,
    };
    const batch = await ingest([
      { ...hostile },
      { method: "GET", link: "/ingest/plain", footprint_time: "2025-05-19T04:45:32Z" },
    ]);
    expect(batch.status).toBe(202);
    const { event_ids: batchIds } = (await batch.json()) as { event_ids: string[] };
    expect(batchIds[0]).toBe(hostile.event_id);

    const rows = await storedInBoth("ingested", 3, "link like '/ingest/%'", "startsWith(link, '/ingest/')");
    expect(rows.map((r) => r.event_id).sort()).toEqual([...seedIds, ...batchIds].sort());
    const stored = rows.find((r) => r.event_id === hostile.event_id);
    const { footprint_time: _t, duration_ms: _d, event_id: _id, method, ...text } = hostile;
    expect({ ...stored }).toEqual({ ...text, event_id: hostile.event_id, request: method });
    expect(await pg.countFootprints()).toBeGreaterThanOrEqual(3); // the table is still there
  }, 120_000);

  test("ingest refuses: no key 401, too big 413, each invalid field 400 by path; nothing of a bad batch is stored", async () => {
    const seed = { method: "GET", link: "/refused/ok", footprint_time: "2025-05-19T13:45:30Z" };
    expect((await ingest(seed, null)).status).toBe(401);
    expect((await ingest(seed, "not-a-configured-key-xx")).status).toBe(401);
    expect((await ingest(Array.from({ length: 21 }, () => seed))).status).toBe(413);
    expect((await ingest({ ...seed, link: `/${"x".repeat(70_000)}` })).status).toBe(413);

    const bad = await ingest([
      seed,
      { ...seed, status: 700 },
      { ...seed, footprint_time: "2025-13-01T00:00:00Z", method: 7 },
    ]);
    expect(bad.status).toBe(400);
    const { error } = (await bad.json()) as { error: { code: string; details: { issues: { path: string }[] } } };
    expect(error.code).toBe("INGEST_INVALID");
    expect(error.details.issues.map((i) => i.path)).toEqual(["[1].status", "[2].method", "[2].footprint_time"]);

    // A marker sent after the refusals: once it is stored, anything sent before it would be too.
    expect((await ingest({ ...seed, link: "/refused/marker" })).status).toBe(202);
    await waitFor(
      "the marker row",
      () => pgRows("link like '/refused/%'"),
      (r) => r.length > 0,
    );
    expect((await pgRows("link like '/refused/%'")).map((r) => r.link)).toEqual(["/refused/marker"]);
  }, 120_000);
});
