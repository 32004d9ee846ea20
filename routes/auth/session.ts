import { createHmac, randomBytes } from "node:crypto";
import { safeEqual } from "./safe-equal.ts";

export const SESSION_COOKIE = "eft_session";

export type SessionSigner = {
  /** A new cookie value valid until `now + ttl`, its expiry (epoch ms) and its session id. */
  issue(): { value: string; expiresAt: number; id: string };
  /** The session id when `value` was issued with this secret and has not expired; else undefined. */
  verify(value: string | undefined): string | undefined;
};

/**
 * The session cookie is `<expires epoch s>.<session id>.<HMAC-SHA256 of both>`. The signature
 * means a changed SESSION_SECRET ends every session, and a forged or tampered cookie is refused
 * before any store is asked; the session id must then also be in the session store (session-store.ts),
 * which is what lets a logout or a revocation end a session before it expires.
 * Hand-written rather than Hono's setSignedCookie/getSignedCookie: those sign the value only, and a
 * cookie's Max-Age is the browser's to honour; here the expiry is inside what is signed, so the
 * server itself refuses an old cookie.
 */
export function createSessionSigner(secret: string, ttlMs: number, now: () => number = Date.now): SessionSigner {
  const sign = (payload: string) => createHmac("sha256", secret).update(`v1.${payload}`).digest("base64url");
  return {
    issue() {
      const expiresAt = Math.floor((now() + ttlMs) / 1000) * 1000;
      const id = randomBytes(16).toString("base64url");
      const payload = `${expiresAt / 1000}.${id}`;
      return { value: `${payload}.${sign(payload)}`, expiresAt, id };
    },
    verify(value) {
      const m = /^(\d{1,12})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,128})$/.exec(value ?? "");
      if (!m) return undefined;
      const payload = `${m[1]}.${m[2]}`;
      // Signature first: an expiry is only believed once it is known to be ours.
      return safeEqual(m[3] as string, sign(payload)) && Number(m[1]) * 1000 > now() ? m[2] : undefined;
    },
  };
}
