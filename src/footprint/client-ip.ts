import type { Context } from "hono";

type RequestIpServer = { requestIP(request: Request): { address: string } | null };

/**
 * The peer address of the connection, from the Bun server Hono was given as `env`
 * (`Bun.serve({ fetch: app.fetch })`, or `{ server }` in env); undefined elsewhere.
 */
export function socketIp(c: Context, remember = true): string | undefined {
  // Asked for by the proxy (X-Forwarded-For), the login and the footprint (ip_hash): Bun's
  // requestIP is a getpeername(2) each time (~3 µs on the development VM), so the answer is kept
  // with the request. The footprint asks last, once the response is ready: it does not keep it.
  const request = c.req.raw;
  const known = peers.get(request);
  if (known !== undefined || peers.has(request)) return known;
  const env = c.env as { requestIP?: unknown; server?: { requestIP?: unknown } } | undefined;
  const server = (typeof env?.requestIP === "function" ? env : env?.server) as RequestIpServer | undefined;
  const address = typeof server?.requestIP === "function" ? server.requestIP(request)?.address : undefined;
  const peer = address ? unmapIpv4(address) : undefined;
  if (remember) peers.set(request, peer);
  return peer;
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
