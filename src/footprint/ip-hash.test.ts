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
});
