/**
 * The soak: the compiled binary at a steady load for a long while, with a fault every few minutes,
 * watched every few seconds (memory, open files, spool, lag, counts). On a stack of its own
 * (EFT_SOAK_STACK_DIR, default `<EFT_STACK_DIR>-soak`), never the shared one. Run by
 * e2e/soak.test.ts (10 minutes, CI) and scripts/soak.ts (opt-in, e.g. 60 minutes).
 */
import type { RunningBinary } from "./binary.ts";
import {
  bothStoresHold,
  createWorld,
  type FaultStack,
  type Load,
  metricValue,
  type ServiceName,
  startConsumer,
  startFaultStack,
  startLoad,
  startSite,
  type World,
} from "./fault-stack.ts";
import { type IngestClient, SOAK_INGEST_KEY, startIngest } from "./soak-ingest.ts";
import { dirBytes, metricSum, processSample, type Sample, scrapeMetrics } from "./soak-sample.ts";

/**
 * In this order: the kill first, so that consume's last process lives through most of the run; Kafka
 * second, so that the backlog its outage leaves is drained well before the end.
 */
export const SOAK_FAULTS = ["consume-kill", "kafka", "postgres", "clickhouse"] as const;
export type SoakFaultName = (typeof SOAK_FAULTS)[number];

export type SoakOptions = {
  minutes: number;
  /** A fault every so many minutes, the next of `faults` in turn (the first after one interval). */
  faultEveryMinutes: number;
  faults: readonly SoakFaultName[];
  sampleSeconds: number;
  /** Demo requests per second (each one footprint). */
  demoRate: number;
  /** Events per ingest POST, one POST every 500 ms. */
  ingestBatch: number;
  /** How long a stopped service stays down. */
  outageSeconds: number;
  log: (line: string) => void;
};

/** The CI run's settings; scripts/soak.ts and EFT_SOAK_* change some. */
export const SOAK_DEFAULTS: Omit<SoakOptions, "log"> = {
  minutes: 10,
  faultEveryMinutes: 2,
  faults: SOAK_FAULTS,
  sampleSeconds: 10,
  demoRate: 50,
  ingestBatch: 10,
  outageSeconds: 20,
};

export type SoakFault = {
  name: SoakFaultName;
  /** Seconds since the start when it was applied and when it was undone. */
  at: number;
  undoneAt: number;
  /** From undoing it until both stores held every event sent up to then (undefined: not within 180 s). */
  recoveryMs: number | undefined;
  note: string;
};

export type SoakResult = {
  options: Omit<SoakOptions, "log">;
  startedAt: string;
  samples: Sample[];
  faults: SoakFault[];
  sent: { demo: number; ingest: number; total: number };
  failedRequests: string[];
  ingestRetries: number;
  counts: { postgres: number; clickhouse: number; pgDuplicates: number; chDuplicates: number };
  /** From the end of the load until both stores held everything (undefined: not within the timeout). */
  drainMs: number | undefined;
  dropped: number;
  spooled: number;
  /** Why the run ended early (a fault could not be applied or undone): then it fails. */
  error?: string;
};

export function soakStackDir(env: Record<string, string | undefined> = process.env): string {
  if (env.EFT_SOAK_STACK_DIR) return env.EFT_SOAK_STACK_DIR;
  return env.EFT_STACK_DIR ? `${env.EFT_STACK_DIR.replace(/\/$/, "")}-soak` : "/tmp/eft-footprint-soak";
}

/** What a fault and the sampler need to reach: the processes change as consumers are killed. */
type Soak = {
  options: SoakOptions;
  stack: FaultStack;
  world: World;
  serve: RunningBinary;
  consume: RunningBinary;
  consumeInstance: number;
  load: Load;
  ingest: IngestClient;
  started: number;
  /** Set when a fault could not be applied or undone: the sampler stops too. */
  aborted: boolean;
};

const seconds = (soak: Soak) => (Date.now() - soak.started) / 1000;
const sentSoFar = (soak: Soak) => soak.load.sent + soak.ingest.accepted;

