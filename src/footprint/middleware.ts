import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { isbot } from "isbot";
import { type EpochMicros, formatZoned } from "../time.ts";
import { clientIp as defaultClientIp } from "./client-ip.ts";
import { createIpHasher, type IpHasher } from "./ip-hash.ts";
import { DEFAULT_FOOTPRINT_TZ, type FootprintEvent, FIELD_MAX_LENGTH as MAX } from "./message.ts";

export type FootprintOptions = {
  /** Takes the event; must return at once and never throw (e.g. a bounded queue's offer). */
  record: (event: FootprintEvent) => unknown;
  /** IANA zone written into `footprint_time`; the wire format has always used Korea time. */
  timeZone?: string;
  /** Exact paths, or prefixes ending in `/*`, that are not recorded. */
  skipPaths?: readonly string[];
  /** Current time in epoch microseconds. */
  clock?: () => EpochMicros;
  /** Event ids; UUIDv7 by default so they sort by time. */
  newId?: () => string;
  /** Called when building or recording an event failed; the request is never affected. */
  onError?: (err: unknown) => void;
  /** The request's route pattern (`/items/:id`); by default the pattern of the Hono route that answered. */
  routePattern?: (c: Context) => string | undefined;
  /** Share of requests recorded, in (0, 1]; each recorded one then stands for 1/rate requests. */
  sampleRate?: number;
  /** Uniform in [0, 1), for sampling. */
  random?: () => number;
  /** Record the query string too (off by default: it often carries personal data or tokens). */
  recordQuery?: boolean;
  /**
   * How many proxies in front of the app append to X-Forwarded-For and can be believed; 0 (the
   * default) takes the socket's peer address, which a client cannot forge.
   */
  trustProxyHops?: number;
  /** The client's IP; by default Bun's `server.requestIP`, then X-Forwarded-For per `trustProxyHops`. */
  clientIp?: (c: Context) => string | undefined;
  /** Hashes IP + user agent with a daily salt; `false` leaves `ip_hash` out. */
  ipHash?: IpHasher | false;
  /** Whether a user agent is a bot; by default the `isbot` package's maintained list. */
  isBot?: (userAgent: string) => boolean;
};

/**
 * A handler may set this context variable to a promise of the response's size when it streams a
 * body of unknown length and counts it itself (the reverse proxy does); the event is recorded once
 * the promise settles.
 */
export const BYTES_OUT_VAR = "footprint.bytesOut";

const defaultClock = (): EpochMicros => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * Records one footprint per request, after the response is ready, without awaiting anything.
 *
 * @example
 * import { footprint } from "eft-footprint";
 * const app = new Hono();
 * app.use(footprint({ record: (event) => queue.offer(event), skipPaths: ["/healthz"], sampleRate: 0.5 }));
 */
