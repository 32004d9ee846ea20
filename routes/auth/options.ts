import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import type { Logger } from "../../src/log.ts";
import { sleep } from "../../src/retry.ts";
import type { Credentials } from "./credentials.ts";
import { createSessionSigner, type SessionSigner } from "./session.ts";

/** Settings shared by `requireLogin` and `authRoutes`; pass the same object to both. */
export type AuthOptions = {
  /** Where our pages live (`/_footprint`): the login page, cookie path and redirects hang off it. */
  pathPrefix: string;
  credentials: Credentials;
  /** HMAC key of the session cookie (SESSION_SECRET, or random per process). */
  sessionSecret: string;
  /** How long a session lasts; 12 hours by default. */
  sessionTtlMs?: number;
  /** Paths under the prefix that need no login (the ingest endpoint has its own key). */
  publicPaths?: readonly string[];
  /** A failed login is answered only after this delay (1 s by default), slowing guessing. */
  failureDelayMs?: number;
  /** Failed logins allowed per client address within `failureWindowMs` before 429 (10 per minute). */
  maxFailures?: number;
  failureWindowMs?: number;
  /** Who is asking, for the failure limit; the peer address by default. */
  clientAddress?: (c: Context) => string;
  logger?: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

export type ResolvedAuth = Required<Omit<AuthOptions, "logger">> & {
  logger: Logger | undefined;
  signer: SessionSigner;
  loginPath: string;
  sessionPath: string;
};

export function resolveAuthOptions(options: AuthOptions): ResolvedAuth {
  const now = options.now ?? Date.now;
  const sessionTtlMs = options.sessionTtlMs ?? 12 * 60 * 60 * 1000;
  return {
    pathPrefix: options.pathPrefix,
    credentials: options.credentials,
    sessionSecret: options.sessionSecret,
    sessionTtlMs,
    publicPaths: options.publicPaths ?? [],
    failureDelayMs: options.failureDelayMs ?? 1000,
    maxFailures: options.maxFailures ?? 10,
    failureWindowMs: options.failureWindowMs ?? 60_000,
    clientAddress: options.clientAddress ?? peerAddress,
    logger: options.logger,
    now,
    sleep: options.sleep ?? sleep,
    signer: createSessionSigner(options.sessionSecret, sessionTtlMs, now),
    loginPath: `${options.pathPrefix}/login`,
    sessionPath: `${options.pathPrefix}/api/v1/session`,
  };
}

function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    // Not behind Bun.serve (app.request in tests): every caller counts as one.
    return "unknown";
  }
}
