import { INGEST_KEY_HEADER, INGEST_PATH } from "../../routes/ingest.ts";
import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import type { StoreName } from "../../src/store/store.ts";
import { formatZoned } from "../../src/time.ts";
import type { BenchStores } from "./bench-databases.ts";
import { type CpuTarget, perUnit, startCpuSample } from "./cpu.ts";
import { countBoth } from "./pipeline.ts";
import { startProgress } from "./progress.ts";
import { startSelf } from "./self-process.ts";
import { round, summarize } from "./summary.ts";

export type IngestStep = {
  targetPerSecond: number;
  seconds: number;
  sent: number;
  failed: number;
  /** HTTP requests answered per second during the step. */
  httpPerSecond: number;
  /** Rows stored per second from the step's first request until its last row was visible. */
  storedPerSecond: Record<StoreName, number>;
  /** Request sent → row counted by that store's count query; ms. */
  freshness: Record<StoreName, { p50: number; p95: number }>;
  /** Whether every row was visible in both stores within `drainSeconds` after the step's end. */
  drained: boolean;
  sustained: boolean;
  /** Events per HTTP request: 1 through the footprint middleware, the batch size through the ingest endpoint. */
  eventsPerRequest?: number;
  /** CPU µs per event of each process, from the step's start until both stores held every event. */
  cpuMicrosPerEvent?: Record<string, number>;
};

const PATHS = ["/api/v1/items", "/api/v1/items/ledx", "/api/v1/quests/7", "/api/v1/quests", "/api/v1/maps/customs"];
const INGEST_KEY = "bench-ingest-key-0123456789";
const PATH_PREFIX = "/_footprint";

export type IngestOptions = {
  /** How long after a step's last request every row must be visible in both stores. */
  drainSeconds?: number;
  /** Events per POST to the ingest endpoint; absent: one GET of a demo page per event (the middleware). */
  batch?: number;
  /** Processes whose CPU each step measures besides serve (Kafka, the stores). */
  cpu?: Record<string, CpuTarget | undefined>;
};

/** Sends request `i` of a step: one demo page (one footprint), or one batch of seed-format events. */
type Sender = { eventsPerRequest: number; send(i: number): Promise<Response> };

function senderFor(url: string, batch: number | undefined, timeZone: string): Sender {
  if (!batch) return { eventsPerRequest: 1, send: (i) => fetch(new URL(PATHS[i % PATHS.length] as string, url)) };
  const endpoint = new URL(`${PATH_PREFIX}${INGEST_PATH}`, url);
  // Seed-format events (method, link, footprint_time with the zone's offset), a few bodies reused.
  const bodies = Array.from({ length: 8 }, (_, b) => {
    const stamp = formatZoned(Date.now() * 1000, timeZone);
    return JSON.stringify(
      Array.from({ length: batch }, (_, i) => ({
        method: "GET",
        link: `${PATHS[(b + i) % PATHS.length]}`,
        footprint_time: stamp,
      })),
    );
  });
  return {
    eventsPerRequest: batch,
    send: (i) =>
      fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", [INGEST_KEY_HEADER]: INGEST_KEY },
        body: bodies[i % bodies.length],
      }),
  };
}

/**
 * The real path under a steady load, each rate (events/s) for `seconds`, rates increasing until
 * one is not sustained: HTTP → footprint middleware (or the ingest endpoint) → Kafka → consumer
 * (in serve) → both stores. Freshness of an event: the first count poll (every 100 ms) showing as
 * many rows as had been sent up to and including its request, minus the request's send time (rows
 * may reach a store slightly out of order: an estimate within the poll interval).
 */
export async function benchIngest(
  config: Config,
  topic: { topic: string; groupId: string },
  stores: BenchStores,
  rates: readonly number[],
  seconds: number,
  o: IngestOptions = {},
): Promise<IngestStep[]> {
  const serve = await startSelf(config, {
    args: ["serve", "--demo"],
    ...topic,
    stores,
    env: o.batch ? { INGEST_KEYS: INGEST_KEY, PATH_PREFIX } : {},
  });
  const steps: IngestStep[] = [];
  try {
    // Until the consumer has joined, nothing becomes visible: one request, waited for.
    await fetch(new URL("/api/v1/items", serve.url));
    const deadline = Date.now() + 60_000;
    for (let c = await countBoth(stores); c.postgres < 1 || c.clickhouse < 1; c = await countBoth(stores)) {
      if (Date.now() > deadline) throw new Error("the pipeline stored nothing within 60 s of the first request");
      await sleep(200);
    }
    const sender = senderFor(serve.url, o.batch, config.timeZone);
    const cpu = { serve: { pid: serve.pid }, ...o.cpu };
    for (const rate of rates) {
      const step = await runStep(sender, stores, rate, seconds, o.drainSeconds ?? 10, cpu);
      steps.push(step);
      if (!step.sustained) break;
    }
  } finally {
    await serve.stop();
  }
  return steps;
}

