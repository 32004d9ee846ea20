import { describe, expect, test } from "bun:test";
import { API_ERROR_CODES, AppError, ERROR_CODES, toErrorBody } from "./errors.ts";

describe("error codes", () => {
  test("each code is its own name in capitals, with an HTTP error status and a one-line meaning", () => {
    for (const [code, { status, meaning }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(status >= 400 && status <= 599).toBe(true);
      expect(meaning.length).toBeGreaterThan(10);
      expect(meaning).not.toContain("\n");
    }
  });

  test("the API's codes are the ones marked api, the CLI's and the dead letters' are not", () => {
    expect(API_ERROR_CODES).toContain("NOT_FOUND");
    expect(API_ERROR_CODES).toContain("STORE_UNAVAILABLE");
    expect(API_ERROR_CODES).not.toContain("USAGE");
    expect(API_ERROR_CODES).not.toContain("MESSAGE_INVALID");
  });

  test("an AppError takes its status from its code unless it carries its own", () => {
    expect(new AppError("INGEST_KEY_INVALID", "no").status).toBe(401);
    expect(new AppError("HTTP_ERROR", "teapot", undefined, { status: 418 }).status).toBe(418);
  });

  test("its JSON holds details only when there are some", () => {
    expect(toErrorBody(new AppError("NOT_FOUND", "no asset x"))).toStrictEqual({
      error: { code: "NOT_FOUND", message: "no asset x" },
    });
    expect(toErrorBody(new AppError("BAD_REQUEST", "bad", [{ path: "from" }]))).toStrictEqual({
      error: { code: "BAD_REQUEST", message: "bad", details: [{ path: "from" }] },
    });
  });
});
