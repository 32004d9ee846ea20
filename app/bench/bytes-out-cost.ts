/**
 * Ways the footprint could learn a response's size when it has no Content-Length (Hono's c.json
 * and c.text set none), each alone as a middleware on the same Hono app, against the app without
 * one, through `app.fetch` on whatever runtime runs this module (`bun app/bench/runtimes.ts
 * --bytes-out`). Every size is checked against the body sent; `wrong` counts the mismatches.
 */
import { countBytes } from "eft-footprint";
import { Hono, type MiddlewareHandler } from "hono";

/** A candidate: the response to send instead (when it wraps the body) and a promise of its size. */
type Measure = (res: Response) => { res?: Response; size: Promise<number> };

const candidates: Record<string, Measure> = {
  /** What src/footprint/middleware.ts does off Bun: a clone, read into memory alongside. */
  "clone().blob()": (res) => ({
    size: res
      .clone()
      .blob()
      .then((b) => b.size),
  }),
  "clone().arrayBuffer()": (res) => ({
    size: res
      .clone()
      .arrayBuffer()
      .then((b) => b.byteLength),
  }),
  /** The body behind a pull stream that counts what the client reads (middleware.ts's countBytes). */
  countBytes: (res) => {
    if (res.body === null) return { size: Promise.resolve(0) };
    const { body, total } = countBytes(res.body);
    return { res: new Response(body, res), size: total };
  },
  /** The body piped through a counting TransformStream. */
  TransformStream: (res) => {
    if (res.body === null) return { size: Promise.resolve(0) };
    let n = 0;
    let resolve: (n: number) => void = () => {};
    const size = new Promise<number>((r) => {
      resolve = r;
    });
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        n += chunk.byteLength;
        controller.enqueue(chunk);
      },
      flush: () => resolve(n),
    });
    return { res: new Response(res.body.pipeThrough(counter), res), size };
  },
};

export type BytesOutApps = { apps: Record<string, Hono>; wrong(): number };

export function createBytesOutApps(): BytesOutApps {
  let wrong = 0;
  const routes = (app: Hono) => app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
  const apps: Record<string, Hono> = { none: routes(new Hono()) };
  for (const [name, measure] of Object.entries(candidates)) {
    const middleware: MiddlewareHandler = async (c, next) => {
      await next();
      const expected = new TextEncoder().encode(JSON.stringify({ id: c.req.param("id") })).length;
      const { res, size } = measure(c.res);
      if (res) c.res = res;
      size.then((n) => {
        if (n !== expected) wrong++;
      });
    };
    apps[name] = routes(new Hono().use(middleware));
  }
  return { apps, wrong: () => wrong };
}

/** `n` requests one after the other, each body read (as a client would). */
export async function runBytesOutRequests(app: Hono, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await app.fetch(new Request(`http://bench.local/items/${i}`));
    await res.text();
  }
}

export type BytesOutResult = { us: Record<string, number>; wrong: number };

/** Median µs a request of each app over `rounds` rounds of `perRound` requests, order alternated. */
export async function measureBytesOut(rounds: number, perRound: number): Promise<BytesOutResult> {
  const { apps, wrong } = createBytesOutApps();
  const names = Object.keys(apps);
  for (const name of names) await runBytesOutRequests(apps[name] as Hono, perRound);
  const times = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? names : [...names].reverse()) {
      const started = performance.now();
      await runBytesOutRequests(apps[name] as Hono, perRound);
      times.get(name)?.push(((performance.now() - started) * 1000) / perRound);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 10)); // the last sizes settle
  return { us: Object.fromEntries(names.map((name) => [name, median(times.get(name) ?? [])])), wrong: wrong() };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
