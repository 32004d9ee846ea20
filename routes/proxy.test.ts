import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Hono } from "hono";
import type { FootprintEvent } from "../src/footprint/message.ts";
import { footprint, matchedRoute } from "../src/footprint/middleware.ts";
import { inferRoutePattern } from "../src/footprint/route-pattern.ts";
import { proxyRoutes } from "./proxy.ts";

const sha = (b: Uint8Array | ArrayBuffer) => createHash("sha256").update(new Uint8Array(b)).digest("hex");

type Seen = { method: string; target: string; headers: Record<string, string>; bodySha: string; bodyLength: number };

/** The site being proxied: reports what it received and answers in the ways a real site does. */
function startUpstream() {
  const seen: Seen[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const body = new Uint8Array(await req.arrayBuffer());
      const target = req.url.slice(req.url.indexOf("/", 8));
      seen.push({
        method: req.method,
        target,
        headers: Object.fromEntries(req.headers),
        bodySha: sha(body),
        bodyLength: body.byteLength,
      });
      if (url.pathname.startsWith("/echo")) {
        return new Response(body, { headers: { "content-type": req.headers.get("content-type") ?? "x/none" } });
      }
      if (url.pathname === "/teapot") {
        const headers = new Headers({ "x-custom": "kept", "keep-alive": "timeout=5", "content-type": "text/plain" });
        headers.append("set-cookie", "a=1; Path=/");
        headers.append("set-cookie", "b=2; Path=/");
        return new Response("short and stout", { status: 418, headers });
      }
      if (url.pathname === "/moved") return new Response(null, { status: 302, headers: { location: "/elsewhere" } });
      if (url.pathname === "/gzip" && req.headers.get("accept-encoding")?.includes("gzip")) {
        return new Response(gzipSync("compressed hello ".repeat(100)), {
          headers: { "content-encoding": "gzip", "content-type": "text/plain" },
        });
      }
      if (url.pathname === "/big") {
        // Streamed in 64 KiB chunks without a Content-Length: the proxy must stream and count it.
        const total = Number(url.searchParams.get("mb") ?? "1") * 1024 * 1024;
        let sent = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent >= total) return controller.close();
              const chunk = new Uint8Array(Math.min(65536, total - sent)).map((_, i) => (sent + i) % 251);
              sent += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
      }
      return new Response("not here", { status: 404 });
    },
  });
  return { server, seen, url: `http://127.0.0.1:${server.port}` };
}

/** A proxy in front of `upstream`, recording like `serve --upstream` does. */
function startProxy(upstream: string) {
  const events: FootprintEvent[] = [];
  const app = new Hono()
    .use(
      footprint({
        record: (e) => events.push(e),
        ipHash: false,
        routePattern: (c) => {
          const route = matchedRoute(c);
          return route && !route.includes("*") ? route : inferRoutePattern(c.req.path);
        },
      }),
    )
    .route("/", proxyRoutes({ upstream }));
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  return { server, events, url: `http://127.0.0.1:${server.port}` };
}

/** One HTTP/1.1 exchange over a plain socket, for requests fetch would not send as written. */
async function rawRequest(port: number, request: string): Promise<string> {
  let text = "";
  const { promise, resolve } = Promise.withResolvers<string>();
  await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      open: (socket) => void socket.write(request),
      data: (_socket, chunk) => {
        text += new TextDecoder().decode(chunk);
      },
      close: () => resolve(text),
      error: () => resolve(text),
    },
  });
  return promise;
}

/** Events are recorded once the body went out, a moment after the client read it. */
async function eventFor(events: FootprintEvent[], link: string): Promise<FootprintEvent> {
  for (let i = 0; i < 200; i++) {
    const e = events.find((x) => x.link === link);
    if (e) return e;
    await Bun.sleep(10);
  }
  throw new Error(`no footprint for ${link}; have ${JSON.stringify(events.map((e) => e.link))}`);
}

