import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "../../src/errors.ts";
import { errorResponse } from "../error-response.ts";
import { matchesBearer } from "./credentials.ts";
import { type AuthOptions, type ResolvedAuth, resolveAuthOptions } from "./options.ts";
import { SESSION_COOKIE } from "./session.ts";

/**
 * Guards everything under `pathPrefix` except the login page (and its stylesheet), the session
 * endpoint and `publicPaths`: `Authorization: Bearer <token>`, or a valid session cookie whose
 * session is still in the session store, passes; otherwise an API request gets 401 JSON and a page
 * request a redirect to the login page. When the session store cannot be asked the answer is 503
 * SESSION_STORE_UNAVAILABLE (a revoked session is never let in). Paths outside the prefix (the
 * recorded site, /healthz, /metrics) are never touched. Not Hono's bearerAuth: it knows no session
 * cookie or login redirect, and answers with its own body, not our error shape.
 *
 * @example
 * app.use(requireLogin({ pathPrefix: "/_footprint", credentials: { token }, sessionSecret }));
 */
export function requireLogin(options: AuthOptions): MiddlewareHandler {
  const auth = resolveAuthOptions(options);
  const prefix = auth.pathPrefix;
  const open = new Set([auth.loginPath, auth.loginCssPath, auth.sessionPath, ...auth.publicPaths]);
  return async (c, next) => {
    const path = c.req.path.length > 1 ? c.req.path.replace(/\/+$/, "") : c.req.path;
    if ((path !== prefix && !path.startsWith(`${prefix}/`)) || open.has(path)) return next();
    // Answered here, not thrown: the guard works in front of any app, whatever its onError.
    if (/^Bearer\s/i.test(c.req.header("authorization") ?? "")) {
      const refused = await checkBearer(c, auth);
      return refused ? errorResponse(c, refused) : next();
    }
    let loggedIn: boolean;
    try {
      loggedIn = await isLoggedIn(c, auth);
    } catch (err) {
      if (err instanceof AppError) return errorResponse(c, err);
      throw err;
    }
    if (loggedIn) return next();
    const isApi = path.startsWith(`${prefix}/api/`);
    if (isApi || (c.req.method !== "GET" && c.req.method !== "HEAD")) {
      c.header("WWW-Authenticate", 'Bearer realm="eft-footprint"');
      return errorResponse(c, new AppError("UNAUTHENTICATED", "log in first (session cookie or Bearer token)"));
    }
    const url = new URL(c.req.url);
    return c.redirect(`${auth.loginPath}?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
  };
}

/**
 * A request that sends a Bearer token is judged by it alone, and a wrong one counts as a failed
 * login of its address, like a wrong token in the login form: delayed, and 429 once the address has
 * too many. Returns the error to answer, or undefined to let the request in.
 */
async function checkBearer(c: Context, auth: ResolvedAuth): Promise<AppError | undefined> {
  const client = auth.clientAddress(c);
  const waitMs = auth.addressLimit.retryAfterMs(client);
  if (waitMs > 0) {
    c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
    return new AppError("TOO_MANY_ATTEMPTS", "Too many failed attempts from this address; see Retry-After.");
  }
  if (matchesBearer(auth.credentials, c.req.header("authorization"))) return undefined;
  auth.addressLimit.recordFailure(client);
  auth.logger?.warn("dashboard login failed", { client, accounts: [], bearer: true });
  await auth.sleep(auth.failureDelayMs);
  c.header("WWW-Authenticate", 'Bearer realm="eft-footprint", error="invalid_token"');
  return new AppError("UNAUTHENTICATED", "the Bearer token is not valid");
}

/**
 * The Bearer token, or a session cookie that is signed, unexpired and still in the session store.
 * The token is checked first: it needs no store.
 */
export async function isLoggedIn(c: Context, auth: ResolvedAuth): Promise<boolean> {
  if (matchesBearer(auth.credentials, c.req.header("authorization"))) return true;
  const id = auth.signer.verify(getCookie(c, SESSION_COOKIE));
  return id !== undefined && (await auth.sessions.has(id));
}
