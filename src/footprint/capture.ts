import type { Context } from "hono";
import { isbot } from "isbot";
import { type EpochMicros, formatZoned } from "../time.ts";
import { DEFAULT_FOOTPRINT_TZ, FIELD_MAX_LENGTH as MAX } from "./fields.ts";
import type { IpHasher } from "./ip-hash.ts";
import type { FootprintEvent } from "./message.ts";
import { inferRoutePattern } from "./route-pattern.ts";
import { uuidv7 } from "./uuid7.ts";

/**
 * What one request gives, read on the request thread and nothing more: strings as the request
 * and response hold them, times as numbers. Turning it into a footprint (ids, time formatting,
 * hashing, bot detection, JSON) is `buildEvent`'s work, done elsewhere (a Worker in `serve`).
 */
export type CapturedRequest = {
  method: string;
  path: string;
  status: number;
  /** Epoch microseconds when the request came in and when its response was ready. */
  started: EpochMicros;
  ended: EpochMicros;
  route?: string | undefined;
  host?: string | undefined;
  userAgent?: string | undefined;
  referrer?: string | undefined;
  /** The client's address; only ever hashed, never written out. */
  ip?: string | undefined;
  /** The query string without `?`, only when recording it is enabled. */
  query?: string | undefined;
  bytesOut?: number | undefined;
};

export type CaptureOptions = {
  routePattern: (c: Context) => string | undefined;
  recordQuery: boolean;
  /** Undefined when the IP is not needed (no hashing). */
  clientIp: ((c: Context) => string | undefined) | undefined;
};

/** Reads the request and its response; a handful of property reads, no formatting. */
export function captureRequest(
  c: Context,
  started: EpochMicros,
  ended: EpochMicros,
  o: CaptureOptions,
): CapturedRequest {
  const req = c.req;
  // The Headers once, not through Hono's req.header() per name.
  const headers = req.raw.headers;
  const captured: CapturedRequest = {
    method: req.method,
    path: req.path,
    status: c.res.status,
    started,
    ended,
    route: o.routePattern(c),
    host: headers.get("host") ?? undefined,
    userAgent: headers.get("user-agent") ?? undefined,
    referrer: headers.get("referer") ?? undefined,
  };
  if (captured.host === undefined) captured.host = hostOf(req.url);
  if (o.clientIp) captured.ip = o.clientIp(c);
  if (o.recordQuery) {
    const url = req.url;
    const q = url.indexOf("?");
    if (q >= 0 && q < url.length - 1) captured.query = url.slice(q + 1);
  }
  return captured;
}

export type EventBuilderOptions = {
  /** IANA zone written into `footprint_time`; the wire format has always used Korea time. */
  timeZone?: string;
  newId?: () => string;
  /** Hashes IP + user agent with a daily salt; undefined leaves `ip_hash` out. */
  ipHash?: IpHasher | undefined;
  isBot?: (userAgent: string) => boolean;
  /** Guess a pattern from the path when no route (or only a catch-all) matched: a proxied site. */
  inferRoutes?: boolean;
};

/** Turns captured requests into footprints: the work kept off the request thread. */
export type EventBuilder = (captured: CapturedRequest) => FootprintEvent;

export function createEventBuilder(options: EventBuilderOptions = {}): EventBuilder {
  const timeZone = options.timeZone ?? DEFAULT_FOOTPRINT_TZ;
  const newId = options.newId ?? uuidv7;
  const isBot = options.isBot ?? cachedIsBot();
  const { ipHash, inferRoutes } = options;
  return (r) => {
    const event: FootprintEvent = {
      method: r.method,
      link: cut(storablePath(r.path), MAX.link),
      footprint_time: formatZoned(r.started, timeZone),
      event_id: newId(),
      status: r.status,
      duration_ms: Math.max(0, (r.ended - r.started) / 1000),
    };
    const route = inferRoutes && (!r.route || r.route.includes("*")) ? inferRoutePattern(r.path) : r.route;
    // A route inferred from a proxied path (route-pattern.ts) holds its NUL too.
    if (route) event.route = cut(storablePath(route), MAX.route);
    if (r.query) event.query = cut(r.query, MAX.query);
    if (r.host) event.host = cut(r.host.toLowerCase(), MAX.host);
    if (r.userAgent) event.user_agent = cut(r.userAgent, MAX.user_agent);
    if (r.referrer) event.referrer = cut(r.referrer, MAX.referrer);
    if (ipHash && r.ip) event.ip_hash = ipHash(r.ip, r.userAgent ?? "", r.started);
    event.is_bot = isBot(r.userAgent ?? "");
    if (r.bytesOut !== undefined) event.bytes_out = r.bytesOut;
    return event;
  };
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