describe("reverse proxy (serve --upstream)", () => {
  let upstream: ReturnType<typeof startUpstream>;
  let proxy: ReturnType<typeof startProxy>;

  beforeAll(() => {
    upstream = startUpstream();
    proxy = startProxy(upstream.url);
  });
  afterAll(() => {
    proxy.server.stop(true);
    upstream.server.stop(true);
  });

  test("GET: the upstream sees the original method, path and query; the client its answer; recorded", async () => {
    const res = await fetch(`${proxy.url}/echo/items/123?b=2&a=%20x&a=y`, { headers: { "x-app": "1" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    const s = upstream.seen.at(-1) as Seen;
    expect(s.method).toBe("GET");
    expect(s.target).toBe("/echo/items/123?b=2&a=%20x&a=y");
    expect(s.headers["x-app"]).toBe("1");
    const e = await eventFor(proxy.events, "/echo/items/123");
    expect(e).toMatchObject({ method: "GET", status: 200, route: "/echo/items/:id", bytes_out: 0 });
  });

  test("POST: a 3 MiB binary body arrives byte for byte and comes back byte for byte", async () => {
    const body = randomBytes(3 * 1024 * 1024);
    const res = await fetch(`${proxy.url}/echo/upload?x=1`, {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(200);
    const back = new Uint8Array(await res.arrayBuffer());
    expect(back.byteLength).toBe(body.byteLength);
    expect(sha(back)).toBe(sha(body));
    const s = upstream.seen.at(-1) as Seen;
    expect([s.method, s.target, s.bodyLength, s.bodySha]).toEqual(["POST", "/echo/upload?x=1", body.length, sha(body)]);
    expect((await eventFor(proxy.events, "/echo/upload")).status).toBe(200);
  });

  test("PUT, PATCH and DELETE keep their method and body", async () => {
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const res = await fetch(`${proxy.url}/echo/${method}`, { method, body: `body of ${method}` });
      expect(await res.text()).toBe(`body of ${method}`);
      expect(upstream.seen.at(-1)?.method).toBe(method);
    }
  });

  test("a large streamed response (no Content-Length) arrives whole and is counted in bytes_out", async () => {
    const res = await fetch(`${proxy.url}/big?mb=24`);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(24 * 1024 * 1024);
    const expected = new Uint8Array(got.byteLength).map((_, i) => i % 251);
    expect(sha(got)).toBe(sha(expected));
    expect(await eventFor(proxy.events, "/big")).toMatchObject({ status: 200, bytes_out: 24 * 1024 * 1024 });
  });

  test("status and headers pass through; hop-by-hop headers do not; redirects are not followed", async () => {
    const res = await fetch(`${proxy.url}/teapot`);
    expect(res.status).toBe(418);
    expect(res.headers.get("x-custom")).toBe("kept");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(res.headers.get("keep-alive")).toBeNull();
    expect(await res.text()).toBe("short and stout");
    expect(await eventFor(proxy.events, "/teapot")).toMatchObject({ status: 418, bytes_out: 15 });

    const moved = await fetch(`${proxy.url}/moved`, { redirect: "manual" });
    expect([moved.status, moved.headers.get("location")]).toEqual([302, "/elsewhere"]);
    expect((await eventFor(proxy.events, "/moved")).status).toBe(302);

    const missing = await fetch(`${proxy.url}/nothing/here`);
    expect([missing.status, await missing.text()]).toEqual([404, "not here"]);
    expect((await eventFor(proxy.events, "/nothing/here")).status).toBe(404);
  });

  test("compressed answers reach the client as the site sent them", async () => {
    const res = await fetch(`${proxy.url}/gzip`, {
      headers: { "accept-encoding": "gzip" },
      decompress: false,
    } as RequestInit);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(sha(await res.arrayBuffer())).toBe(sha(gzipSync("compressed hello ".repeat(100))));
    expect(upstream.seen.at(-1)?.headers["accept-encoding"]).toBe("gzip");

    // A client that asked for no encoding: the proxy must not ask for one on its behalf.
    const raw = await rawRequest(
      proxy.server.port as number,
      "GET /gzip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(upstream.seen.at(-1)?.headers["accept-encoding"]).toBe("identity");
    expect(raw.toLowerCase()).not.toContain("content-encoding");
  });

  test("the request target reaches the upstream exactly as the client wrote it", async () => {
    await rawRequest(
      proxy.server.port as number,
      "GET /echo/a%2Fb/caf%C3%A9/x;y=1?q=%E2%9C%93&q=+&empty= HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(upstream.seen.at(-1)?.target).toBe("/echo/a%2Fb/caf%C3%A9/x;y=1?q=%E2%9C%93&q=+&empty=");
  });

  test("X-Forwarded-For is appended to, -Proto and -Host are the client's; Host is the upstream's", async () => {
    await (
      await fetch(`${proxy.url}/echo/fwd`, { headers: { "x-forwarded-for": "198.51.100.9", host: "shop.example" } })
    ).text();
    const h = upstream.seen.at(-1)?.headers as Record<string, string>;
    expect(h["x-forwarded-for"]).toBe("198.51.100.9, 127.0.0.1");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h["x-forwarded-host"]).toBe("shop.example");
    expect(h.host).toBe(new URL(upstream.url).host);

    await (await fetch(`${proxy.url}/echo/fwd2`)).text();
    expect(upstream.seen.at(-1)?.headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  test("a WebSocket upgrade is refused with a clear 501 and recorded", async () => {
    const res = await fetch(`${proxy.url}/socket`, {
      headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    expect(res.status).toBe(501);
    expect(await res.json()).toMatchObject({ error: { code: "WEBSOCKET_NOT_PROXIED" } });
    expect((await eventFor(proxy.events, "/socket")).status).toBe(501);
  });

  test("an unreachable upstream gives the client a 502 JSON error and is recorded as 502", async () => {
    const down = Bun.serve({ port: 0, fetch: () => new Response("") });
    const deadUrl = `http://127.0.0.1:${down.port}`;
    down.stop(true);
    const lonely = startProxy(deadUrl);
    try {
      const res = await fetch(`${lonely.url}/orders/42?x=1`, { method: "POST", body: "lost" });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({
        error: { code: "UPSTREAM_UNAVAILABLE", details: { upstream: deadUrl } },
      });
      expect(await eventFor(lonely.events, "/orders/42")).toMatchObject({
        method: "POST",
        status: 502,
        route: "/orders/:id",
      });
    } finally {
      lonely.server.stop(true);
    }
  });

  test("an upstream with a base path gets it in front of every path", async () => {
    const based = startProxy(`${upstream.url}/echo/base/`);
    try {
      await (await fetch(`${based.url}/x/1?q=2`)).text();
      expect(upstream.seen.at(-1)?.target).toBe("/echo/base/x/1?q=2");
    } finally {
      based.server.stop(true);
    }
  });
});
