import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares two secrets in time that does not depend on where they differ: both are hashed first,
 * so `timingSafeEqual` always sees two 32-byte digests and the length of the secret leaks neither.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
