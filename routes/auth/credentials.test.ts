import { describe, expect, test } from "bun:test";
import { matchesBearer, matchesCredentials, resolveCredentials } from "./credentials.ts";
import { createSessionSigner } from "./session.ts";

describe("resolveCredentials", () => {
  test("configured credentials are used as they are", () => {
    expect(resolveCredentials({ token: "a".repeat(16), user: "u", password: "p".repeat(8) })).toEqual({
      credentials: { token: "a".repeat(16), user: "u", password: "p".repeat(8) },
      generatedToken: undefined,
    });
    expect(resolveCredentials({ user: "u", password: "p".repeat(8) }).generatedToken).toBeUndefined();
  });

  test("with nothing configured a token is made up, so the dashboard is never open", () => {
    expect(resolveCredentials({}, () => "made-up")).toEqual({
      credentials: { token: "made-up" },
      generatedToken: "made-up",
    });
    const a = resolveCredentials({}).generatedToken ?? "";
    const b = resolveCredentials({}).generatedToken ?? "";
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe("matchesCredentials", () => {
  const creds = { token: "the-token-the-token", user: "admin", password: "correct horse" };
  test.each([
    [{ token: "the-token-the-token" }, true],
    [{ user: "admin", password: "correct horse" }, true],
    [{ token: "wrong", user: "admin", password: "correct horse" }, true],
    [{ token: "the-token-the-toke" }, false],
    [{ user: "admin" }, false],
    [{ user: "admin", password: "" }, false],
    [{ password: "correct horse" }, false],
    [{}, false],
  ])("%p → %p", (attempt, ok) => {
    expect(matchesCredentials(creds, attempt)).toBe(ok);
  });

  test("an empty attempt never matches credentials that lack a part", () => {
    expect(matchesCredentials({ token: "x".repeat(16) }, { user: "", password: "" })).toBe(false);
    expect(matchesCredentials({ user: "u", password: "p".repeat(8) }, { token: "" })).toBe(false);
  });

  test("Bearer", () => {
    expect(matchesBearer(creds, "Bearer the-token-the-token")).toBe(true);
    expect(matchesBearer(creds, "bearer the-token-the-token")).toBe(true);
    expect(matchesBearer(creds, "Basic the-token-the-token")).toBe(false);
    expect(matchesBearer(creds, undefined)).toBe(false);
    expect(matchesBearer({ user: "u", password: "p" }, "Bearer ")).toBe(false);
  });
});

describe("createSessionSigner", () => {
  test("a value verifies with its secret until it expires, and gives its session id", () => {
    let now = 1_000_000;
    const signer = createSessionSigner("k".repeat(32), 10_000, () => now);
    const { value, expiresAt, id } = signer.issue();
    expect(expiresAt).toBe(1_010_000);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(value).toBe(`1010.${id}.${value.split(".")[2]}`);
    expect(signer.verify(value)).toBe(id);
    // Another secret (a rotated SESSION_SECRET) refuses it.
    expect(createSessionSigner("j".repeat(32), 10_000, () => now).verify(value)).toBeUndefined();
    now = 1_009_999;
    expect(signer.verify(value)).toBe(id);
    now = 1_010_000;
    expect(signer.verify(value)).toBeUndefined();
  });

  test("two sessions differ", () => {
    const signer = createSessionSigner("k".repeat(32), 10_000);
    expect(signer.issue().value).not.toBe(signer.issue().value);
  });
});
