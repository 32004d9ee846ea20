import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { AppError } from "../../src/errors.ts";
import { answerAppError } from "../error-response.ts";
import { type LoginAttempt, matchesCredentials } from "./credentials.ts";
import { LOGIN_CSS, renderLoginPage } from "./login-page.ts";
import { type AuthOptions, isHttps, type ResolvedAuth, resolveAuthOptions } from "./options.ts";
import { isLoggedIn } from "./require-login.ts";
import { SESSION_COOKIE } from "./session.ts";

/**
 * `GET {prefix}/login` (the form; `?token=` logs in straight away, for the start-up link) and its
 * stylesheet `GET {prefix}/login.css`, `POST {prefix}/api/v1/session` (JSON or form: token, or
 * user + password), `DELETE {prefix}/api/v1/session` (log out: the session ends on the server too)
 * and `DELETE {prefix}/api/v1/sessions` (end every session; needs a login, which requireLogin
 * checks). Mount at `/`, behind requireLogin: the paths include the prefix.
 *
 * A failed login is answered after a fixed delay; an address with too many recent failures, and the
 * user (password logins) with too many from all addresses together, get 429 until the oldest
 * failure ages out, so guessing is slow either way.
 */
export function authRoutes(options: AuthOptions): Hono {
  const auth = resolveAuthOptions(options);
  const dashboard = `${auth.pathPrefix}/`;
  const page = (next: string, error?: string) =>
    renderLoginPage({
      sessionPath: auth.sessionPath,
      cssPath: auth.loginCssPath,
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
      c.header("Cache-Control", "no-store");
      if (token !== undefined) {
        const outcome = await attemptLogin(c, auth, { token });
        if (outcome.ok) return c.redirect(next, 303);
        return c.html(page(next, outcome.limited ? TOO_MANY : "That link's token is not valid."), outcome.status);
      }
      // A store that does not answer shows the form: logging in says what is wrong.
      if (await isLoggedIn(c, auth).catch(() => false)) return c.redirect(next, 303);
      return c.html(page(next));
    })
    .get(auth.loginCssPath, (c) => {
      c.header("Content-Type", "text/css; charset=utf-8");
      c.header("Cache-Control", "no-cache");
      return c.body(LOGIN_CSS);
    })
    .post(auth.sessionPath, async (c) => {
      const isJson = (c.req.header("content-type") ?? "").includes("application/json");
      const attempt = isJson ? await readJsonAttempt(c) : await readFormAttempt(c);
      if (!attempt) throw new AppError("BAD_REQUEST", "send JSON or a form with token, or user and password");
      const next = safeNext(attempt.next, auth.pathPrefix) ?? dashboard;
      const outcome = await attemptLogin(c, auth, attempt).catch((err: unknown) => {
        // The form is shown again with the problem; JSON callers get the error itself.
        if (isJson || !(err instanceof AppError)) throw err;
        return { ok: false, limited: false, status: err.status as 503, error: err } as const;
      });
      if (outcome.ok) {
        return isJson
          ? c.json({ ok: true, expiresAt: new Date(outcome.expiresAt).toISOString() })
          : c.redirect(next, 303);
      }
      if (isJson) throw outcome.error;
      const message = outcome.limited ? TOO_MANY : outcome.status === 401 ? WRONG : UNAVAILABLE;
      return c.html(page(next, message), outcome.status);
    })
    .delete(auth.sessionPath, async (c) => {
      const id = auth.signer.verify(getCookie(c, SESSION_COOKIE));
      // The cookie goes even when the store fails (503 with the Set-Cookie): this browser is
      // logged out either way, and the answer says the session itself may still be valid.
      deleteCookie(c, SESSION_COOKIE, { path: auth.pathPrefix, secure: isHttps(c, auth.trustProxyHops) });
      if (id !== undefined) await auth.sessions.remove(id);
      return c.body(null, 204);
    })
    .delete(auth.sessionsPath, async (c) => {
      const ended = await auth.sessions.removeAll();
      auth.logger?.warn("every dashboard session ended", { ended, client: auth.clientAddress(c) });
      deleteCookie(c, SESSION_COOKIE, { path: auth.pathPrefix, secure: isHttps(c, auth.trustProxyHops) });
      return c.json({ ended });
    });
}

const WRONG = "Wrong token, or wrong user or password.";
const TOO_MANY = "Too many failed attempts; wait a few minutes and try again.";
const UNAVAILABLE = "Logging in is not possible right now: the session store does not answer. Try again shortly.";

type Attempt = LoginAttempt & { next?: string | undefined };
type Outcome =
  | { ok: true; expiresAt: number }
  | { ok: false; limited: boolean; status: 401 | 429 | 503; error: AppError };

/**
 * The accounts an attempt tries, for the per-account limit: the one DASHBOARD_USER, whatever user
 * name was typed, so a 429 never tells a right name from a wrong one. The token is no account: it
 * is long and random (not guessed by a few thousand tries a day, which is what the account limit
 * is against), and API clients use it, whom anybody could otherwise lock out with 20 bad tries.
 */
function accountsOf(attempt: LoginAttempt): string[] {
  return attempt.user !== undefined || attempt.password !== undefined ? ["user"] : [];
}

async function attemptLogin(c: Context, auth: ResolvedAuth, attempt: Attempt): Promise<Outcome> {
  const client = auth.clientAddress(c);
  const accounts = accountsOf(attempt);
  const accountWaits = await Promise.all(accounts.map((a) => auth.accountFailures.retryAfterMs(a)));
  const waitMs = Math.max(auth.addressLimit.retryAfterMs(client), ...accountWaits);
  if (waitMs > 0) {
    c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
    return { ok: false, limited: true, status: 429, error: new AppError("TOO_MANY_ATTEMPTS", TOO_MANY) };
  }
  if (!matchesCredentials(auth.credentials, attempt)) {
    auth.addressLimit.recordFailure(client);
    await Promise.all(accounts.map((a) => auth.accountFailures.recordFailure(a)));
    auth.logger?.warn("dashboard login failed", { client, accounts });
    await auth.sleep(auth.failureDelayMs);
    return { ok: false, limited: false, status: 401, error: new AppError("UNAUTHENTICATED", WRONG) };
  }
  // Account counts are not reset: they age out, so a success by one client does not give a
  // guesser elsewhere a fresh allowance.
  auth.addressLimit.reset(client);
  const session = auth.signer.issue();
  await auth.sessions.add(session.id, session.expiresAt);
  setCookie(c, SESSION_COOKIE, session.value, {
    path: auth.pathPrefix,
    httpOnly: true,
    // Lax, not Strict: a link to the dashboard from elsewhere still arrives logged in, while the
    // cookie never rides on another site's POST or DELETE (or its fetches).
    sameSite: "Lax",
    secure: isHttps(c, auth.trustProxyHops),
    maxAge: Math.floor(auth.sessionTtlMs / 1000),
  });
  return { ok: true, expiresAt: session.expiresAt };
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
