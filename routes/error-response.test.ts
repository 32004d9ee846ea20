import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError } from "../src/errors.ts";
import { createMemoryLogger } from "../src/log.ts";
import { answerAppError, handleError } from "./error-response.ts";

/** A route factory's own Hono, as the routes build theirs. */
function routes(): Hono {
  return new Hono()
    .onError(answerAppError)
    .get("/rollup", () => {
      throw new AppError("ROLLUP_UNAVAILABLE", "raw rows only", [{ path: "source", message: "use source=raw" }]);
    })
    .get("/limited", (c) => {
      c.header("Retry-After", "30");
      throw new AppError("TOO_MANY_ATTEMPTS", "wait");
    })
    .get("/boom", () => {
      throw new Error("password=hunter2 at db:5432");
    })
    .get("/teapot", () => {
      throw new HTTPException(418, { message: "short and stout" });
    });
}

function app() {
  const logger = createMemoryLogger();
  const a = new Hono().route("/r", routes()).onError(handleError(logger));
  return { a, logger };
}

describe("the one error mapping", () => {
  test("an AppError is answered with its code's status and {error:{code,message,details}}", async () => {
    const res = await app().a.request("/r/rollup");
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(
      '{"error":{"code":"ROLLUP_UNAVAILABLE","message":"raw rows only","details":[{"path":"source","message":"use source=raw"}]}}',
    );
  });

  test("without details the body has none; headers set before the throw go with it", async () => {
    const res = await app().a.request("/r/limited");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(await res.text()).toBe('{"error":{"code":"TOO_MANY_ATTEMPTS","message":"wait"}}');
  });

  test("a route factory answers its AppErrors on its own, without the app's handler", async () => {
    const res = await routes().request("/limited");
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: "TOO_MANY_ATTEMPTS", message: "wait" } });
  });

  test("an unknown error is 500 INTERNAL, its message kept out of the answer and logged once", async () => {
    const { a, logger } = app();
    const res = await a.request("/r/boom");
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).toBe('{"error":{"code":"INTERNAL","message":"internal error"}}');
    expect(body).not.toContain("hunter2");
    expect(logger.lines).toEqual([
      expect.objectContaining({
        level: "error",
        msg: "request failed",
        method: "GET",
        path: "/r/boom",
        err: expect.objectContaining({ message: "password=hunter2 at db:5432" }),
      }),
    ]);
  });

  test("Hono's HTTPException is HTTP_ERROR with its own status and message, not logged", async () => {
    const { a, logger } = app();
    const res = await a.request("/r/teapot");
    expect(res.status).toBe(418);
    expect(await res.json()).toEqual({ error: { code: "HTTP_ERROR", message: "short and stout" } });
    expect(logger.lines).toEqual([]);
  });
});