/** `p`'s value, or undefined when it fails or takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: Timer | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const consumeMetricsUrl = (c: RunningBinary) => {
  const line = c.lines.find((x) => x.msg === "metrics listening");
  return line ? String(line.url) : undefined;
};

export async function takeSample(soak: Soak): Promise<Sample> {
  const { serve, consume, world } = soak;
  const [serveMetrics, consumeMetrics, postgres, clickhouse] = await Promise.all([
    scrapeMetrics(`${serve.url}/metrics`),
    scrapeMetrics(consumeMetricsUrl(consume)),
    within(world.count("postgres"), 3000),
    within(world.count("clickhouse"), 3000),
  ]);
  return {
    t: seconds(soak),
    serve: processSample(serve.pid, serveMetrics),
    consume: processSample(consume.pid, consumeMetrics),
    consumeInstance: soak.consumeInstance,
    spoolBytes: dirBytes(world.spoolDir),
    spoolUnsentBytes: metricSum(serveMetrics, "eft_spool_bytes"),
    lag: {
      postgres: metricSum(consumeMetrics, "eft_consumer_lag", 'sink="postgres"'),
      clickhouse: metricSum(consumeMetrics, "eft_consumer_lag", 'sink="clickhouse"'),
    },
    sent: sentSoFar(soak),
    stored: { postgres, clickhouse },
  };
}

/** Until both stores hold at least `n` events; the time it took, or undefined after `timeoutMs`. */
const bothHold = (world: World, n: number, timeoutMs: number) =>
  bothStoresHold(world, n, timeoutMs, 500).catch(() => undefined);

/**
 * Starts a stopped service again; on a busy machine Kafka's start may time out (the stack script
 * stops what did not come up), so it is tried three times before the soak gives up.
 */
async function startAgain(stack: FaultStack, service: ServiceName, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await stack.start(service);
    } catch (err) {
      if (attempt >= 3) throw err;
      log(`soak: ${service} did not start (attempt ${attempt}), again: ${String(err).split("\n")[1] ?? err}`);
    }
  }
}

/** Applies one fault and undoes it; resolves when it is undone, with a note on what happened. */
async function applyFault(soak: Soak, name: SoakFaultName): Promise<string> {
  const outage = soak.options.outageSeconds * 1000;
  if (name === "consume-kill") {
    const old = soak.consume;
    process.kill(old.pid, "SIGKILL");
    await old.exited;
    soak.consume = await startConsumer(soak.world);
    soak.consumeInstance++;
    return `consume pid ${old.pid} killed with -9, pid ${soak.consume.pid} started`;
  }
  if (name === "kafka") {
    // An ingest client cannot be told "maybe" about a batch (a 503's events may still be stored,
    // and a resend would then count them twice in ClickHouse); it holds its batches meanwhile.
    await soak.ingest.pause();
    const spooledBefore = await metricValue(soak.serve.url, "eft_events_spooled_total");
    await soak.stack.stop("kafka");
    await Bun.sleep(outage);
    const spoolBytes = dirBytes(soak.world.spoolDir);
    await startAgain(soak.stack, "kafka", soak.options.log);
    soak.ingest.resume();
    const spooled = (await metricValue(soak.serve.url, "eft_events_spooled_total")) - spooledBefore;
    return `Kafka stopped ${soak.options.outageSeconds} s: ${spooled.toLocaleString("en-US")} events spooled (${Math.round(spoolBytes / 1024)} KiB on disk before the restart), ingest held`;
  }
  await soak.stack.stop(name);
  await Bun.sleep(outage);
  await startAgain(soak.stack, name, soak.options.log);
  return `${name === "postgres" ? "PostgreSQL" : "ClickHouse"} stopped ${soak.options.outageSeconds} s`;
}

/** The fault schedule: one every faultEveryMinutes, until half an interval before the end. */
async function runFaults(soak: Soak, faults: SoakFault[], endAt: number): Promise<void> {
  const every = soak.options.faultEveryMinutes * 60_000;
  for (let k = 1; soak.started + k * every <= endAt - every / 2 && !soak.aborted; k++) {
    await Bun.sleep(Math.max(0, soak.started + k * every - Date.now()));
    // A fault that overran (a slow restart) leaves the ones due meanwhile out, and none starts
    // after half an interval before the end: the soak ends on steady load.
    if (Date.now() > Math.min(soak.started + (k + 0.5) * every, endAt - every / 2)) continue;
    const name = soak.options.faults[(k - 1) % soak.options.faults.length] as SoakFaultName;
    const at = seconds(soak);
    soak.options.log(`soak: ${at.toFixed(0)} s, fault ${name}`);
    const note = await applyFault(soak, name);
    const undoneAt = seconds(soak);
    const recoveryMs = await bothHold(soak.world, sentSoFar(soak), 180_000);
    faults.push({ name, at, undoneAt, recoveryMs, note });
    soak.options.log(`soak: ${name} undone, recovered in ${recoveryMs === undefined ? "—" : `${recoveryMs} ms`}`);
  }
}

