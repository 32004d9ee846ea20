import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import type { StoreName } from "../../src/store/store.ts";
import type { BenchStores } from "./bench-databases.ts";
import { countBoth } from "./pipeline.ts";
import { startProgress } from "./progress.ts";
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
};

/** How the binary is started again from itself: the compiled binary, or bun + app/main.ts. */
function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/")
    ? [process.execPath]
    : [process.execPath, resolve(import.meta.dir, "../main.ts")];
}

type Serve = { url: string; stop(): Promise<void> };

/** `serve --demo` on a free port, writing to the bench topic and databases (its own consumer). */
async function startServe(config: Config, topic: string, groupId: string, stores: BenchStores): Promise<Serve> {
  const spool = mkdtempSync(join(tmpdir(), "eft-bench-spool-"));
  const ch = new URL(config.clickhouse.url);
  ch.username = encodeURIComponent(config.clickhouse.username);
  ch.password = encodeURIComponent(config.clickhouse.password);
  const [cmd, ...args] = selfCommand();
  const child = spawn(cmd as string, [...args, "serve", "--demo"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      KAFKA_BROKERS: config.kafka.brokers.join(","),
      TOPIC: topic,
      GROUP_ID: groupId,
      DATABASE_URL: stores.pgUrl,
      CLICKHOUSE_URL: ch.toString(),
      CLICKHOUSE_DATABASE: stores.chDatabase,
      FOOTPRINT_TZ: config.timeZone,
      HOST: "127.0.0.1",
      PORT: "0",
      SPOOL_DIR: spool,
      DASHBOARD_TOKEN: "bench-token-not-used-0123456789",
      LOG_LEVEL: "info",
      BATCH_SIZE: String(config.consumer.batchSize),
      BATCH_FLUSH_MS: String(config.consumer.flushMs),
    },
  });
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error("serve did not log 'listening' within 60 s")), 60_000);
    child.once("exit", (code) => fail(new Error(`serve exited with ${code} before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; level?: string };
        if (entry.msg === "listening" && entry.url) {
          clearTimeout(timer);
          done(entry.url);
        } else if (entry.level === "error") process.stderr.write(`serve: ${line}\n`);
      } catch {}
    });
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(25_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(spool, { recursive: true, force: true });
    },
  };
}

const PATHS = ["/api/v1/items", "/api/v1/items/ledx", "/api/v1/quests/7", "/api/v1/quests", "/api/v1/maps/customs"];

/**
 * The real path under a steady load: HTTP → footprint middleware → Kafka → consumer → both
 * stores, each rate for `seconds`, rates increasing until one is not sustained. Freshness of a
 * request: the first count poll (every 100 ms) showing as many rows as had been sent up to and
 * including it, minus its send time (rows may reach a store slightly out of order: an estimate
 * within the poll interval).
 */
export async function benchIngest(
  config: Config,
  topic: { topic: string; groupId: string },
  stores: BenchStores,
  rates: readonly number[],
  seconds: number,
  drainSeconds = 10,
): Promise<IngestStep[]> {
  const serve = await startServe(config, topic.topic, topic.groupId, stores);
  const steps: IngestStep[] = [];
  try {
    // Until the consumer has joined, nothing becomes visible: one request, waited for.
    await fetch(new URL("/api/v1/items", serve.url));
    const deadline = Date.now() + 60_000;
    for (let c = await countBoth(stores); c.postgres < 1 || c.clickhouse < 1; c = await countBoth(stores)) {
      if (Date.now() > deadline) throw new Error("the pipeline stored nothing within 60 s of the first request");
      await sleep(200);
    }
    for (const rate of rates) {
      const step = await runStep(serve.url, stores, rate, seconds, drainSeconds);
      steps.push(step);
      if (!step.sustained) break;
    }
  } finally {
    await serve.stop();
  }
  return steps;
}

async function runStep(
  url: string,
  stores: BenchStores,
  rate: number,
  seconds: number,
  drainSeconds: number,
): Promise<IngestStep> {
  const base = await countBoth(stores);
  const total = Math.round(rate * seconds);
  const sentAt = new Float64Array(total);
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let inFlight = 0;
  const maxInFlight = 256;
  const polls: { t: number; postgres: number; clickhouse: number }[] = [];
  let polling = true;
  const poller = (async () => {
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
  const progress = startProgress(`ingest ${rate.toLocaleString("en-US")}/s`, total);
  const started = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due && inFlight < maxInFlight) {
      const i = sent++;
      sentAt[i] = performance.now();
      inFlight++;
      fetch(new URL(PATHS[i % PATHS.length] as string, url))
        .then((r) => {
          if (r.status >= 500) failed++;
          return r.arrayBuffer();
        })
        .catch(() => failed++)
        .finally(() => {
          inFlight--;
          answered++;
        });
    }
    progress.tick(sent);
    await sleep(sent < due ? 1 : 5);
  }
  while (inFlight > 0) await sleep(5);
  const httpSeconds = (performance.now() - started) / 1000;
  const endedAt = performance.now();
  while (performance.now() - endedAt < drainSeconds * 1000) {
    const last = polls[polls.length - 1];
    if (last && last.postgres >= total && last.clickhouse >= total) break;
    await sleep(50);
  }
  polling = false;
  await poller;
  const last = polls[polls.length - 1] ?? { t: 0, postgres: 0, clickhouse: 0 };
  const drained = last.postgres >= total && last.clickhouse >= total;
  const per = (store: StoreName) => {
    const lags: number[] = [];
    let p = 0;
    for (let i = 0; i < total; i++) {
      while (p < polls.length && (polls[p] as (typeof polls)[number])[store] < i + 1) p++;
      if (p === polls.length) break;
      lags.push((polls[p] as (typeof polls)[number]).t - (sentAt[i] as number));
    }
    const done = polls.find((x) => x[store] >= total);
    const s = summarize(lags);
    return {
      freshness: { p50: round(s.median, 0), p95: round(s.p95, 0) },
      rate: done ? round(total / ((done.t - started) / 1000), 0) : round(last[store] / ((last.t - started) / 1000), 0),
    };
  };
  const pg = per("postgres");
  const ch = per("clickhouse");
  const httpPerSecond = round(answered / httpSeconds, 0);
  const sustained =
    drained && failed === 0 && httpPerSecond >= rate * 0.9 && pg.freshness.p95 < 5000 && ch.freshness.p95 < 5000;
  progress.end(`${httpPerSecond}/s answered; freshness p95 PG ${pg.freshness.p95} ms, CH ${ch.freshness.p95} ms`);
  return {
    targetPerSecond: rate,
    seconds,
    sent: total,
    failed,
    httpPerSecond,
    storedPerSecond: { postgres: pg.rate, clickhouse: ch.rate },
    freshness: { postgres: pg.freshness, clickhouse: ch.freshness },
    drained,
    sustained,
  };
}
