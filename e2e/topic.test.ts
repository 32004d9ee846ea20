import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPipelineResources,
  ensureBinary,
  type PipelineResources,
  type RunningBinary,
  startBinary,
  waitUntilReady,
} from "../test/support/binary.ts";
import { kafkaAdmin } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";

/**
 * A TOPIC that does not exist yet, as a new operator meets it: `migrate` creates it (and its
 * dead-letter topic), and until then serve says so in one line, answers ingest at once, is not
 * ready, and stops in time with what it recorded kept in the spool. The local broker auto-creates
 * topics (auto.create.topics.enable=true): each test also checks that nothing but migrate did.
 */
const KEY = "topic-test-key-0123456789";
const event = { method: "GET", link: "/api/v1/topic-test", footprint_time: "2025-05-19T13:45:30.123456+09:00" };

async function partitionsOf(brokers: string[], topics: string[]): Promise<Record<string, number>> {
  const admin = kafkaAdmin(brokers);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const there = topics.filter((t) => existing.has(t));
    const { topics: meta } = there.length > 0 ? await admin.fetchTopicMetadata({ topics: there }) : { topics: [] };
    return Object.fromEntries(meta.map((t) => [t.name, t.partitions.length]));
  } finally {
    await admin.disconnect();
  }
}

function ingest(app: RunningBinary, body: unknown): Promise<Response> {
  return fetch(`${app.url}/_footprint/api/v1/footprints`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-footprint-key": KEY },
    body: JSON.stringify(body),
  });
}

describe("a topic that does not exist yet (compiled binary)", () => {
  let resources: PipelineResources;
  let app: RunningBinary | undefined;
  let spoolDir: string;
  const env = () => ({ ...resources.env, INGEST_KEYS: KEY, SPOOL_DIR: spoolDir });

  beforeAll(async () => {
    await ensureBinary();
  }, 120_000);

  afterEach(async () => {
    await app?.stop();
    app = undefined;
    await resources?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  const fresh = async () => {
    resources = await createPipelineResources(1, { createTopic: false });
    spoolDir = mkdtempSync(join(tmpdir(), "eft-topic-spool-"));
    const { topic, brokers } = resources.topic;
    expect(await partitionsOf(brokers, [topic, `${topic}.dlq`])).toEqual({});
  };

  test("migrate creates the topic (TOPIC_PARTITIONS) and TOPIC.dlq, a second run reports them; serve then ingests into both stores", async () => {
    await fresh();
    const { topic, brokers } = resources.topic;
    const migrate = async () => {
      const run = Bun.spawn([await ensureBinary(), "migrate"], {
        env: { PATH: process.env.PATH ?? "", ...env(), TOPIC_PARTITIONS: "3" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([
        new Response(run.stdout).text(),
        new Response(run.stderr).text(),
        run.exited,
      ]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      return out
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).msg as string)
        .filter((m) => m.startsWith("topic "));
    };

    expect(await migrate()).toEqual([
      `topic ${topic} created: 3 partitions`,
      `topic ${topic}.dlq created: 1 partition`,
    ]);
    expect(await partitionsOf(brokers, [topic, `${topic}.dlq`])).toEqual({ [topic]: 3, [`${topic}.dlq`]: 1 });
    expect(await migrate()).toEqual([`topic ${topic} exists: 3 partitions`, `topic ${topic}.dlq exists: 1 partition`]);

    app = await startBinary(["serve"], env());
    await waitUntilReady(app);
    const res = await ingest(app, [event, { ...event, link: "/api/v1/topic-test/2" }]);
    expect(res.status).toBe(202);
    await waitFor(
      "2 rows in PostgreSQL",
      () => resources.pg.countFootprints(),
      (n) => n === 2,
    );
    await waitFor(
      "2 rows in ClickHouse",
      () => resources.ch.countFootprints(),
      (n) => n === 2,
    );
    expect(app.lines.some((l) => String(l.msg).includes("does not exist"))).toBe(false);
  }, 120_000);

  test("serve with the topic missing: one line with the fix, /readyz 503 naming it, ingest 503 at once, SIGTERM → exit 0 with the footprints spooled", async () => {
    await fresh();
    const { topic, brokers } = resources.topic;
    const shutdownMs = 8000;
    app = await startBinary(["serve", "--demo"], { ...env(), SHUTDOWN_TIMEOUT_MS: String(shutdownMs) });
    const running = app;
    const message = `topic "${topic}" does not exist: run 'eft-footprint migrate' to create it (TOPIC_PARTITIONS=3)`;

    const ready = await waitFor(
      "/readyz naming the missing topic",
      async () => {
        const r = await fetch(`${running.url}/readyz`);
        return {
          status: r.status,
          body: (await r.json()) as { checks: Record<string, { ok: boolean; error?: string }> },
        };
      },
      (r) => r.body.checks.topic?.error === message,
    );
    expect(ready.status).toBe(503);
    expect(ready.body.checks.kafka?.ok).toBe(true);

    const started = performance.now();
    const res = await ingest(running, event);
    const ms = performance.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: "TOPIC_MISSING", message, details: { topic } } });
    expect(ms).toBeLessThan(1000);

    // Recorded by the middleware: Kafka will not take them, so they wait in memory, then the spool.
    const links = ["/api/v1/items", "/api/v1/items/ledx", "/api/v1/quests/7"];
    for (const link of links) expect((await fetch(`${running.url}${link}`)).status).toBeLessThan(500);

    const stopping = performance.now();
    expect(await running.stop(shutdownMs + 5000)).toBe(0);
    expect(performance.now() - stopping).toBeLessThan(shutdownMs);
    app = undefined;

    const spooled = readdirSync(spoolDir)
      .filter((f) => f.endsWith(".ndjson"))
      .flatMap((f) => readFileSync(join(spoolDir, f), "utf8").trim().split("\n"))
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l).link as string);
    expect(spooled.sort()).toEqual([...links].sort());

    const said = running.lines.filter((l) => String(l.msg).includes("does not exist"));
    expect(said.map((l) => l.msg)).toEqual([message]);
    expect(running.lines.map((l) => l.msg)).not.toContain("shutdown took too long: exiting");
    expect(running.lines.at(-1)).toMatchObject({ msg: "stopped", unsent: 0 });
    // Nothing created it behind migrate's back, although the broker would auto-create it.
    expect(await partitionsOf(brokers, [topic, `${topic}.dlq`])).toEqual({});
  }, 120_000);
});
