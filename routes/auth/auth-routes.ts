import { type Context, Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { AppError } from "../../src/errors.ts";
import { answerAppError } from "../error-response.ts";
import { type LoginAttempt, matchesCredentials } from "./credentials.ts";
import { createFailureLimit } from "./failure-limit.ts";
import { renderLoginPage } from "./login-page.ts";
import { type AuthOptions, type ResolvedAuth, resolveAuthOptions } from "./options.ts";
import { isLoggedIn } from "./require-login.ts";
import { SESSION_COOKIE } from "./session.ts";

/**
 * `GET {prefix}/login` (the form; `?token=` logs in straight away, for the start-up link),
 * `POST {prefix}/api/v1/session` (JSON or form: token, or user + password) and
 * `DELETE {prefix}/api/v1/session` (log out). Mount at `/`: the paths include the prefix.
 *
 * A failed login is answered after a fixed delay, and an address with too many recent failures
 * gets 429 until the oldest ages out, so guessing is slow either way.
 */
export function authRoutes(options: AuthOptions): Hono {
  const auth = resolveAuthOptions(options);
  const limit = createFailureLimit(auth.maxFailures, auth.failureWindowMs, auth.now);
  const dashboard = `${auth.pathPrefix}/`;
  const page = (next: string, error?: string) =>
    renderLoginPage({
      sessionPath: auth.sessionPath,
      withToken: auth.credentials.token !== undefined,
      withPassword: auth.credentials.user !== undefined,
      next,
      error,
    });

  return new Hono()
    .onError(answerAppError)
    .get(auth.loginPath, async (c) => {
      const next = safeNext(c.req.query("next"), auth.pathPrefix) ?? dashboard;
      const token = c.req.query("token");
      if (token !== undefined) {
        const outcome = await attemptLogin(c, auth, limit, { token });
        if (outcome === "ok") return c.redirect(next, 303);
        return c.html(page(next, outcome === "limited" ? TOO_MANY : "That link's token is not valid."), 401);
      }
      if (isLoggedIn(c, auth)) return c.redirect(next, 303);
      c.header("Cache-Control", "no-store");
      return c.html(page(next));
    })
    .post(auth.sessionPath, async (c) => {
      const isJson = (c.req.header("content-type") ?? "").includes("application/json");
      const attempt = isJson ? await readJsonAttempt(c) : await readFormAttempt(c);
      if (!attempt) throw new AppError("BAD_REQUEST", "send JSON or a form with token, or user and password");
      const next = safeNext(attempt.next, auth.pathPrefix) ?? dashboard;
      const outcome = await attemptLogin(c, auth, limit, attempt);
      if (outcome === "ok") {
        return isJson
          ? c.json({ ok: true, expiresAt: new Date(attempt.expiresAt ?? 0).toISOString() })
          : c.redirect(next, 303);
      }
      if (outcome === "limited") {
        if (isJson) throw new AppError("TOO_MANY_ATTEMPTS", TOO_MANY);
        return c.html(page(next, TOO_MANY), 429);
      }
      if (isJson) throw new AppError("UNAUTHENTICATED", WRONG);
      return c.html(page(next, WRONG), 401);
    })
    .delete(auth.sessionPath, (c) => {
      deleteCookie(c, SESSION_COOKIE, { path: auth.pathPrefix, secure: isHttps(c) });
      return c.body(null, 204);
    });
}

const WRONG = "Wrong token, or wrong user or password.";
const TOO_MANY = "Too many failed attempts; wait a minute and try again.";

type Attempt = LoginAttempt & { next?: string | undefined; expiresAt?: number };

async function attemptLogin(
  c: Context,
  auth: ResolvedAuth,
  limit: ReturnType<typeof createFailureLimit>,
  attempt: Attempt,
): Promise<"ok" | "wrong" | "limited"> {
  const client = auth.clientAddress(c);
  const waitMs = limit.retryAfterMs(client);
  if (waitMs > 0) {
    c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
    return "limited";
  }
  if (!matchesCredentials(auth.credentials, attempt)) {
    limit.recordFailure(client);
    auth.logger?.warn("dashboard login failed", { client });
    await auth.sleep(auth.failureDelayMs);
    return "wrong";
  }
  limit.reset(client);
  const session = auth.signer.issue();
  attempt.expiresAt = session.expiresAt;
  setCookie(c, SESSION_COOKIE, session.value, {
    path: auth.pathPrefix,
    httpOnly: true,
    sameSite: "Lax",
    secure: isHttps(c),
    maxAge: Math.floor(auth.sessionTtlMs / 1000),
  });
  return "ok";
}

async function readJsonAttempt(c: Context): Promise<Attempt | undefined> {
  const body: unknown = await c.req.json().catch(() => undefined);
  if (!body || typeof body !== "object") return undefined;
  const pick = (k: string) => {
    const v = (body as Record<string, unknown>)[k];
    return typeof v === "string" ? v : undefined;
  };
  return { token: pick("token"), user: pick("user"), password: pick("password"), next: pick("next") };
}

async function readFormAttempt(c: Context): Promise<Attempt | undefined> {
  const form = await c.req.parseBody().catch(() => undefined);
  if (!form) return undefined;
  const pick = (k: string) => {
    const v = form[k];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  return { token: pick("token"), user: pick("user"), password: pick("password"), next: pick("next") };
}

/** Only our own pages: an absolute or protocol-relative `next` would be an open redirect. */
function safeNext(next: string | undefined, prefix: string): string | undefined {
  if (!next || !(next === prefix || next.startsWith(`${prefix}/`)) || next.includes("//") || next.includes("\\")) {
    return undefined;
  }
  return next;
}

function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https";
}
