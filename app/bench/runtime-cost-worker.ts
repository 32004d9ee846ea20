/**
 * workerd: a Worker's clock stands still while it computes (timers move only across I/O), so the
 * time is taken outside: `GET /run?app=on|off&n=N` runs N requests through that app and answers
 * when done; app/bench/runtimes.ts times each call from Node and divides by N.
 */
import { createCostApps, runRequests } from "./runtime-cost.ts";

let apps: ReturnType<typeof createCostApps> | undefined;
export default {
  async fetch(request: Request): Promise<Response> {
    apps ??= createCostApps(); // not in global scope: workerd refuses random values and timers there
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? 1000);
    await runRequests(url.searchParams.get("app") === "on" ? apps.on : apps.off, n);
    return Response.json({ sent: apps.sent() });
  },
};