type Poll = { t: number; postgres: number; clickhouse: number };

/** Counts both stores every 100 ms until stopped: the moments rows became visible. */
function pollCounts(stores: BenchStores, base: { postgres: number; clickhouse: number }) {
  const polls: Poll[] = [];
  let polling = true;
  const done = (async () => {
    while (polling) {
      const c = await countBoth(stores);
      polls.push({
        t: performance.now(),
        postgres: c.postgres - base.postgres,
        clickhouse: c.clickhouse - base.clickhouse,
      });
      await sleep(100);
    }
  })();
  return {
    polls,
    stop: async () => {
      polling = false;
      await done;
    },
  };
}

/** Sends `total` requests at `perSecond`, at most 256 in flight; resolves once all are answered. */
async function sendAtRate(
  sender: Sender,
  total: number,
  perSecond: number,
  sentAt: Float64Array,
  onSent: (n: number) => void,
) {
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const started = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond) + 1);
    while (sent < due && inFlight < 256) {
      const i = sent++;
      sentAt[i] = performance.now();
      inFlight++;
      sender
        .send(i)
        .then((r) => {
          if (r.status >= 400) failed++;
          return r.arrayBuffer();
        })
        .catch(() => failed++)
        .finally(() => {
          inFlight--;
          answered++;
        });
    }
    onSent(sent);
    await sleep(sent < due ? 1 : 5);
  }
  while (inFlight > 0) await sleep(5);
  return { answered, failed, seconds: (performance.now() - started) / 1000, started };
}

async function runStep(
  sender: Sender,
  stores: BenchStores,
  rate: number,
  seconds: number,
  drainSeconds: number,
  cpuTargets: Record<string, CpuTarget | undefined>,
): Promise<IngestStep> {
  const k = sender.eventsPerRequest;
  const base = await countBoth(stores);
  const requests = Math.max(1, Math.round((rate * seconds) / k));
  const total = requests * k;
  const sentAt = new Float64Array(requests);
  const cpu = startCpuSample(cpuTargets);
  const poller = pollCounts(stores, base);
  const progress = startProgress(
    `ingest ${rate.toLocaleString("en-US")}/s${k > 1 ? ` (POSTs of ${k})` : ""}`,
    requests,
  );
  const http = await sendAtRate(sender, requests, rate / k, sentAt, (n) => progress.tick(n));
  const endedAt = performance.now();
  const { polls } = poller;
  while (performance.now() - endedAt < drainSeconds * 1000) {
    const last = polls[polls.length - 1];
    if (last && last.postgres >= total && last.clickhouse >= total) break;
    await sleep(50);
  }
  const cpuUsed = cpu.stop();
  await poller.stop();
  const last = polls[polls.length - 1] ?? { t: 0, postgres: 0, clickhouse: 0 };
  const drained = last.postgres >= total && last.clickhouse >= total;
  const per = (store: StoreName) => {
    const lags: number[] = [];
    let p = 0;
    for (let j = 0; j < requests; j++) {
      while (p < polls.length && (polls[p] as Poll)[store] < (j + 1) * k) p++;
      if (p === polls.length) break;
      const lag = (polls[p] as Poll).t - (sentAt[j] as number);
      for (let e = 0; e < k; e++) lags.push(lag);
    }
    const done = polls.find((x) => x[store] >= total);
    const s = summarize(lags);
    const since = (t: number) => (t - http.started) / 1000;
    return {
      freshness: { p50: round(s.median, 0), p95: round(s.p95, 0) },
      rate: done ? round(total / since(done.t), 0) : round(last[store] / since(last.t), 0),
    };
  };
  const pg = per("postgres");
  const ch = per("clickhouse");
  const httpPerSecond = round((http.answered * k) / http.seconds, 0);
  const sustained =
    drained && http.failed === 0 && httpPerSecond >= rate * 0.9 && pg.freshness.p95 < 5000 && ch.freshness.p95 < 5000;
  progress.end(`${httpPerSecond}/s answered; freshness p95 PG ${pg.freshness.p95} ms, CH ${ch.freshness.p95} ms`);
  return {
    targetPerSecond: rate,
    seconds,
    sent: total,
    failed: http.failed * k,
    httpPerSecond,
    storedPerSecond: { postgres: pg.rate, clickhouse: ch.rate },
    freshness: { postgres: pg.freshness, clickhouse: ch.freshness },
    drained,
    sustained,
    eventsPerRequest: k,
    cpuMicrosPerEvent: perUnit(cpuUsed, total),
  };
}
