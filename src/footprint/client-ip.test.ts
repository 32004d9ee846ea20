import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { clientIp, headerIp, socketIp } from "./client-ip.ts";

/** Runs one request through a Hono app whose env is a Bun-like server with the given peer. */
async function ipsFor(peer: string | undefined, headers: Record<string, string>, hops: number) {
  let seen: { socket?: string; client?: string } = {};
  const app = new Hono().get("/", (c) => {
    seen = { socket: socketIp(c), client: clientIp(c, hops) };
    return c.text("ok");
  });
  const server = { requestIP: () => (peer ? { address: peer, family: "IPv4", port: 1 } : null) };
  await app.fetch(new Request("http://x/", { headers }), server);
  return seen;
}

describe("clientIp", () => {
  test("the socket peer, whatever X-Forwarded-For claims, when no proxy is trusted", async () => {
    expect(await ipsFor("198.51.100.1", { "x-forwarded-for": "1.2.3.4" }, 0)).toEqual({
      socket: "198.51.100.1",
      client: "198.51.100.1",
    });
  });

  test.each([
    // [X-Forwarded-For, trusted hops, client]
    ["203.0.113.7", 1, "203.0.113.7"],
    ["6.6.6.6, 203.0.113.7", 1, "203.0.113.7"], // a forged left entry is ignored
    ["6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"],
    ["203.0.113.7", 5, "203.0.113.7"], // fewer entries than hops: the leftmost
    ["", 1, "198.51.100.1"],
  ])("X-Forwarded-For %p with %p trusted hops → %p", async (xff, hops, client) => {
    const headers: Record<string, string> = xff ? { "x-forwarded-for": xff } : {};
    expect((await ipsFor("198.51.100.1", headers, hops)).client).toBe(client);
  });

  test("IPv4-mapped IPv6 peers are plain IPv4; no server means no address", async () => {
    expect((await ipsFor("::ffff:127.0.0.1", {}, 0)).client).toBe("127.0.0.1");
    expect((await ipsFor("::1", {}, 0)).client).toBe("::1");
    expect(await ipsFor(undefined, {}, 0)).toEqual({ socket: undefined, client: undefined });
  });
});

/** A Bun server stand-in that counts how often the socket was asked. */
function countingServer(address: string) {
  const server = {
    asked: 0,
    requestIP: () => {
      server.asked++;
      return { address, family: address.includes(":") ? "IPv6" : "IPv4", port: 1 };
    },
  };
  return server;
}

test("the socket is asked once per request, however often the address is needed", async () => {
  const app = new Hono().get("/", (c) => c.text(`${socketIp(c)} ${clientIp(c)} ${socketIp(c)}`));
  const server = countingServer("198.51.100.1");
  expect(await (await app.fetch(new Request("http://x/"), server)).text()).toBe(
    "198.51.100.1 198.51.100.1 198.51.100.1",
  );
  expect(server.asked).toBe(1);
  await app.fetch(new Request("http://x/"), server);
  expect(server.asked).toBe(2);
});

test("an answer not remembered is asked again; one remembered is not", async () => {
  const app = new Hono().get("/", (c) =>
    c.text(`${socketIp(c, false)} ${clientIp(c, 0, false)} ${socketIp(c)} ${clientIp(c, 0, false)}`),
  );
  const server = countingServer("::ffff:198.51.100.2");
  expect(await (await app.fetch(new Request("http://x/"), server)).text()).toBe(
    "198.51.100.2 198.51.100.2 198.51.100.2 198.51.100.2",
  );
  expect(server.asked).toBe(3);
});

describe("socketIp on each runtime, told apart by the shape of the env Hono was given", () => {
  /** The socket address a route sees when the app is called with `env`. */
  async function peerFor(env: unknown, headers: Record<string, string> = {}) {
    let seen: string | undefined = "not asked";
    const app = new Hono().get("/", (c) => {
      seen = socketIp(c);
      return c.text("ok");
    });
    await app.fetch(new Request("http://x/", { headers }), env as never);
    return seen;
  }

  test("Deno.serve(app.fetch): the handler info's remoteAddr", async () => {
    const info = { remoteAddr: { transport: "tcp", hostname: "::ffff:203.0.113.9", port: 5000 }, completed: null };
    expect(await peerFor(info)).toBe("203.0.113.9");
    expect(await peerFor({ remoteAddr: { transport: "tcp", hostname: "2001:db8::2", port: 1 } })).toBe("2001:db8::2");
    // A Unix socket's address has a path, not a hostname.
    expect(await peerFor({ remoteAddr: { transport: "unix", path: "/tmp/s" } })).toBeUndefined();
  });

  test("@hono/node-server: the incoming request's socket", async () => {
    const env = { incoming: { socket: { remoteAddress: "::ffff:198.51.100.4" } }, outgoing: {} };
    expect(await peerFor(env)).toBe("198.51.100.4");
    expect(await peerFor({ incoming: { socket: {} }, outgoing: {} })).toBeUndefined();
  });

  test("Bun's server, or an env holding it", async () => {
    const server = { requestIP: () => ({ address: "198.51.100.5", family: "IPv4", port: 1 }) };
    expect(await peerFor(server)).toBe("198.51.100.5");
    expect(await peerFor({ server, DB: "x" })).toBe("198.51.100.5");
  });

  test("Workers' bindings, no env, or an env of another shape: no address, and no header is believed", async () => {
    const headers = { "cf-connecting-ip": "203.0.113.1", "x-forwarded-for": "203.0.113.2" };
    expect(await peerFor({ KV: {}, INGEST_KEY: "k" }, headers)).toBeUndefined();
    expect(await peerFor(undefined, headers)).toBeUndefined();
    expect(await peerFor({ remoteAddr: "1.2.3.4", incoming: null }, headers)).toBeUndefined();
  });
});

test("headerIp: a platform's client header, when present", async () => {
  const app = new Hono().get("/", (c) => c.text(`${headerIp(c, "cf-connecting-ip")}`));
  const ask = async (headers: Record<string, string>) => (await app.request("/", { headers })).text();
  expect(await ask({ "CF-Connecting-IP": " 2001:db8::7 " })).toBe("2001:db8::7");
  expect(await ask({ "cf-connecting-ip": "::ffff:203.0.113.1" })).toBe("203.0.113.1");
  expect(await ask({ "cf-connecting-ip": "" })).toBe("undefined");
  expect(await ask({})).toBe("undefined");
});
