import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { EpochMicros } from "../time.ts";
import { type CapturedRequest, type CaptureOptions, captureRequest, createEventBuilder } from "./capture.ts";
import { clientIp as defaultClientIp, headerIp } from "./client-ip.ts";
import { createErrorReporter } from "./error-reporter.ts";
import { createIpHasher, type IpHasher } from "./ip-hash.ts";
import type { FootprintEvent } from "./message.ts";
import { createWaitUntil } from "./wait-until.ts";

export type FootprintOptions = {
  /**
   * Takes the event; must return at once and never throw (e.g. a bounded queue's offer). Either
   * this or `capture`. Given the request's context too, for a recorder that hands its work to the
   * runtime (`c.executionCtx.waitUntil` on Workers).
   */
  record?: (event: FootprintEvent, c: Context) => unknown;
  /**
   * Takes what the request gave, unformatted, instead of a built event: for a recorder that builds
   * events elsewhere (`serve` hands them to a Worker, see `createEventBuilder`). The event options
   * (`timeZone`, `newId`, `ipHash` other than `false`, `isBot`) then belong to that builder.
   */
  capture?: (captured: CapturedRequest) => unknown;
  /** IANA zone written into `footprint_time`; the wire format has always used Korea time. */
  timeZone?: string;
  /** Exact paths, or prefixes ending in `/*`, that are not recorded. */
  skipPaths?: readonly string[];
  /** Current time in epoch microseconds. */
  clock?: () => EpochMicros;
  /** Event ids; UUIDv7 by default so they sort by time. */
  newId?: () => string;
  /**
   * Called when building or recording an event failed; the request is never affected. By default
   * `createErrorReporter()`: the first failure is logged at once, then one line a minute at most.
   */
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
  /**
   * The client's IP; by default the socket's peer (Bun, Deno, @hono/node-server; see `socketIp`),
   * then X-Forwarded-For per `trustProxyHops`.
   */
  clientIp?: (c: Context) => string | undefined;
  /**
   * A header the platform in front of the app sets to the client's address and a client cannot
   * forge: `cf-connecting-ip` on Cloudflare Workers, which have no socket to ask. Taken before the
   * default when present; only set it where that header can be believed.
   */
  clientIpHeader?: string;
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

/** `performance.timeOrigin` is read once: a getter per call cost more than the clock itself. */
const originMicros = performance.timeOrigin * 1000;
const defaultClock = (): EpochMicros => Math.round(originMicros + performance.now() * 1000);
/**
 * Bun answers a body held in memory at once, which `peek` reads without a turn of the event loop;
 * looked up once, as other runtimes have no `Bun`.
 */
const peek = (globalThis as { Bun?: { peek?: typeof Bun.peek } }).Bun?.peek;

/**
 * Records one footprint per request, after the response is ready, without awaiting anything.
 * On the request thread it only reads what the request gave (`captureRequest`); with `record`
 * the event is built there too, with `capture` wherever the taker builds it.
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
  const take = taker(options);
  const trustedHops = options.trustProxyHops ?? 0;
  const capture: CaptureOptions = {
    routePattern: options.routePattern ?? matchedRoute,
    recordQuery: options.recordQuery ?? false,
    clientIp:
      options.ipHash === false ? undefined : (options.clientIp ?? clientIpOf(options.clientIpHeader, trustedHops)),
  };
  const onError = options.onError ?? createErrorReporter();
  const waitUntil = createWaitUntil();
  const report = (err: unknown) => {
    try {
      onError(err);
    } catch {
      // An error reporter that fails must not fail the request either.
    }
  };
  const takeReported = (captured: CapturedRequest, c: Context) => {
    try {
      take(captured, c);
    } catch (err) {
      report(err);
    }
  };

  return async function footprintMiddleware(c, next) {
    if (skip(c.req.path) || (sampleRate < 1 && random() >= sampleRate)) return next();
    const started = clock();
    try {
      await next();
    } finally {
      try {
        const captured = captureRequest(c, started, clock(), capture);
        const size = bytesOut(c);
        if (typeof size === "number") {
          captured.bytesOut = size;
          take(captured, c);
        } else {
          // Recorded once the body has been sent (or the client went away), never before.
          const recorded = size.then((n) => {
            captured.bytesOut = n;
            takeReported(captured, c);
          }, report);
          // On Workers the request's context ends with the response: without waitUntil the
          // recording (and any timer or fetch the recorder starts in it) is cancelled unseen.
          waitUntil(c, () => recorded);
        }
      } catch (err) {
        report(err);
      }
    }
  };
}

/** Where a captured request goes: to `capture` as it is, or built into an event for `record`. */
function taker(options: FootprintOptions): (captured: CapturedRequest, c: Context) => unknown {
  const { record, capture } = options;
  if (capture) return capture;
  if (!record) throw new TypeError("footprint() needs a record or a capture function");
  const build = createEventBuilder({
    timeZone: options.timeZone,
    newId: options.newId,
    ipHash: options.ipHash === false ? undefined : (options.ipHash ?? createIpHasher()),
    isBot: options.isBot,
  });
  return (captured, c) => record(build(captured), c);
}

function clientIpOf(header: string | undefined, trustedHops: number): (c: Context) => string | undefined {
  if (header === undefined) return (c) => defaultClientIp(c, trustedHops, false);
  return (c) => headerIp(c, header) ?? defaultClientIp(c, trustedHops, false);
}

/**
 * The response's size: known now, or a promise of it when the body streams. On Bun never by
 * wrapping a body that is already in memory: a JS stream in front of it costs Bun its fast path
 * (the profile's largest item, ~11 µs a request). A streamed body (the proxy's, or one marked
 * `Transfer-Encoding: chunked` or `text/event-stream`, as Hono's streaming helpers do) is counted
 * as the client reads it. Otherwise the body is measured the way `inMemorySize` picked for the
 * runtime: through a clone (which on Bun, for a body in memory, shares it and answers at once; an
 * unmarked stream is then read alongside into memory to be counted, so long streams should be
 * marked), or on Node counted as it is sent.
 */
function bytesOut(c: Context): number | Promise<number | undefined> {
  const counted = c.get(BYTES_OUT_VAR as never) as Promise<number> | undefined;
  if (counted) return counted;
  const res = c.res;
  if (c.req.method === "HEAD" || res.status === 204 || res.status === 304) return 0;
  const headers = res.headers;
  const length = headers.get("content-length");
  if (length !== null && /^\d+$/.test(length)) return Number(length);
  if (headers.has("transfer-encoding") || headers.get("content-type")?.startsWith("text/event-stream")) {
    if (res.body === null) return 0;
    const { body, total } = countBytes(res.body);
    c.res = new Response(body, res);
    return total;
  }
  switch (inMemorySize) {
    case "peek": {
      const blob = res.clone().blob();
      if (peek?.status(blob) === "fulfilled") return (peek(blob) as Blob).size;
      return blob.then((b) => b.size);
    }
    case "arrayBuffer":
      return res
        .clone()
        .arrayBuffer()
        .then((b) => b.byteLength);
    case "count": {
      if (res.body === null) return 0;
      const { body, total } = countBytes(res.body);
      c.res = new Response(body, res);
      return total;
    }
    default:
      return res
        .clone()
        .blob()
        .then((b) => b.size);
  }
}

/**
 * How a body without Content-Length (Hono's `c.json`, `c.text`) is measured: the cheapest way on
 * each runtime, detected once (`bun app/bench/runtimes.ts --bytes-out`, µs added a request, one
 * run each: Bun's `peek` of a clone's blob +4.4; Deno a clone's arrayBuffer +8.4 against +21.9 for
 * its blob; Node counting the body as it is sent +83.5 against +196.5; workerd a clone's blob +82,
 * counting +317). Counting records the footprint once the client has read the body.
 */
const inMemorySize: "peek" | "arrayBuffer" | "count" | "blob" = (() => {
  const g = globalThis as {
    Deno?: unknown;
    navigator?: { userAgent?: string };
    process?: { versions?: { node?: string } };
  };
  if (peek) return "peek";
  if (g.Deno !== undefined) return "arrayBuffer";
  if (g.navigator?.userAgent === "Cloudflare-Workers") return "blob";
  if (typeof g.process?.versions?.node === "string") return "count";
  return "blob";
})();

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

function compileSkip(paths: readonly string[]): (path: string) => boolean {
  const exact = new Set(paths.filter((p) => !p.endsWith("/*")));
  const prefixes = paths.filter((p) => p.endsWith("/*")).map((p) => p.slice(0, -1));
  return (path) => exact.has(path) || prefixes.some((p) => path.startsWith(p));
}
