/**
 * Fault scenario "serve `kill -9` under load": `serve --demo --no-consumer` is killed with SIGKILL
 * mid-load, three times with Kafka up and once a few seconds into a Kafka outage, and restarted on
 * the same SPOOL_DIR each time. Every request carries its own number (RECORD_QUERY=true records
 * it as the footprint's query), so the loss is counted by identity: requests answered 200 whose footprint is in
 * neither store. Each kill's loss is reported in events and in milliseconds of traffic at the rate
 * of that instance, and must stay within the documented bound (docs/delivery.md, "serve killed").
 */
import { expect } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningBinary } from "./binary.ts";
import type { ScenarioResult } from "./fault-report.ts";
import type { FaultStack, World } from "./fault-stack.ts";
import { waitFor } from "./wait-for.ts";

/** What the fault suite lends the scenario: processes it starts are stopped by the suite. */
export type ServeKillDeps = {
  stack: FaultStack;
  site(world: World, env?: Record<string, string>): Promise<RunningBinary>;
  consumer(world: World, env?: Record<string, string>): Promise<RunningBinary>;
  /** Takes a process the scenario killed itself out of the suite's list. */
  forget(b: RunningBinary): void;
};

const RATE = 200;
const CLIENTS = 16;
/** Requests each instance answers before it is killed (about 2 s at RATE). */
const BEFORE_KILL = 400;
/** With Kafka down: requests answered after the broker stopped, before the kill (about 4 s). */
const DURING_OUTAGE = 800;

/**
 * The documented bound (docs/delivery.md): a footprint is acknowledged by Kafka or written to the
 * spool within this long of its request's answer — the request thread's batch (10 ms), the time an
 * event may wait unacknowledged in memory before it is spilled (250 ms, checked every 50 ms), and the
 * spool's write interval for events that go straight to it (100 ms) — plus a margin for a loaded
 * machine (timers late, the kill itself).
 */
export const KILL_LOSS_WINDOW_MS = 500;

const INGEST_KEY = "fault-ingest-key-0123456789";

/**
 * One event to the ingest API: its status, error code and how many event ids the answer gives to
 * retry with. While Kafka is down it must be a 503 the client can retry, never a 202.
 */
async function ingestOne(url: string): Promise<{ status: number; code?: string; retryWith?: number }> {
  const res = await fetch(`${url}/_footprint/api/v1/footprints`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-footprint-key": INGEST_KEY },
    body: JSON.stringify({ method: "POST", link: "/ingested", footprint_time: new Date().toISOString() }),
  });
  const body = (await res.json()) as { error?: { code?: string; details?: { event_ids?: string[] } } };
  return { status: res.status, code: body.error?.code, retryWith: body.error?.details?.event_ids?.length };
}

type Kill = { kafka: "up" | "down"; instance: number; answered: number; rateHz: number };

/** Steady numbered requests to whichever instance is current; who answered which number is kept. */
function numberedLoad(current: () => { url: string; instance: number }) {
  const answeredBy = new Map<number, number>();
  const firstAt = new Map<number, number>();
  const lastAt = new Map<number, number>();
  let next = 0;
  let failed = 0;
  let running = true;
  const interval = (1000 * CLIENTS) / RATE;
  const client = async () => {
    while (running) {
      const started = Date.now();
      const n = next++;
      const { url, instance } = current();
      try {
        const res = await fetch(`${url}/api/v1/items?n=${n}`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          answeredBy.set(n, instance);
          if (!firstAt.has(instance)) firstAt.set(instance, Date.now());
          lastAt.set(instance, Date.now());
        } else failed++;
      } catch {
        failed++; // the killed instance, or none listening yet
      }
      await Bun.sleep(Math.max(0, interval - (Date.now() - started)));
    }
  };
  const clients = Array.from({ length: CLIENTS }, () => client());
  const answered = (instance: number) => [...answeredBy.values()].filter((i) => i === instance).length;
  return {
    answeredBy,
    answered,
    get failed() {
      return failed;
    },
    /** Answers per second of one instance, from its first answer to its last. */
    rateHz(instance: number) {
      const ms = (lastAt.get(instance) ?? 0) - (firstAt.get(instance) ?? 0);
      return ms > 0 ? (answered(instance) * 1000) / ms : RATE;
    },
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

/** The request numbers whose footprints a store holds (from `query`, `n=<n>`). */
async function storedNumbers(world: World): Promise<{ postgres: Set<number>; clickhouse: Set<number> }> {
  const parse = (queries: (string | null)[]) =>
    new Set(
      queries.map((q) => Number(/(?:^|&)n=(\d+)/.exec(q ?? "")?.[1] ?? Number.NaN)).filter((n) => !Number.isNaN(n)),
    );
  const pg = await world.pg<{ query: string | null }[]>`select query from user_footprint`;
  const rs = await world.ch.query({ query: "SELECT query FROM user_footprint", format: "JSONEachRow" });
  const ch = await rs.json<{ query: string | null }>();
  return { postgres: parse(pg.map((r) => r.query)), clickhouse: parse(ch.map((r) => r.query)) };
}

/** With EFT_FAULT_LOG_DIR set, each serve instance's log lines go to <dir>/<topic>/serve-<n>.jsonl. */
function keepLogs(world: World, instances: RunningBinary[]): void {
  const dir = process.env.EFT_FAULT_LOG_DIR;
  if (!dir) return;
  mkdirSync(join(dir, world.topic), { recursive: true });
  instances.forEach((b, i) => {
    writeFileSync(join(dir, world.topic, `serve-${i}.jsonl`), b.lines.map((x) => JSON.stringify(x)).join("\n"));
  });
}

/** Until both stores' consumer groups have committed up to the end of the topic. */
async function caughtUp(world: World): Promise<void> {
  const admin = world.kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(world.topic);
    const behind = async () => {
      let n = 0;
      for (const group of [`${world.groupId}-postgres`, `${world.groupId}-clickhouse`]) {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [world.topic] });
        for (const end of ends) {
          const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
          n += Math.max(0, Number(end.high) - Math.max(0, Number(at)));
        }
      }
      return n;
    };
    await waitFor("both stores' groups at the end of the topic", behind, (n) => n === 0, 120_000, 250);
  } finally {
    await admin.disconnect();
  }
}

