import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AppError } from "../../src/errors.ts";
import { errorResponse } from "../error-response.ts";
import { matchesBearer } from "./credentials.ts";
import { type AuthOptions, type ResolvedAuth, resolveAuthOptions } from "./options.ts";
import { SESSION_COOKIE } from "./session.ts";

/**
 * Guards everything under `pathPrefix` except the login page, the session endpoint and
 * `publicPaths`: a valid session cookie or `Authorization: Bearer <token>` passes; otherwise
 * an API request gets 401 JSON and a page request a redirect to the login page. Paths outside the
 * prefix (the recorded site, /healthz, /metrics) are never touched. Not Hono's bearerAuth: it
 * knows no session cookie or login redirect, and answers with its own body, not our error shape.
 *
 * @example
 * app.use(requireLogin({ pathPrefix: "/_footprint", credentials: { token }, sessionSecret }));
 */
export function requireLogin(options: AuthOptions): MiddlewareHandler {
  const auth = resolveAuthOptions(options);
  const prefix = auth.pathPrefix;
  const open = new Set([auth.loginPath, auth.sessionPath, ...auth.publicPaths]);
  return async (c, next) => {
    const path = c.req.path.length > 1 ? c.req.path.replace(/\/+$/, "") : c.req.path;
    if ((path !== prefix && !path.startsWith(`${prefix}/`)) || open.has(path)) return next();
    if (isLoggedIn(c, auth)) return next();
    const isApi = path.startsWith(`${prefix}/api/`);
    if (isApi || (c.req.method !== "GET" && c.req.method !== "HEAD")) {
      c.header("WWW-Authenticate", 'Bearer realm="eft-footprint"');
      // Answered here, not thrown: the guard works in front of any app, whatever its onError.
      return errorResponse(c, new AppError("UNAUTHENTICATED", "log in first (session cookie or Bearer token)"));
    }
    const url = new URL(c.req.url);
    return c.redirect(`${auth.loginPath}?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
  };
}

export function isLoggedIn(c: Context, auth: ResolvedAuth): boolean {
  return (
    auth.signer.verify(getCookie(c, SESSION_COOKIE)) || matchesBearer(auth.credentials, c.req.header("authorization"))
  );
}
