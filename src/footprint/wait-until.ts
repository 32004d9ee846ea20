import type { Context } from "hono";

/**
 * Hands a request's background `work` to the runtime's `c.executionCtx.waitUntil` where there is
 * one (Cloudflare Workers: without it the request's context ends with the response and the work,
 * its timers and fetches with it, is cancelled unseen); elsewhere nothing to do. Whether the
 * runtime gives requests an execution context is learnt from the first request (a runtime gives
 * one to every request or to none): Hono's getter throws when there is none, and an Error per
 * request costs microseconds.
 */
export function createWaitUntil(): (c: Context, work: () => Promise<unknown>) => void {
  let none = false;
  return (c, work) => {
    if (none) return;
    let ctx: { waitUntil?: unknown } | undefined;
    try {
      ctx = c.executionCtx as { waitUntil?: unknown } | undefined;
    } catch {
      ctx = undefined;
    }
    const waitUntil = ctx?.waitUntil;
    if (typeof waitUntil !== "function") {
      none = true;
      return;
    }
    waitUntil.call(ctx, work());
  };
}
