import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { type EpochMicros, formatZoned } from "../time.ts";
import type { FootprintEvent } from "./event.ts";

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
};

const defaultClock = (): EpochMicros => Math.round((performance.timeOrigin + performance.now()) * 1000);

/**
 * Records one footprint per request, after the response is ready, without awaiting anything.
 *
 * @example
 * const queue = createEventQueue<FootprintEvent>(100_000);
 * app.use(footprint({ record: (e) => queue.offer(e), skipPaths: ["/healthz"] }));
 */
export function footprint(options: FootprintOptions): MiddlewareHandler {
  const timeZone = options.timeZone ?? "Asia/Seoul";
  const clock = options.clock ?? defaultClock;
  const newId = options.newId ?? (() => Bun.randomUUIDv7());
  const skip = compileSkip(options.skipPaths ?? []);

  return async function footprintMiddleware(c, next) {
    if (skip(c.req.path)) return next();
    const started = clock();
    try {
      await next();
    } finally {
      try {
        const ended = clock();
        const route = respondingRoute(c);
        options.record({
          method: c.req.method,
          link: c.req.path,
          footprint_time: formatZoned(started, timeZone),
          event_id: newId(),
          ...(route ? { route } : {}),
          status: c.res.status,
          duration_ms: Math.max(0, (ended - started) / 1000),
        });
      } catch (err) {
        options.onError?.(err);
      }
    }
  };
}

/**
 * The pattern of the handler that produced the response. When nothing but middleware matched
 * (a 404), the last route is a wildcard middleware, which says nothing about the request.
 */
function respondingRoute(c: Context): string | undefined {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (!route) return undefined;
  if (c.res.status === 404 && route.path.includes("*")) return undefined;
  return route.path;
}

function compileSkip(paths: readonly string[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p) => !p.endsWith("/*")));
  const prefixes = paths.filter((p) => p.endsWith("/*")).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
