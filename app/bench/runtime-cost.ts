/**
 * What the footprint costs a request on whatever runtime runs this module (Bun, Node, Deno,
 * workerd): web-standard APIs only, and the package by its name, so each runtime loads its own
 * export. The same Hono app with and without `footprint()` + `httpRecorder`, requests through
 * `app.fetch` (no sockets: the socket's cost is the runtime's, not ours), rounds of each
 * alternated so both see the same machine. The recorder's POSTs go to a stub that answers 202 at
 * once: its batching and JSON are measured, the network is not.
 */
import { footprint, httpRecorder } from "eft-footprint";
import { Hono } from "hono";

export type CostApps = { on: Hono; off: Hono; sent(): number; stop(): Promise<void> };

export function createCostApps(): CostApps {
  const recorder = httpRecorder({
    url: "http://ingest.invalid/_footprint/api/v1/footprints",
    key: "bench",
    fetch: async () => new Response('{"event_ids":[]}', { status: 202 }),
  });
  const routes = (app: Hono) => app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
  const on = new Hono();
  on.use(footprint({ record: recorder.record }));
  return { on: routes(on), off: routes(new Hono()), sent: () => recorder.stats().sent, stop: () => recorder.stop() };
}

/** `n` requests one after the other, each body read (a footprint's size is known once it is). */
export async function runRequests(app: Hono, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await app.fetch(
      new Request(`http://bench.local/items/${i}?q=1`, { headers: { "user-agent": "bench" } }),
    );
    await res.text();
  }
}

export type CostResult = { offUs: number; onUs: number; rounds: number; perRound: number; sent: number };

/** Median µs a request of each app over `rounds` alternated rounds of `perRound` requests. */
export async function measureCost(rounds: number, perRound: number): Promise<CostResult> {
  const apps = createCostApps();
  await runRequests(apps.off, perRound); // warm-up: both paths compiled before any timing
  await runRequests(apps.on, perRound);
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const [app, into] of r % 2 === 0
      ? ([
          [apps.off, off],
          [apps.on, on],
        ] as const)
      : ([
          [apps.on, on],
          [apps.off, off],
        ] as const)) {
      const started = performance.now();
      await runRequests(app, perRound);
      into.push(((performance.now() - started) * 1000) / perRound);
    }
  }
  await apps.stop();
  return { offUs: median(off), onUs: median(on), rounds, perRound, sent: apps.sent() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