export function footprint(options: FootprintOptions): MiddlewareHandler {
  const clock = options.clock ?? defaultClock;
  const skip = compileSkip(options.skipPaths ?? []);
  const sampleRate = options.sampleRate ?? 1;
  if (!(sampleRate > 0 && sampleRate <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${sampleRate}`);
  const random = options.random ?? Math.random;
  const trustedHops = options.trustProxyHops ?? 0;
  const capture: EventCapture = {
    timeZone: options.timeZone ?? DEFAULT_FOOTPRINT_TZ,
    newId: options.newId ?? (() => Bun.randomUUIDv7()),
    routePattern: options.routePattern ?? matchedRoute,
    recordQuery: options.recordQuery ?? false,
    clientIp: options.clientIp ?? ((c: Context) => defaultClientIp(c, trustedHops)),
    ipHash: options.ipHash === false ? undefined : (options.ipHash ?? createIpHasher()),
    isBot: options.isBot ?? cachedIsBot(),
  };
  const report = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      // An error reporter that fails must not fail the request either.
    }
  };

  return async function footprintMiddleware(c, next) {
    if (skip(c.req.path) || (sampleRate < 1 && random() >= sampleRate)) return next();
    const started = clock();
    try {
      await next();
    } finally {
      try {
        const event = buildEvent(c, started, clock(), capture);
        const size = bytesOut(c);
        if (typeof size === "number") {
          event.bytes_out = size;
          options.record(event);
        } else {
          // Recorded once the body has been sent (or the client went away), never before.
          size.then((n) => {
            if (n !== undefined) event.bytes_out = n;
            try {
              options.record(event);
            } catch (err) {
              report(err);
            }
          }, report);
        }
      } catch (err) {
        report(err);
      }
    }
  };
}

/** What a footprint is built from, resolved once from the options. */
type EventCapture = {
  timeZone: string;
  newId: () => string;
  routePattern: (c: Context) => string | undefined;
  recordQuery: boolean;
  clientIp: (c: Context) => string | undefined;
  ipHash: IpHasher | undefined;
  isBot: (userAgent: string) => boolean;
};

function buildEvent(c: Context, started: EpochMicros, ended: EpochMicros, o: EventCapture): FootprintEvent {
  const userAgent = c.req.header("user-agent");
  const event: FootprintEvent = {
    method: c.req.method,
    link: cut(storablePath(c.req.path), MAX.link),
    footprint_time: formatZoned(started, o.timeZone),
    event_id: o.newId(),
    status: c.res.status,
    duration_ms: Math.max(0, (ended - started) / 1000),
  };
  const route = o.routePattern(c);
  // A route inferred from a proxied path (route-pattern.ts) holds its NUL too.
  if (route) event.route = cut(storablePath(route), MAX.route);
  if (o.recordQuery) {
    const url = c.req.url;
    const q = url.indexOf("?");
    if (q >= 0 && q < url.length - 1) event.query = cut(url.slice(q + 1), MAX.query);
  }
  const host = c.req.header("host") ?? hostOf(c.req.url);
  if (host) event.host = cut(host.toLowerCase(), MAX.host);
  if (userAgent) event.user_agent = cut(userAgent, MAX.user_agent);
  const referrer = c.req.header("referer");
  if (referrer) event.referrer = cut(referrer, MAX.referrer);
  if (o.ipHash) {
    const ip = o.clientIp(c);
    if (ip) event.ip_hash = o.ipHash(ip, userAgent ?? "", started);
  }
  event.is_bot = o.isBot(userAgent ?? "");
  return event;
}

/** The response's size: known now, or a promise of it when the body is counted while it streams. */
function bytesOut(c: Context): number | Promise<number | undefined> {
  const counted = c.get(BYTES_OUT_VAR as never) as Promise<number> | undefined;
  if (counted) return counted;
  const res = c.res;
  if (c.req.method === "HEAD" || res.body === null || res.status === 204 || res.status === 304) return 0;
  const length = res.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length)) return Number(length);
  const { body, total } = countBytes(res.body);
  c.res = new Response(body, res);
  return total;
}

/**
 * Passes a body through unchanged, pulling only as fast as the client reads, and resolves with
 * the bytes delivered when it ends or the client cancels.
 */
export function countBytes(source: ReadableStream<Uint8Array>): {
  body: ReadableStream<Uint8Array>;
  total: Promise<number>;
} {
  const reader = source.getReader();
  let n = 0;
  let settle: (n: number) => void = () => {};
  const total = new Promise<number>((resolve) => {
    settle = resolve;
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          settle(n);
          return;
        }
        n += value.byteLength;
        controller.enqueue(value);
      } catch (err) {
        settle(n);
        controller.error(err);
      }
    },
    cancel(reason) {
      settle(n);
      return reader.cancel(reason);
    },
  });
  return { body, total };
}

/**
 * The pattern of the Hono route that produced the response. When nothing but middleware matched
 * (a 404), the last route is a wildcard middleware, which says nothing about the request.
 */
export function matchedRoute(c: Context): string | undefined {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (!route) return undefined;
  if (c.res.status === 404 && route.path.includes("*")) return undefined;
  return route.path;
}

/**
 * isbot runs one large regular expression (microseconds); a site sees the same few hundred user
 * agents over and over, so answers are remembered, up to a bound.
 */
function cachedIsBot(max = 2000): (userAgent: string) => boolean {
  const known = new Map<string, boolean>();
  return (userAgent) => {
    let bot = known.get(userAgent);
    if (bot === undefined) {
      bot = isbot(userAgent);
      if (known.size >= max) known.clear();
      known.set(userAgent, bot);
    }
    return bot;
  };
}

function hostOf(url: string): string | undefined {
  return URL.canParse(url) ? new URL(url).host : undefined;
}

/**
 * The path as decoded holds NUL where the request had `%00`, which no store can hold (the consumer
 * would dead-letter the footprint): it is written back as `%00`, as it was sent; so is a route
 * pattern inferred from such a path. The other fields are headers or the raw query, which cannot
 * hold NUL.
 */
function storablePath(path: string): string {
  return path.includes("\u0000") ? path.replaceAll("\u0000", "%00") : path;
}

/** The consumer dead-letters a message with a longer field, so the value is cut here, not lost there. */
function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

function compileSkip(paths: readonly string[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p) => !p.endsWith("/*")));
  const prefixes = paths.filter((p) => p.endsWith("/*")).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
