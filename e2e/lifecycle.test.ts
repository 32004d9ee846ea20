import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  binaryPath,
  createPipelineResources,
  ensureBinary,
  type PipelineResources,
  startBinary,
} from "../test/support/binary.ts";
import { closedPort } from "../test/support/closed-port.ts";
import { listenNotifySocket, type NotifySocket } from "../test/support/notify-socket.ts";
import { promtoolProblems } from "../test/support/promtool.ts";
import { waitFor } from "../test/support/wait-for.ts";

/**
 * The compiled linux-x64 binary as systemd runs it: starts, tells systemd READY=1 once it
 * listens (Type=notify), answers /healthz (and its own healthcheck), logs to LOG_DIR, and stops on
 * SIGTERM with exit status 0 after STOPPING=1.
 */
describe("compiled binary lifecycle under a Type=notify-like supervisor", () => {
  let resources: PipelineResources;
  let dir: string;
  let notify: NotifySocket;
  const env = () => ({
    ...resources.env,
    NOTIFY_SOCKET: join(dir, "notify"),
    LOG_DIR: join(dir, "logs"),
  });

  beforeAll(async () => {
    await ensureBinary();
    resources = await createPipelineResources();
    dir = mkdtempSync(join(tmpdir(), "eft-lifecycle-"));
    notify = listenNotifySocket(join(dir, "notify"));
  }, 120_000);

  afterAll(async () => {
    notify?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await resources?.drop();
  });

  test("serve: READY=1 once listening, /healthz 200, healthcheck exit 0, SIGTERM → STOPPING=1 and exit 0", async () => {
    const app = await startBinary(["serve"], env());
    const port = new URL(app.url).port;
    try {
      const messages = await waitFor(
        "READY=1 on NOTIFY_SOCKET",
        async () => notify.messages(),
        (m) => m.length > 0,
        30_000,
      );
      expect(messages[0]).toBe(`READY=1\nSTATUS=listening on 127.0.0.1:${port}`);

      const res = await fetch(`${app.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: "ok" });

      const binary = await ensureBinary();
      const check = Bun.spawnSync([binary, "healthcheck"], {
        env: { PATH: process.env.PATH ?? "", ...env(), HOST: "0.0.0.0", PORT: port },
      });
      expect(check.stdout.toString().trim()).toBe(`http://127.0.0.1:${port}/healthz: 200`);
      expect(check.exitCode).toBe(0);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    expect(notify.messages().at(-1)).toBe("STOPPING=1\nSTATUS=stopping");
    expect(app.lines.at(-1)).toMatchObject({ msg: "stopped" });
    // Plain serve (as the unit runs it) records nothing useful: one warning says how to record.
    const nothingToRecord = app.lines.filter((l) => String(l.msg).startsWith("nothing to record: "));
    expect(nothingToRecord).toHaveLength(1);
    expect(nothingToRecord[0]).toMatchObject({ level: "warn" });

    // Every stdout line also went to LOG_DIR/consumer.log.
    const logFile = join(dir, "logs", "consumer.log");
    expect(existsSync(logFile)).toBe(true);
    const logged = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).msg);
    expect(logged).toContain("listening");
    expect(logged.at(-1)).toBe("stopped");
  }, 120_000);

  test("serve on a healthy stack: no library notices at start-up or first send; /metrics under Prometheus's conventional names, promtool-clean", async () => {
    const app = await startBinary(["serve", "--demo"], env());
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/api/v1/quests/${i}`)).status).toBe(200);
      // Stored: the producer sent (partitioner and retry notices come with its creation) and the
      // consumers joined their groups (coordinator states come with that).
      await waitFor(
        "3 rows in PostgreSQL",
        async () =>
          Number((await resources.pg.stats.sql<{ n: string }[]>`select count(*) as n from user_footprint`)[0]?.n),
        (n) => n >= 3,
        30_000,
      );

      // The capture worker reports its counters to the main thread's /metrics once a second.
      const text = await waitFor(
        "eft_events_produced_total > 0 in /metrics",
        async () => (await fetch(`${app.url}/metrics`)).text(),
        (t) => /^eft_events_produced_total [1-9]/m.test(t),
        10_000,
      );
      expect(text).toContain("# TYPE process_cpu_seconds_total counter");
      expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
      expect(text).not.toMatch(/^# TYPE eft_(process|nodejs)_/m);
      expect(text).toMatch(/^eft_events_produced_total [1-9]/m);
      expect(promtoolProblems(text)).toEqual([]);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    // kafkajs's partitioner and idempotent-retry notices, and transient coordinator states, are
    // handled where they arise (src/kafka.ts): nothing from it at warn or error on a healthy stack.
    const fromKafkajs = app.lines.filter(
      (l) => l.component === "kafkajs" && (l.level === "warn" || l.level === "error"),
    );
    expect(fromKafkajs).toEqual([]);
    expect(app.lines.filter((l) => l.level === "error")).toEqual([]);
  }, 120_000);

  test("healthcheck exits 1 when nothing answers", () => {
    const port = closedPort();
    const check = Bun.spawnSync([binaryPath, "healthcheck", "--url", `http://127.0.0.1:${port}/healthz`], {
      env: { PATH: process.env.PATH ?? "", ...env() },
    });
    expect(check.exitCode).toBe(1);
    expect(check.stdout.toString()).toContain(`http://127.0.0.1:${port}/healthz: `);
  });
});
