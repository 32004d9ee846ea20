import { beforeAll, describe, expect, test } from "bun:test";
import { ensureBinary } from "../test/support/binary.ts";
import { closedPort } from "../test/support/closed-port.ts";
import { stackEnv } from "../test/support/stack.ts";

/**
 * The compiled binary's conventions: version and help as other tools have them, and an expected
 * failure as one line on stderr with the documented exit status (docs/operations.md), nothing
 * on stdout. Every address points at a closed port, but Kafka where a test needs it reachable.
 */
describe("eft-footprint command line", () => {
  let binary: string;
  // Valid settings whose services are nowhere: each test points at what it needs.
  const env = (over: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? "",
    KAFKA_BROKERS: `127.0.0.1:${closedPort()}`,
    DATABASE_URL: `postgres://eft:eft@127.0.0.1:${closedPort()}/eft`,
    CLICKHOUSE_URL: `http://127.0.0.1:${closedPort()}`,
    ...over,
  });
  const run = (args: string[], over: Record<string, string> = {}) => {
    const r = Bun.spawnSync([binary, ...args], { env: env(over), timeout: 30_000 });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  beforeAll(async () => {
    binary = await ensureBinary();
  }, 120_000);

  test("-v, -V, version and help answer as in other tools", () => {
    for (const args of [["-v"], ["-V"], ["version"], ["--version"]]) {
      const r = run(args);
      expect(r).toMatchObject({ code: 0, err: "" });
      expect(r.out).toMatch(/^eft-footprint \d+\.\d+\.\d+ \(\S+\)\n$/);
    }
    expect(run(["help", "dlq"]).out).toStartWith("Usage: eft-footprint dlq list");
    expect(run(["help"]).out).toContain("Exit status: 0 done");
  });

  test("a wrong flag: one line of ours naming it and the command's help, exit 2", () => {
    expect(run(["serve", "-x"])).toEqual({
      code: 2,
      out: "",
      err: "eft-footprint: unknown option -x; see 'eft-footprint serve --help'\n",
    });
  });

  test("serve on a port in use: one line naming the port and what to do, exit 1", () => {
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("the other process") });
    try {
      const r = run(["serve"], { HOST: "127.0.0.1", PORT: String(other.port) });
      expect(r).toEqual({
        code: 1,
        out: "",
        err: `eft-footprint: port ${other.port} on 127.0.0.1 is in use: set PORT or stop the other process\n`,
      });
    } finally {
      other.stop(true);
    }
  });

  test("dlq list and replay with Kafka unreachable: one line on stderr, nothing on stdout, exit 1, fast", () => {
    const port = closedPort();
    for (const action of ["list", "replay"]) {
      const started = Date.now();
      const r = run(["dlq", action], { KAFKA_BROKERS: `127.0.0.1:${port}` });
      expect(r).toEqual({
        code: 1,
        out: "",
        err: `eft-footprint: cannot reach Kafka at 127.0.0.1:${port}: connection refused: is Kafka running there, and is KAFKA_BROKERS right?\n`,
      });
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  test("migrate with Kafka unreachable is a runtime failure: one line naming Kafka, exit 1 (not 2, which is usage)", () => {
    const started = Date.now();
    const r = run(["migrate"], { LOG_LEVEL: "error" });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^eft-footprint: cannot reach Kafka at 127\.0\.0\.1:\d+: connection refused: .*KAFKA_BROKERS/,
    );
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("migrate with PostgreSQL unreachable names it, its address and DATABASE_URL: one line, exit 1", async () => {
    const { kafkaBrokers } = await stackEnv();
    const r = run(["migrate"], { LOG_LEVEL: "error", KAFKA_BROKERS: kafkaBrokers.join(",") });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^eft-footprint: PostgreSQL migration failed: cannot reach PostgreSQL at 127\.0\.0\.1:\d+: connection refused: .*DATABASE_URL/,
    );
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});
