import { describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { createIpHasher } from "./ip-hash.ts";

const day = (iso: string) => Date.parse(iso) * 1000;

describe("createIpHasher", () => {
  test("same IP and user agent: same hash all UTC day, another one the next day", () => {
    const hash = createIpHasher();
    const morning = hash("203.0.113.7", "UA", day("2025-05-19T00:00:00Z"));
    expect(morning).toMatch(/^[0-9a-f]{64}$/);
    expect(hash("203.0.113.7", "UA", day("2025-05-19T23:59:59.999Z"))).toBe(morning);
    expect(hash("203.0.113.7", "UA", day("2025-05-20T00:00:00Z"))).not.toBe(morning);
    expect(hash("203.0.113.8", "UA", day("2025-05-19T12:00:00Z"))).not.toBe(morning);
    expect(hash("203.0.113.7", "UA2", day("2025-05-19T12:00:00Z"))).not.toBe(morning);
  });

  test("without a secret, two processes (hashers) never agree, so a hash cannot be looked up", () => {
    const at = day("2025-05-19T12:00:00Z");
    expect(createIpHasher()("203.0.113.7", "UA", at)).not.toBe(createIpHasher()("203.0.113.7", "UA", at));
  });

  test("with a secret the salt is HMAC(secret, date), shared by every process", () => {
    const at = day("2025-05-19T12:00:00Z");
    const secret = "a-shared-secret-of-some-length";
    const salt = createHmac("sha256", secret).update("2025-05-19").digest("hex");
    const expected = createHash("sha256").update(`${salt}\n203.0.113.7\nUA`).digest("hex");
    expect(createIpHasher({ secret })("203.0.113.7", "UA", at)).toBe(expected);
    expect(createIpHasher({ secret })("203.0.113.7", "UA", at)).toBe(expected);
  });

  test.each([
    ["a-shared-secret-of-some-length", "203.0.113.7", "UA", "2025-05-19T12:00:00Z"],
    // A secret longer than SHA-256's block is hashed first by HMAC; non-ASCII is hashed as UTF-8.
    ["s".repeat(100), "2001:db8::1", "Mozilla/5.0 (X11; Linux) ünïcødé ☃", "1999-12-31T23:59:59.999Z"],
    ["é", "", "", "2038-01-19T03:14:08Z"],
  ])("the same hash as node:crypto's SHA-256 and HMAC (secret %#)", (secret, ip, ua, iso) => {
    const date = iso.slice(0, 10);
    const salt = createHmac("sha256", secret).update(date).digest("hex");
    const expected = createHash("sha256").update(`${salt}\n${ip}\n${ua}`).digest("hex");
    expect(createIpHasher({ secret })(ip, ua, day(iso))).toBe(expected);
  });

  test("a fixed vector: hashes made before the move to a web-standard implementation still match", () => {
    // Computed with node:crypto when the hasher still used it.
    expect(createIpHasher({ secret: "fixed" })("198.51.100.1", "curl/8.0", day("2025-01-02T03:04:05Z"))).toBe(
      "42bf324f3a5ebd3fb2c6f2961d3e20b583a3fd03156b6d2c3d29cc0325f38bd2",
    );
  });
});
