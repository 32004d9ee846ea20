import type { Context } from "hono";

type RequestIpServer = { requestIP(request: Request): { address: string } | null };

/**
 * The peer address of the connection, from what the runtime passed Hono as `env`, told apart by
 * its shape (no runtime globals): Bun's server (`Bun.serve({ fetch: app.fetch })`, or `{ server }`
 * in env), Deno's handler info (`Deno.serve(app.fetch)`: `remoteAddr.hostname`) and
 * @hono/node-server's `incoming` request (`incoming.socket.remoteAddress`). Undefined elsewhere:
 * Cloudflare Workers have no socket to ask, the platform's `CF-Connecting-IP` header is what
 * they give (`footprint({ clientIpHeader: "cf-connecting-ip" })`), and only the caller knows that
 * such a header can be believed.
 */
export function socketIp(c: Context, remember = true): string | undefined {
  // Asked for by the proxy (X-Forwarded-For), the login and the footprint (ip_hash): Bun's
  // requestIP is a getpeername(2) each time (~3 µs on the development VM), so the answer is kept
  // with the request. The footprint asks last, once the response is ready: it does not keep it.
  const request = c.req.raw;
  const known = peers.get(request);
  if (known !== undefined || peers.has(request)) return known;
  const address = peerAddress(c.env, request);
  const peer = address ? unmapIpv4(address) : undefined;
  if (remember) peers.set(request, peer);
  return peer;
}

type RuntimeEnv = {
  requestIP?: unknown;
  server?: { requestIP?: unknown };
  remoteAddr?: { hostname?: unknown };
  incoming?: { socket?: { remoteAddress?: unknown } };
};

function peerAddress(env: unknown, request: Request): string | undefined {
  if (typeof env !== "object" || env === null) return undefined;
  const e = env as RuntimeEnv;
  // Bun: the server itself, or an app's env holding it.
  const server = (typeof e.requestIP === "function" ? e : e.server) as RequestIpServer | undefined;
  if (typeof server?.requestIP === "function") return server.requestIP(request)?.address || undefined;
  // Deno.serve's ServeHandlerInfo (a Unix socket's remoteAddr has no hostname).
  const deno = e.remoteAddr?.hostname;
  if (typeof deno === "string") return deno || undefined;
  // @hono/node-server's { incoming, outgoing }.
  const node = e.incoming?.socket?.remoteAddress;
  if (typeof node === "string") return node || undefined;
  return undefined;
}

/**
 * The client's address from a header the platform in front of the app sets and a client cannot
 * (Cloudflare's `CF-Connecting-IP`, Fly's `Fly-Client-IP`); undefined when it is missing.
 */
export function headerIp(c: Context, header: string): string | undefined {
  const value = c.req.raw.headers.get(header)?.trim();
  return value ? unmapIpv4(value) : undefined;
}

const peers = new WeakMap<Request, string | undefined>();

/**
 * The client's address. With `trustedHops` proxies in front of us, each appended the address it
 * got the request from to X-Forwarded-For, so the client is that many entries left of the socket
 * peer; anything further left was written by the client itself and could be forged. `remember`:
 * keep the socket's answer for whoever asks next about this request.
 */
export function clientIp(c: Context, trustedHops = 0, remember = true): string | undefined {
  const peer = socketIp(c, remember);
  if (trustedHops <= 0) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const chain = peer ? [...forwarded, peer] : forwarded;
  if (chain.length === 0) return undefined;
  const client = chain[Math.max(0, chain.length - 1 - trustedHops)] as string;
  return unmapIpv4(client);
}

/** `::ffff:203.0.113.7` (an IPv4 client on a dual-stack socket) is the IPv4 address itself. */
function unmapIpv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
