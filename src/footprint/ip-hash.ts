// Pure JS and synchronous: Web Crypto's digest is async only, and a hash is needed while an event
// is built; node:crypto does not exist on Workers. Same SHA-256 and HMAC, so the same hashes.
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { EpochMicros } from "../time.ts";

/** SHA-256 hex of a client's IP and user agent under the salt of the day `at` falls on. */
export type IpHasher = (ip: string, userAgent: string, at: EpochMicros) => string;

export type IpHasherOptions = {
  /**
   * Derives each day's salt as HMAC-SHA256(secret, UTC date), so several processes (and restarts)
   * agree on the hashes of one day. Without it a random secret is made per process and never
   * leaves memory: hashes cannot be linked to an IP even by whoever reads every table.
   */
  secret?: string;
};

/**
 * Visitors are counted without storing who they are, as privacy-minded web analytics do: the same
 * IP and user agent give the same hash within a UTC day and an unrelated one the next day, and the
 * raw IP is never kept.
 *
 * @example
 * const ipHash = createIpHasher();
 * ipHash("203.0.113.7", "Mozilla/5.0 …", Date.now() * 1000); // 64 hex chars
 */
export function createIpHasher(options: IpHasherOptions = {}): IpHasher {
  // Drawn on the first hash, not here: Workers refuse random values in global scope, where an app
  // calls footprint() (e2e/runtimes.test.ts, workerd).
  let secret = options.secret === undefined ? undefined : utf8ToBytes(options.secret);
  let saltDay = -1;
  let salt = "";
  // A visitor makes many requests a day: their hash is kept for the day (bounded), not recomputed.
  const today = new Map<string, string>();
  return (ip, userAgent, at) => {
    const day = Math.floor(at / 86_400_000_000);
    if (day !== saltDay) {
      const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
      secret ??= utf8ToBytes(bytesToHex(crypto.getRandomValues(new Uint8Array(32))));
      salt = bytesToHex(hmac(sha256, secret, utf8ToBytes(date)));
      saltDay = day;
      today.clear();
    }
    // Separators keep ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart.
    const key = `${ip}\n${userAgent}`;
    let hash = today.get(key);
    if (hash === undefined) {
      hash = bytesToHex(sha256(utf8ToBytes(`${salt}\n${key}`)));
      if (today.size >= 10_000) today.clear();
      today.set(key, hash);
    }
    return hash;
  };
}
