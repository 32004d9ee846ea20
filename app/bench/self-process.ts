import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import type { BenchStores } from "./bench-databases.ts";

/** How the binary is started again from itself: the compiled binary, or bun + app/main.ts. */
function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/")
    ? [process.execPath]
    : [process.execPath, resolve(import.meta.dir, "../main.ts")];
}

/** A `serve` or `consume` the bench started: its pid (whose CPU is measured) and, for serve, its URL. */
export type SelfProcess = { url: string; pid: number; stop(): Promise<void> };

export type SelfProcessOptions = {
  /** e.g. ["serve", "--demo"] or ["consume"]. */
  args: string[];
  topic: string;
  groupId: string;
  stores: BenchStores;
  /** Settings on top of the bench's (RECORD, INGEST_KEYS, …). */
  env?: Record<string, string>;
  /** The log line (msg) that says it is ready: "listening" for serve, "metrics listening" for consume. */
  ready?: string;
  /** Another program to start instead of this one (e.g. another checkout's `bun app/main.ts`). */
  command?: string[];
};

/**
 * `eft-footprint <args>` in a process of its own, on a free port, writing to the bench topic and
 * databases: its CPU is then its own, apart from the bench's load generators and pollers.
 */
export async function startSelf(config: Config, o: SelfProcessOptions): Promise<SelfProcess> {
  const spool = mkdtempSync(join(tmpdir(), "eft-bench-spool-"));
  const ch = new URL(config.clickhouse.url);
  ch.username = encodeURIComponent(config.clickhouse.username);
  ch.password = encodeURIComponent(config.clickhouse.password);
  const [cmd, ...args] = o.command ?? selfCommand();
  const ready = o.ready ?? "listening";
  const child = spawn(cmd as string, [...args, ...o.args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      KAFKA_BROKERS: config.kafka.brokers.join(","),
      TOPIC: o.topic,
      GROUP_ID: o.groupId,
      DATABASE_URL: o.stores.pgUrl,
      CLICKHOUSE_URL: ch.toString(),
      CLICKHOUSE_DATABASE: o.stores.chDatabase,
      FOOTPRINT_TZ: config.timeZone,
      HOST: "127.0.0.1",
      PORT: "0",
      METRICS_PORT: "0",
      SPOOL_DIR: spool,
      DASHBOARD_TOKEN: "bench-token-not-used-0123456789",
      LOG_LEVEL: "info",
      BATCH_SIZE: String(config.consumer.batchSize),
      BATCH_FLUSH_MS: String(config.consumer.flushMs),
      ...o.env,
    },
  });
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`${o.args[0]} did not log '${ready}' within 60 s`));
    }, 60_000);
    child.once("exit", (code) => fail(new Error(`${o.args[0]} exited with ${code} before '${ready}'`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string; level?: string };
        if (entry.msg === ready) {
          clearTimeout(timer);
          done(entry.url ?? "");
        } else if (entry.level === "error") process.stderr.write(`${o.args[0]}: ${line}\n`);
      } catch {}
    });
  });
  return {
    url,
    pid: child.pid as number,
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(25_000)]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(spool, { recursive: true, force: true });
    },
  };
}
