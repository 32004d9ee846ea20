/**
 * workerd, timed from outside as in runtime-cost-worker.ts: `GET /run?app=<name>&n=N` runs N
 * requests through that app
 * and answers with the wrong sizes so far.
 */
import { type BytesOutApps, createBytesOutApps, runBytesOutRequests } from "./bytes-out-cost.ts";

let apps: BytesOutApps | undefined;
export default {
  async fetch(request: Request): Promise<Response> {
    apps ??= createBytesOutApps();
    const url = new URL(request.url);
    const app = apps.apps[url.searchParams.get("app") ?? ""];
    if (!app) return new Response("no such app", { status: 400 });
    await runBytesOutRequests(app, Number(url.searchParams.get("n") ?? 1000));
    return Response.json({ wrong: apps.wrong() });
  },
};
