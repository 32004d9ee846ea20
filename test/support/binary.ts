import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";
import { createTestClickhouseDatabase, createTestPostgresDatabase, createTestTopic } from "./stack.ts";
import { waitFor } from "./wait-for.ts";

export const repoRoot = join(import.meta.dir, "../..");
export const binaryPath = join(repoRoot, "eft-footprint");

/** The compiled binary under test; built once if missing (scripts/test builds it beforehand). */
export async function ensureBinary(): Promise<string> {
  if (!existsSync(binaryPath)) {
    const build = Bun.spawnSync(["bash", join(repoRoot, "compile.sh")], { stdout: "inherit", stderr: "inherit" });
    if (build.exitCode !== 0) throw new Error("compile.sh failed");
  }
  return binaryPath;
}

export type RunningBinary = {
  url: string;
  pid: number;
  lines: Record<string, unknown>[];
  /** The exit code, once the process has ended (fault tests kill it). */
  exited: Promise<number>;
  /** SIGTERM, then the exit code (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<number>;
};

/**
 * Starts `eft-footprint <args>` with PORT=0 and resolves once it logged `readyMsg` ("listening"
 * for serve, whose line carries the URL; "consumer started" for consume).
 */
export async function startBinary(
  args: string[],
  env: Record<string, string>,
  readyMsg = "listening",
): Promise<RunningBinary> {
  const proc = Bun.spawn([await ensureBinary(), ...args], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0", LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  let resolveUrl: (url: string) => void = () => {};
  const urlSeen = new Promise<string>((r) => {
    resolveUrl = r;
  });
  (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of proc.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let nl = pending.indexOf("\n");
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        nl = pending.indexOf("\n");
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          lines.push(entry);
          if (entry.msg === readyMsg) resolveUrl(String(entry.url ?? ""));
        } catch {
          lines.push({ raw: line });
        }
      }
    }
  })();
  (async () => {
    for await (const chunk of proc.stderr) stderr += new TextDecoder().decode(chunk);
  })();
  const url = await Promise.race([
    urlSeen,
    proc.exited.then((code) => {
      throw new Error(
        `eft-footprint exited with ${code} before logging ${readyMsg}:\n${stderr}\n${JSON.stringify(lines)}`,
      );
    }),
  ]);
  return {
    url: url.replace(/\/$/, ""),
    pid: proc.pid,
    lines,
    exited: proc.exited,
    async stop(timeoutMs = 30_000) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A topic, a PostgreSQL and a ClickHouse database of the test's own, and clients to read them. */
export type PipelineResources = {
  topic: Awaited<ReturnType<typeof createTestTopic>>;
  /** The settings that point the binary at these resources (flushes every 200 ms). */
  env: Record<string, string>;
  pg: ReturnType<typeof createPostgresStore>;
  ch: ReturnType<typeof createClickhouseStore>;
  drop(): Promise<void>;
};

/** With `createTopic: false` the topic's name is reserved but the topic not created. */
export async function createPipelineResources(
  partitions = 1,
  options: { createTopic?: boolean } = {},
): Promise<PipelineResources> {
  const [topic, pgDb, chDb] = await Promise.all([
    createTestTopic(partitions, { create: options.createTopic ?? true }),
    createTestPostgresDatabase(),
    createTestClickhouseDatabase(),
  ]);
  const pg = createPostgresStore({ url: pgDb.url });
  const ch = createClickhouseStore({ url: chDb.url, username: "default", password: "", database: chDb.database });
  return {
    topic,
    env: {
      KAFKA_BROKERS: topic.brokers.join(","),
      TOPIC: topic.topic,
      GROUP_ID: topic.groupId,
      DATABASE_URL: pgDb.url,
      CLICKHOUSE_URL: chDb.url,
      CLICKHOUSE_DATABASE: chDb.database,
      BATCH_FLUSH_MS: "200",
    },
    pg,
    ch,
    async drop() {
      await Promise.all([pg.close(), ch.close()]);
      await Promise.all([topic.drop(), pgDb.drop(), chDb.drop()]);
    },
  };
}

/** Waits until `/readyz` says every dependency answers. */
export async function waitUntilReady(app: RunningBinary, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    "readiness",
    () => fetch(`${app.url}/readyz`).then((r) => r.status),
    (s) => s === 200,
    timeoutMs,
  );
}

/** The compiled binary on resources of its own, ready; `stop()` stops it and drops them. */
export type PipelineBinary = { app: RunningBinary; resources: PipelineResources; stop(): Promise<void> };

/** `eft-footprint <args>` with the settings of fresh pipeline resources (and `env` over them), once ready. */
export async function startPipelineBinary(args: string[], env: Record<string, string> = {}): Promise<PipelineBinary> {
  const resources = await createPipelineResources();
  let app: RunningBinary | undefined;
  const stop = async () => {
    await app?.stop();
    await resources.drop();
  };
  try {
    app = await startBinary(args, { ...resources.env, ...env });
    await waitUntilReady(app);
    return { app, resources, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