/** A sample every sampleSeconds until `endAt`. */
async function runSampler(soak: Soak, samples: Sample[], endAt: number): Promise<void> {
  const every = soak.options.sampleSeconds * 1000;
  for (let k = 0; soak.started + k * every <= endAt && !soak.aborted; k++) {
    await Bun.sleep(Math.max(0, soak.started + k * every - Date.now()));
    const s = await takeSample(soak);
    samples.push(s);
    if (k % Math.max(1, Math.round(60 / soak.options.sampleSeconds)) === 0) {
      const mib = (b: number | undefined) => (b === undefined ? "—" : (b / 2 ** 20).toFixed(0));
      soak.options.log(
        `soak: ${s.t.toFixed(0)} s  serve ${mib(s.serve.rssBytes)} MiB, consume ${mib(s.consume.rssBytes)} MiB, sent ${s.sent}, PG ${s.stored.postgres ?? "—"}, CH ${s.stored.clickhouse ?? "—"}`,
      );
    }
  }
}

/** Starts serve, consume and the load on a fresh world of the soak stack. */
async function startSoak(options: SoakOptions, stack: FaultStack, world: World): Promise<Soak> {
  // A small memory queue, so that a Kafka outage goes to the spool on disk within seconds.
  const serve = await startSite(world, { PRODUCER_QUEUE_MAX: "500", INGEST_KEYS: SOAK_INGEST_KEY });
  const consume = await startConsumer(world);
  return {
    options,
    stack,
    world,
    serve,
    consume,
    consumeInstance: 1,
    load: startLoad(serve.url, options.demoRate, 8),
    ingest: startIngest(serve.url, options.ingestBatch, 500),
    started: Date.now(),
    aborted: false,
  };
}

/** Stops the load, waits until both stores hold everything, and counts. */
async function finishSoak(
  soak: Soak,
  samples: Sample[],
  drainTimeoutMs: number,
): Promise<Omit<SoakResult, "options" | "startedAt" | "faults" | "error">> {
  await Promise.all([soak.load.stop(), soak.ingest.stop()]);
  const total = sentSoFar(soak);
  soak.options.log(`soak: load stopped, ${total} events sent; waiting for both stores`);
  const drainMs = await bothHold(soak.world, total, drainTimeoutMs);
  // Anything late (a duplicate) would land within a flush or two.
  await Bun.sleep(2000);
  samples.push(await takeSample(soak));
  return {
    samples,
    sent: { demo: soak.load.sent, ingest: soak.ingest.accepted, total },
    failedRequests: [...soak.load.failures, ...soak.ingest.failures],
    ingestRetries: soak.ingest.retries,
    counts: await soak.world
      .counts()
      .catch(() => ({ postgres: Number.NaN, clickhouse: Number.NaN, pgDuplicates: 0, chDuplicates: 0 })),
    drainMs,
    dropped: await metricValue(soak.serve.url, "eft_events_dropped_total").catch(() => Number.NaN),
    spooled: await metricValue(soak.serve.url, "eft_events_spooled_total").catch(() => Number.NaN),
  };
}

/** Runs the soak; stops what it started and, with `purgeStack`, deletes the soak stack. */
export async function runSoak(options: SoakOptions, purgeStack: boolean): Promise<SoakResult> {
  const startedAt = new Date().toISOString();
  const stack = await startFaultStack(soakStackDir());
  const world = await createWorld(stack);
  let soak: Soak | undefined;
  try {
    soak = await startSoak(options, stack, world);
    const endAt = soak.started + options.minutes * 60_000;
    const samples: Sample[] = [];
    const faults: SoakFault[] = [];
    let error: string | undefined;
    await Promise.all([
      runSampler(soak, samples, endAt),
      runFaults(soak, faults, endAt).catch((err) => {
        // The run ends here, but what it measured so far is still reported, with the error.
        error = String(err).split("\n").slice(0, 2).join(" ");
        (soak as Soak).aborted = true;
        options.log(`soak: aborted: ${error}`);
      }),
    ]);
    if (!error) await Bun.sleep(Math.max(0, endAt - Date.now()));
    const { log: _log, ...shown } = options;
    if (error) await stack.restoreAll().catch(() => {});
    return { options: shown, startedAt, faults, error, ...(await finishSoak(soak, samples, error ? 60_000 : 300_000)) };
  } finally {
    await soak?.load.stop();
    await soak?.ingest.stop();
    await soak?.consume.stop(15_000).catch(() => {});
    await soak?.serve.stop(15_000).catch(() => {});
    await stack.restoreAll();
    await world.drop();
    if (purgeStack) await stack.down(true);
  }
}