export async function serveKillScenario(deps: ServeKillDeps, world: World, row: ScenarioResult): Promise<void> {
  await deps.consumer(world);
  const env = { RECORD_QUERY: "true", INGEST_KEYS: INGEST_KEY, INGEST_TIMEOUT_MS: "2000" };
  let serve = await deps.site(world, env);
  const instances = [serve];
  let instance = 0;
  const load = numberedLoad(() => ({ url: serve.url, instance }));
  const kills: Kill[] = [];
  const answeredAtLeast = (n: number) =>
    waitFor(
      `instance ${instance} answering ${n} requests`,
      async () => load.answered(instance),
      (a) => a >= n,
      120_000,
      20,
    );
  try {
    for (const kafka of ["up", "up", "up", "down"] as const) {
      await answeredAtLeast(BEFORE_KILL);
      if (kafka === "down") {
        await deps.stack.stop("kafka");
        const refused = ingestOne(serve.url);
        await answeredAtLeast(load.answered(instance) + DURING_OUTAGE);
        const answer = await refused;
        expect(answer).toMatchObject({ status: 503, code: "KAFKA_UNAVAILABLE", retryWith: 1 });
      }
      process.kill(serve.pid, "SIGKILL");
      await serve.exited;
      deps.forget(serve);
      kills.push({ kafka, instance, answered: load.answered(instance), rateHz: load.rateHz(instance) });
      if (kafka === "down") await deps.stack.start("kafka");
      serve = await deps.site(world, env);
      instances.push(serve);
      instance++;
    }
    await answeredAtLeast(BEFORE_KILL);
  } finally {
    await load.stop();
    keepLogs(world, instances);
  }
  // The last instance stops cleanly: everything it took reaches Kafka (or its spool, sent on start).
  await serve.stop(15_000);
  row.sent = load.answeredBy.size;
  await caughtUp(world);
  await Bun.sleep(1500); // anything late (a duplicate) would land within a flush or two
  await account(world, row, load.answeredBy, kills, load.failed);
}

/** Loss per kill, by identity, against the bound; the row's notes say it all. */
async function account(
  world: World,
  row: ScenarioResult,
  answeredBy: Map<number, number>,
  kills: Kill[],
  failed: number,
): Promise<void> {
  const stored = await storedNumbers(world);
  const missing = (store: Set<number>, instance: number) =>
    [...answeredBy].filter(([n, i]) => i === instance && !store.has(n)).length;
  const perKill = kills.map((k) => {
    const lost = Math.max(missing(stored.postgres, k.instance), missing(stored.clickhouse, k.instance));
    const bound = Math.ceil((k.rateHz * KILL_LOSS_WINDOW_MS) / 1000);
    return { ...k, lost, bound, lostMs: Math.round((lost * 1000) / k.rateHz) };
  });
  const answeredNumbers = new Set(answeredBy.keys());
  const unanswered = [...stored.postgres].filter((n) => !answeredNumbers.has(n)).length;
  row.loss = {
    postgres: [...answeredBy.keys()].filter((n) => !stored.postgres.has(n)).length,
    clickhouse: [...answeredBy.keys()].filter((n) => !stored.clickhouse.has(n)).length,
    bound: perKill.reduce((n, k) => n + k.bound, 0),
  };
  row.notes =
    `${kills.length} kills at ~${RATE} req/s; lost per kill (Kafka up/down: events, ms of traffic at that rate, bound): ` +
    perKill.map((k) => `${k.kafka} ${k.lost} ev = ${k.lostMs} ms (≤ ${k.bound})`).join(", ") +
    `; ${unanswered} stored footprint(s) of requests cut off unanswered by a kill, ${failed} requests failed (killed or restarting)`;
  for (const k of perKill) expect(k.lost).toBeLessThanOrEqual(k.bound);
}
