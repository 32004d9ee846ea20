import type { Context } from "hono";
import { clientIp } from "../../src/footprint/client-ip.ts";
import type { Logger } from "../../src/log.ts";
import { sleep } from "../../src/retry.ts";
import { type AccountFailures, createMemoryAccountFailures } from "./account-failures.ts";
import type { Credentials } from "./credentials.ts";
import { createFailureLimit, type FailureLimit } from "./failure-limit.ts";
import { createSessionSigner, type SessionSigner } from "./session.ts";
import { createMemorySessionStore, type SessionStore } from "./session-store.ts";

/** Settings shared by `requireLogin` and `authRoutes`; pass the same object to both. */
export type AuthOptions = {
  /** Where our pages live (`/_footprint`): the login page, cookie path and redirects hang off it. */
  pathPrefix: string;
  credentials: Credentials;
  /** HMAC key of the session cookie (SESSION_SECRET, or random per process). */
  sessionSecret: string;
  /** How long a session lasts; 12 hours by default. */
  sessionTtlMs?: number;
  /**
   * The sessions still valid (logout and revocation remove them). In this process's memory by
   * default, which is right for one process only: `serve` passes the PostgreSQL one.
   */
  sessions?: SessionStore;
  /** Paths under the prefix that need no login (the ingest endpoint has its own key). */
  publicPaths?: readonly string[];
  /** A failed login is answered only after this delay (1 s by default), slowing guessing. */
  failureDelayMs?: number;
  /** Failed logins allowed per client address within `failureWindowMs` before 429 (10 per minute). */
  maxFailures?: number;
  failureWindowMs?: number;
  /**
   * Failed password logins of the user from all addresses together (ACCOUNT_FAILURE_LIMIT: 20 in
   * 10 minutes, then 429). In this process's memory by default: `serve` passes the PostgreSQL one.
   */
  accountFailures?: AccountFailures;
  /**
   * Who is asking, for the failure limit: by default the client's address, read from
   * X-Forwarded-For only as far as `trustProxyHops` allows (the same rule as the footprints').
   */
  clientAddress?: (c: Context) => string;
  /**
   * Proxies in front of us (TRUST_PROXY): only then is X-Forwarded-Proto believed when deciding
   * whether the session cookie is `Secure`. 0 by default: the request's own scheme decides.
   */
  trustProxyHops?: number;
  logger?: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

export type ResolvedAuth = Required<Omit<AuthOptions, "logger">> & {
  logger: Logger | undefined;
  signer: SessionSigner;
  loginPath: string;
  sessionPath: string;
  /** `DELETE` here ends every session. */
  sessionsPath: string;
  /** The login page's stylesheet (open: the page is shown before a login). */
  loginCssPath: string;
  /** Failed logins per client address. */
  addressLimit: FailureLimit;
};

// requireLogin and authRoutes resolve the same options object: they must share one session store
// and one set of failure counts.
const resolved = new WeakMap<AuthOptions, ResolvedAuth>();

export function resolveAuthOptions(options: AuthOptions): ResolvedAuth {
  const known = resolved.get(options);
  if (known) return known;
  const now = options.now ?? Date.now;
  const sessionTtlMs = options.sessionTtlMs ?? 12 * 60 * 60 * 1000;
  const maxFailures = options.maxFailures ?? 10;
  const failureWindowMs = options.failureWindowMs ?? 60_000;
  const trustProxyHops = options.trustProxyHops ?? 0;
  const auth: ResolvedAuth = {
    pathPrefix: options.pathPrefix,
    credentials: options.credentials,
    sessionSecret: options.sessionSecret,
    sessionTtlMs,
    sessions: options.sessions ?? createMemorySessionStore(now),
    publicPaths: options.publicPaths ?? [],
    failureDelayMs: options.failureDelayMs ?? 1000,
    maxFailures,
    failureWindowMs,
    accountFailures: options.accountFailures ?? createMemoryAccountFailures(now),
    // Behind trusted proxies the client, not the proxy: else one guesser would close the login
    // for everyone behind it. Not behind Bun.serve (app.request in tests): every caller is one.
    clientAddress: options.clientAddress ?? ((c) => clientIp(c, trustProxyHops) ?? "unknown"),
    trustProxyHops,
    logger: options.logger,
    now,
    sleep: options.sleep ?? sleep,
    signer: createSessionSigner(options.sessionSecret, sessionTtlMs, now),
    loginPath: `${options.pathPrefix}/login`,
    sessionPath: `${options.pathPrefix}/api/v1/session`,
    sessionsPath: `${options.pathPrefix}/api/v1/sessions`,
    loginCssPath: `${options.pathPrefix}/login.css`,
    addressLimit: createFailureLimit(maxFailures, failureWindowMs, now),
  };
  resolved.set(options, auth);
  return auth;
}

/**
 * True when the browser reached us over HTTPS: the request's own scheme, or — only behind
 * proxies we trust (TRUST_PROXY) — X-Forwarded-Proto as the outermost trusted proxy set it.
 * Without a trusted proxy the header is anyone's to send, and a cookie marked Secure on a plain
 * HTTP site is never sent back: the login would go round in circles.
 */
export function isHttps(c: Context, trustProxyHops: number): boolean {
  if (new URL(c.req.url).protocol === "https:") return true;
  if (trustProxyHops <= 0) return false;
  const protos = (c.req.header("x-forwarded-proto") ?? "").split(",").map((p) => p.trim().toLowerCase());
  // Each trusted proxy may have appended its own; the one the browser spoke to is hops from the end.
  return protos[Math.max(0, protos.length - trustProxyHops)] === "https";
}
