import { randomBytes } from "node:crypto";
import { safeEqual } from "./safe-equal.ts";

/** Who may log in: a token, a user and password, or both. At least one is always set. */
export type Credentials = Readonly<{ token?: string; user?: string; password?: string }>;

/** What a login form or request carries. */
export type LoginAttempt = { token?: string | undefined; user?: string | undefined; password?: string | undefined };

/**
 * The configured credentials, or — when none are configured — a token made up now, so the
 * dashboard is never open by accident (like Jupyter's start-up token). `generatedToken` tells the
 * caller to show it to the operator once.
 *
 * @example
 * const { credentials, generatedToken } = resolveCredentials(config.dashboard);
 */
export function resolveCredentials(
  configured: { token?: string | undefined; user?: string | undefined; password?: string | undefined },
  makeToken: () => string = () => randomBytes(24).toString("base64url"),
): { credentials: Credentials; generatedToken: string | undefined } {
  const credentials: { token?: string; user?: string; password?: string } = {};
  if (configured.token) credentials.token = configured.token;
  if (configured.user && configured.password) {
    credentials.user = configured.user;
    credentials.password = configured.password;
  }
  if (credentials.token || credentials.user) return { credentials, generatedToken: undefined };
  const token = makeToken();
  return { credentials: { token }, generatedToken: token };
}

/** True when the attempt names a configured token, or the configured user with its password. */
export function matchesCredentials(credentials: Credentials, attempt: LoginAttempt): boolean {
  // Each comparison runs whatever the others gave, so timing says nothing about which part was wrong.
  const tokenOk = credentials.token !== undefined && safeEqual(attempt.token ?? "", credentials.token);
  const userOk = credentials.user !== undefined && safeEqual(attempt.user ?? "", credentials.user);
  const passwordOk = credentials.password !== undefined && safeEqual(attempt.password ?? "", credentials.password);
  return tokenOk || (userOk && passwordOk);
}

/** True when `Authorization: Bearer <token>` carries the configured token. */
export function matchesBearer(credentials: Credentials, header: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m || credentials.token === undefined) return false;
  return safeEqual(m[1] as string, credentials.token);
}
