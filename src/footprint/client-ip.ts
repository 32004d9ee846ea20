import type { Context } from "hono";

type RequestIpServer = { requestIP(request: Request): { address: string } | null };

/**
 * The peer address of the connection, from the Bun server Hono was given as `env`
 * (`Bun.serve({ fetch: app.fetch })`, or `{ server }` in env); undefined elsewhere.
 */
export function socketIp(c: Context): string | undefined {
  // Asked for by the proxy (X-Forwarded-For) and the footprint (ip_hash): Bun's requestIP costs
  // microseconds, so the answer is kept with the request.
  const request = c.req.raw;
  if (peers.has(request)) return peers.get(request);
  const env = c.env as { requestIP?: unknown; server?: { requestIP?: unknown } } | undefined;
  const server = (typeof env?.requestIP === "function" ? env : env?.server) as RequestIpServer | undefined;
  const address = typeof server?.requestIP === "function" ? server.requestIP(request)?.address : undefined;
  const peer = address ? unmapIpv4(address) : undefined;
  peers.set(request, peer);
  return peer;
}

const peers = new WeakMap<Request, string | undefined>();

/**
 * The client's address. With `trustedHops` proxies in front of us, each appended the address it
 * got the request from to X-Forwarded-For, so the client is that many entries left of the socket
 * peer; anything further left was written by the client itself and could be forged.
 */
export function clientIp(c: Context, trustedHops = 0): string | undefined {
  const peer = socketIp(c);
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
