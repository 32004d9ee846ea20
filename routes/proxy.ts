import { type Context, Hono } from "hono";
import { AppError } from "../src/errors.ts";
import { socketIp } from "../src/footprint/client-ip.ts";
import { BYTES_OUT_VAR, countBytes } from "../src/footprint/middleware.ts";
import { answerAppError } from "./error-response.ts";

export type ProxyOptions = {
  /** The site's origin, optionally with a base path: `http://127.0.0.1:8000` or `http://app:8000/base`. */
  upstream: string;
  /**
   * Proxies in front of us whose X-Forwarded-Proto/-Host are believed (0: none). X-Forwarded-For
   * is always appended to, as every proxy does; the upstream decides how much of it to trust.
   */
  trustProxyHops?: number;
  /** For tests. */
  fetch?: typeof fetch;
};

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded in
 * either direction. `host` is set by fetch from the upstream URL, as nginx does by default; the
 * client's Host goes in X-Forwarded-Host.
 */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/**
 * Forwards every request it is given to the upstream site and streams the answer back unchanged:
 * method, path, query, headers (less hop-by-hop ones), body both ways, status. An upstream that
 * cannot be reached gives a 502 JSON error, which the footprint middleware records like any other
 * answer. WebSocket upgrades are refused with 501 (see docs/capture.md: they are not proxied).
 */
export function proxyRoutes(options: ProxyOptions): Hono {
  const upstream = new URL(options.upstream);
  const origin = upstream.origin;
  const basePath = upstream.pathname.replace(/\/+$/, "");
  const trusted = (options.trustProxyHops ?? 0) > 0;
  const send = options.fetch ?? fetch;

  return new Hono().onError(answerAppError).all("*", async (c) => {
    const request = c.req.raw;
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      throw new AppError(
        "WEBSOCKET_NOT_PROXIED",
        "eft-footprint does not proxy WebSocket connections; route WebSocket paths to the upstream directly",
        { upstream: origin },
      );
    }

    const url = new URL(request.url);
    // The request target as received: URL parsing would resolve `..` and re-encode.
    const target = `${origin}${basePath}${rawTarget(request.url)}`;
    const headers = forwardedHeaders(c, url, trusted);
    const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== null;

    let answer: Response;
    try {
      answer = await send(target, {
        method: request.method,
        headers,
        body: hasBody ? request.body : undefined,
        // The client sees exactly what the site sent: redirects and compressed bodies untouched.
        redirect: "manual",
        decompress: false,
        signal: request.signal,
        ...(hasBody ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      if (request.signal.aborted) {
        // The client went away before the site answered; nginx's "client closed request".
        return c.body(null, 499 as never);
      }
      throw new AppError(
        "UPSTREAM_UNAVAILABLE",
        `the upstream site ${origin} did not answer: ${(err as Error).message}`,
        { upstream: origin },
        { cause: err },
      );
    }

    const responseHeaders = withoutHopByHop(answer.headers);
    let body = answer.body;
    if (body && !answer.headers.has("content-length") && request.method !== "HEAD") {
      // No length to read: count what the client is actually sent, for the footprint's bytes_out.
      const counted = countBytes(body);
      body = counted.body;
      c.set(BYTES_OUT_VAR as never, counted.total as never);
    }
    return new Response(body, { status: answer.status, statusText: answer.statusText, headers: responseHeaders });
  });
}

function forwardedHeaders(c: Context, url: URL, trusted: boolean): Headers {
  const incoming = c.req.raw.headers;
  const headers = withoutHopByHop(incoming);
  headers.delete("host");
  // fetch would otherwise ask for gzip/br itself and, with decompress off, hand the client an
  // encoding it never accepted.
  if (!incoming.has("accept-encoding")) headers.set("accept-encoding", "identity");

  const peer = socketIp(c);
  const forwardedFor = incoming.get("x-forwarded-for");
  if (peer) headers.set("x-forwarded-for", forwardedFor ? `${forwardedFor}, ${peer}` : peer);
  const proto = trusted ? incoming.get("x-forwarded-proto") : null;
  headers.set("x-forwarded-proto", proto ?? url.protocol.slice(0, -1));
  const host = (trusted ? incoming.get("x-forwarded-host") : null) ?? incoming.get("host") ?? url.host;
  headers.set("x-forwarded-host", host);
  return headers;
}

function rawTarget(url: string): string {
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  return slash < 0 ? "/" : url.slice(slash);
}

function withoutHopByHop(source: Headers): Headers {
  const headers = new Headers(source);
  // Connection may name more per-connection headers (RFC 9110 §7.6.1).
  for (const name of (source.get("connection") ?? "").split(",")) {
    const n = name.trim();
    if (n) headers.delete(n);
  }
  for (const name of HOP_BY_HOP) headers.delete(name);
  return headers;
}
