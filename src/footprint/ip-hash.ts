import { createHash, createHmac, randomBytes } from "node:crypto";
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
  const secret = options.secret ?? randomBytes(32).toString("hex");
  let saltDay = -1;
  let salt = "";
  // A visitor makes many requests a day: their hash is kept for the day (bounded), not recomputed.
  const today = new Map<string, string>();
  return (ip, userAgent, at) => {
    const day = Math.floor(at / 86_400_000_000);
    if (day !== saltDay) {
      const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
      salt = createHmac("sha256", secret).update(date).digest("hex");
      saltDay = day;
      today.clear();
    }
    // Separators keep ("1.2.3.4", "5x") and ("1.2.3.45", "x") apart.
    const key = `${ip}\n${userAgent}`;
    let hash = today.get(key);
    if (hash === undefined) {
      hash = createHash("sha256").update(`${salt}\n${key}`).digest("hex");
      if (today.size >= 10_000) today.clear();
      today.set(key, hash);
    }
    return hash;
  };
}
