import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError, toErrorBody } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";

/**
 * The one way an error becomes an HTTP answer: its status and `{error:{code,message,details}}`.
 * Headers already set on `c` (WWW-Authenticate, Retry-After) go with it.
 */
export function errorResponse(c: Context, err: AppError): Response {
  return c.json(toErrorBody(err), err.status as ContentfulStatusCode);
}

/**
 * `app.onError` of the whole app: an AppError (or Hono's HTTPException, as HTTP_ERROR) as its
 * JSON; anything else is logged here, once, and answered 500 INTERNAL without its message, which
 * may hold what a client should not see.
 *
 * @example
 * app.onError(handleError(logger));
 */
export function handleError(logger: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof AppError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      return errorResponse(c, new AppError("HTTP_ERROR", err.message, undefined, { status: err.status, cause: err }));
    }
    logger.error("request failed", { err, method: c.req.method, path: c.req.path });
    return errorResponse(c, new AppError("INTERNAL", "internal error", undefined, { cause: err }));
  };
}

/**
 * `onError` of a route factory's own Hono, so that the factory answers its AppErrors on its own
 * too (tests mount it without createApp). Anything else goes on to the app's `handleError`, which
 * logs it: one place logs, and a factory needs no logger for it.
 *
 * @example
 * return new Hono().onError(answerAppError).get("/x", () => { throw new AppError("NOT_FOUND", "no x"); });
 */
export const answerAppError: ErrorHandler = (err, c) => {
  if (err instanceof AppError) return errorResponse(c, err);
  throw err;
};
