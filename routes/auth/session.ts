import { createHmac, randomBytes } from "node:crypto";
import { safeEqual } from "./safe-equal.ts";

export const SESSION_COOKIE = "eft_session";

export type SessionSigner = {
  /** A new cookie value valid until `now + ttl`; also returns that expiry (epoch ms). */
  issue(): { value: string; expiresAt: number };
  /** True when `value` was issued with this secret and has not expired. */
  verify(value: string | undefined): boolean;
};

/**
 * Stateless sessions: the cookie is `<expires epoch s>.<nonce>.<HMAC-SHA256 of both>`, so any
 * process holding SESSION_SECRET accepts it and nothing is stored. A changed secret ends every
 * session; a single session cannot be revoked before it expires (logout clears the cookie).
 * Hand-written rather than Hono's setSignedCookie/getSignedCookie: those sign the value only, and a
 * cookie's Max-Age is the browser's to honour; here the expiry is inside what is signed, so the
 * server itself refuses an old cookie.
 */
export function createSessionSigner(secret: string, ttlMs: number, now: () => number = Date.now): SessionSigner {
  const sign = (payload: string) => createHmac("sha256", secret).update(`v1.${payload}`).digest("base64url");
  return {
    issue() {
      const expiresAt = Math.floor((now() + ttlMs) / 1000) * 1000;
      const payload = `${expiresAt / 1000}.${randomBytes(12).toString("base64url")}`;
      return { value: `${payload}.${sign(payload)}`, expiresAt };
    },
    verify(value) {
      const m = /^(\d{1,12})\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{1,128})$/.exec(value ?? "");
      if (!m) return false;
      const payload = `${m[1]}.${m[2]}`;
      // Signature first: an expiry is only believed once it is known to be ours.
      return safeEqual(m[3] as string, sign(payload)) && Number(m[1]) * 1000 > now();
    },
  };
}
