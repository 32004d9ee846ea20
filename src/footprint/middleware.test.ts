import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { stream } from "hono/streaming";
import { type FootprintEvent, FootprintEventSchema, FootprintMessageSchema } from "./message.ts";
import { countBytes, footprint } from "./middleware.ts";
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
      ipHash: (ip, ua) => `hash(${ip}|${ua})`,
      clientIp: () => "203.0.113.7",
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
  test("a footprint recorded after the response (its size still being read) is handed to the runtime's waitUntil, as Workers need", async () => {
    const { app, events } = appWith();
    // A body whose end is not known yet when the middleware looks: its size is a promise.
    const body = () =>
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          await Promise.resolve();
          controller.enqueue(new TextEncoder().encode("four"));
          controller.close();
        },
      });
    app.get("/streamed", () => new Response(body()));
    const handed: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => handed.push(p), passThroughOnException() {}, props: {} };
    const res = await app.fetch(new Request("http://localhost/streamed"), {}, ctx);
    expect(await res.text()).toBe("four");
    expect(handed).toHaveLength(1);
    await Promise.all(handed);
    expect(events.map((e) => [e.link, e.bytes_out])).toEqual([["/streamed", 4]]);
  });

  test("records the seed's fields plus id, status, duration and the matched route", async () => {
    const { app, events } = appWith();
    const res = await app.request("/api/v1/items/123?ref=home");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"id":"123"}');
    expect(events).toEqual([
      {
        method: "GET",
        link: "/api/v1/items/123",
        footprint_time: "2025-05-19T13:45:30.123456+09:00",
        event_id: "0190b2f8-0000-7000-8000-000000000001",
        route: "/api/v1/items/:id",
        status: 200,
        duration_ms: 2.5,
        host: "localhost",
        ip_hash: "hash(203.0.113.7|)",
        is_bot: false,
        bytes_out: 12,
      },
    ]);
  });

  test("records the real status of created, failing and unmatched requests", async () => {
    const { app, events } = appWith();
    await (await app.request("/api/v1/items", { method: "POST" })).text();
    const boom = await app.request("/boom");
    await boom.text();
    await (await app.request("/nowhere/at/all")).text();
    expect(boom.status).toBe(500);
    expect(events.map((e) => [e.method, e.link, e.status, e.route])).toEqual([
      ["POST", "/api/v1/items", 201, "/api/v1/items"],
      ["GET", "/boom", 500, "/boom"],
      ["GET", "/nowhere/at/all", 404, undefined],
    ]);
  });

  test("writes footprint_time in the configured zone", async () => {
    const { app, events } = appWith({ timeZone: "UTC" });
    await (await app.request("/api/v1/items/1")).text();
    expect(events[0]?.footprint_time).toBe("2025-05-19T04:45:30.123456+00:00");
  });

  test("skips exact paths and prefixes", async () => {
    const { app, events } = appWith();
    await (await app.request("/healthz")).text();
    await (await app.request("/assets/app.js")).text();
    await (await app.request("/api/v1/items/7")).text();
    expect(events.map((e) => e.link)).toEqual(["/api/v1/items/7"]);
  });

  test("a full queue never delays or fails the request", async () => {
    const queue = createEventQueue<FootprintEvent>(2);
    const { app } = appWith({ record: (e) => queue.offer(e) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.request(`/api/v1/items/${i}`);
      await res.text();
      statuses.push(res.status);
    }
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

  test("without onError a failure is not silent: logged once at once, the rest summed up later", async () => {
    const warn = console.warn;
    const lines: string[] = [];
    console.warn = (line: string) => lines.push(line);
    try {
      const app = new Hono()
        .use(
          footprint({
            record: () => {
              throw new ReferenceError("Bun is not defined");
            },
          }),
        )
        .get("/", (c) => c.text("hi"));
      for (let i = 0; i < 3; i++) expect(await (await app.request("/")).text()).toBe("hi");
    } finally {
      console.warn = warn;
    }
    expect(lines).toEqual(["eft-footprint: ReferenceError: Bun is not defined"]);
  });

  test("record is given the request's context (for a recorder that hands work to waitUntil)", async () => {
    const paths: string[] = [];
    const app = new Hono()
      .use(footprint({ record: (_e, c) => paths.push(`${c.req.method} ${c.req.path} ${c.res.status}`) }))
      .get("/x", (c) => c.text("x"));
    await (await app.request("/x")).text();
    expect(paths).toEqual(["GET /x 200"]);
  });

  test("clientIpHeader: the platform's header when present, the socket otherwise", async () => {
    const events: FootprintEvent[] = [];
    const app = new Hono()
      .use(
        footprint({
          record: (e) => events.push(e),
          clientIpHeader: "cf-connecting-ip",
          ipHash: (ip) => `hash(${ip})`,
        }),
      )
      .get("/", (c) => c.text("hi"));
    const server = { requestIP: () => ({ address: "198.51.100.1", family: "IPv4", port: 1 }) };
    await app.fetch(new Request("http://x/", { headers: { "cf-connecting-ip": "203.0.113.5" } }), server);
    await app.fetch(new Request("http://x/"), server);
    expect(events.map((e) => e.ip_hash)).toEqual(["hash(203.0.113.5)", "hash(198.51.100.1)"]);
  });

  test("default ids are UUIDv7 and default time is now", async () => {
    const events: FootprintEvent[] = [];
    const app = new Hono().use(footprint({ record: (e) => events.push(e) })).get("/", (c) => c.text("hi"));
    const before = Date.now();
    await (await app.request("/")).text();
    const e = events[0] as FootprintEvent;
    expect(e.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(e.footprint_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+09:00$/);
    expect(Math.abs(Date.parse(e.footprint_time) - before)).toBeLessThan(60_000);
  });
});

describe("footprint middleware: rich fields", () => {
  const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
  const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

  test("host, user agent, referrer, hashed client IP and bot flag come from the request", async () => {
    const { app, events } = appWith();
    await (
      await app.request("http://shop.example/api/v1/items/5", {
        headers: { "user-agent": chrome, referer: "https://search.example/?q=ledx", host: "Shop.Example:8443" },
      })
    ).text();
    await (await app.request("/api/v1/items/6", { headers: { "user-agent": googlebot } })).text();
    expect(
      events.map(({ host, user_agent, referrer, ip_hash, is_bot }) => ({
        host,
        user_agent,
        referrer,
        ip_hash,
        is_bot,
      })),
    ).toEqual([
      {
        host: "shop.example:8443",
        user_agent: chrome,
        referrer: "https://search.example/?q=ledx",
        ip_hash: `hash(203.0.113.7|${chrome})`,
        is_bot: false,
      },
      {
        host: "localhost",
        user_agent: googlebot,
        referrer: undefined,
        ip_hash: `hash(203.0.113.7|${googlebot})`,
        is_bot: true,
      },
    ]);
  });

  test("the query string is recorded only when asked for", async () => {
    const off = appWith();
    await (await off.app.request("/api/v1/items/1?token=secret&x=1")).text();
    expect(off.events[0]?.query).toBeUndefined();
    const on = appWith({ recordQuery: true });
    await (await on.app.request("/api/v1/items/1?token=secret&x=%20y")).text();
    await (await on.app.request("/api/v1/items/1?")).text();
    expect(on.events.map((e) => e.query)).toEqual(["token=secret&x=%20y", undefined]);
  });

  test("ip_hash is left out without a client address or when disabled; the raw IP never appears", async () => {
    const noIp = appWith({ clientIp: () => undefined });
    await (await noIp.app.request("/api/v1/items/1")).text();
    expect(noIp.events[0]?.ip_hash).toBeUndefined();
    const disabled = appWith({ ipHash: false });
    await (await disabled.app.request("/api/v1/items/1")).text();
    expect(disabled.events[0]?.ip_hash).toBeUndefined();
    const real = appWith({ ipHash: undefined });
    await (await real.app.request("/api/v1/items/1", { headers: { "user-agent": chrome } })).text();
    expect(real.events[0]?.ip_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(real.events)).not.toContain("203.0.113.7");
  });

  test("bytes_out: Content-Length, zero for HEAD and empty bodies, counted while a body streams", async () => {
    const { app, events } = appWith();
    app.get("/sized", (c) => c.body("x".repeat(10), 200, { "content-length": "10" }));
    app.get("/empty", (c) => c.body(null, 204));
    app.get("/streamed", (c) =>
      stream(c, async (s) => {
        for (let i = 0; i < 5; i++) await s.write(new Uint8Array(1000));
      }),
    );
    await (await app.request("/sized")).text();
    await (await app.request("/sized", { method: "HEAD" })).text();
    await (await app.request("/empty")).text();
    const streamed = await app.request("/streamed");
    expect(events.map((e) => [e.link, e.bytes_out])).toEqual([
      ["/sized", 10],
      ["/sized", 0],
      ["/empty", 0],
    ]);
    // Recorded once the body was delivered, with its real size.
    expect((await streamed.arrayBuffer()).byteLength).toBe(5000);
    await Bun.sleep(0);
    expect(events.map((e) => [e.link, e.bytes_out])).toContainEqual(["/streamed", 5000]);
  });

  test("a client that goes away mid-body is recorded with what it received", async () => {
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(100));
      },
    });
    const { body, total } = countBytes(source);
    const reader = body.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel("gone");
    expect(await total).toBe(200);
    expect(pulls).toBeLessThan(10); // pulled as the reader asked, not drained ahead
  });

  test("sampling records about the given share, decided per request", async () => {
    const draws = [0.1, 0.6, 0.49, 0.5, 0.99];
    const { app, events } = appWith({ sampleRate: 0.5, random: () => draws.shift() ?? 0 });
    for (let i = 0; i < 5; i++) await (await app.request(`/api/v1/items/${i}`)).text();
    expect(events.map((e) => e.link)).toEqual(["/api/v1/items/0", "/api/v1/items/2"]);
    expect(() => footprint({ record: () => {}, sampleRate: 0 })).toThrow(RangeError);
    expect(() => footprint({ record: () => {}, sampleRate: 1.5 })).toThrow(RangeError);
  });

  test("a route-pattern resolver replaces the matched route", async () => {
    const { app, events } = appWith({ routePattern: (c) => `custom:${c.req.path}` });
    await (await app.request("/api/v1/items/3")).text();
    expect(events[0]?.route).toBe("custom:/api/v1/items/3");
  });

  test("every event passes the consumer's schema, however long the headers", async () => {
    const { app, events } = appWith({ recordQuery: true, ipHash: undefined });
    await (
      await app.request(`/api/v1/items/${"9".repeat(10_000)}?${"q=1&".repeat(5000)}`, {
        headers: { "user-agent": "u".repeat(5000), referer: "r".repeat(10_000), host: `${"h".repeat(300)}.example` },
      })
    ).text();
    expect(events).toHaveLength(1);
    expect(FootprintMessageSchema.safeParse(events[0]).error?.issues).toBeUndefined();
    expect(FootprintEventSchema.safeParse(events[0]).error?.issues).toBeUndefined();
  });
});
