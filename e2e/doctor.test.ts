import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPipelineResources, ensureBinary, type PipelineResources } from "../test/support/binary.ts";
import { closedPort } from "../test/support/closed-port.ts";
import { createTestPostgresDatabase } from "../test/support/stack.ts";

/**
 * `doctor` (compiled binary) against the real stack, and against services that are not there —
 * pointed at closed ports, never by stopping the shared stack.
 */
describe("eft-footprint doctor", () => {
  let resources: PipelineResources;
  let topic: PipelineResources["topic"];
  let emptyPg: Awaited<ReturnType<typeof createTestPostgresDatabase>>;
  let binary: string;

  const env = (over: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? "",
    ...resources.env,
    ...over,
  });
  const doctor = (over: Record<string, string> = {}) => {
    const r = Bun.spawnSync([binary, "doctor"], { env: env(over) });
    return { code: r.exitCode, out: r.stdout.toString() };
  };
  /** The lines of one service's block: its status line and the indented ones below it. */
  const block = (out: string, service: string) => {
    const lines = out.split("\n");
    const start = lines.findIndex((l) => l.includes(`  ${service}`));
    const end = lines.findIndex((l, i) => i > start && !l.startsWith("  ") && !l.startsWith("      "));
    return lines.slice(start, end).join("\n");
  };

  beforeAll(async () => {
    binary = await ensureBinary();
    [resources, emptyPg] = await Promise.all([createPipelineResources(2), createTestPostgresDatabase()]);
    topic = resources.topic;
    await Promise.all([resources.pg.migrate(), resources.ch.migrate()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([resources?.drop(), emptyPg?.drop()]);
  });

  test("everything configured and migrated: exit 0 and what it found per service", () => {
    const { code, out } = doctor();
    expect(out).toContain("All services are ready.");
    expect(code).toBe(0);
    expect(block(out, "Kafka")).toContain(`topic ${topic.topic}: 2 partition(s)`);
    expect(block(out, "Kafka")).toContain(`group ${topic.groupId}-postgres: 0 consumer(s), nothing committed yet`);
    expect(block(out, "Kafka")).toContain(`group ${topic.groupId}-clickhouse: 0 consumer(s), nothing committed yet`);
    expect(block(out, "PostgreSQL")).toMatch(/version 1\d\.\d+/);
    expect(block(out, "PostgreSQL")).toContain("schema up to date");
    expect(block(out, "PostgreSQL")).not.toContain(":postgres@"); // the password is not printed
    expect(block(out, "ClickHouse")).toContain("schema up to date");
    expect(block(out, "ClickHouse")).toContain("TTL: none (RETENTION_DAYS unset)");
  });

  test("a stopped PostgreSQL is named, the others still pass, exit 1", () => {
    const port = closedPort();
    const { code, out } = doctor({ DATABASE_URL: `postgres://eft:secret@127.0.0.1:${port}/eft` });
    expect(code).toBe(1);
    expect(block(out, "PostgreSQL")).toMatch(/^FAIL {2}PostgreSQL/);
    expect(block(out, "PostgreSQL")).toContain(
      `! cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused: is PostgreSQL running there`,
    );
    expect(out).not.toContain("secret");
    expect(block(out, "Kafka")).toMatch(/^ok {4}Kafka/);
    expect(block(out, "ClickHouse")).toMatch(/^ok {4}ClickHouse/);
    expect(out).toContain("Not ready: PostgreSQL");
  });

  test("a stopped Kafka and a stopped ClickHouse are named too", () => {
    const [kafkaPort, clickhousePort] = [closedPort(), closedPort()];
    const { code, out } = doctor({
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      CLICKHOUSE_URL: `http://127.0.0.1:${clickhousePort}`,
    });
    expect(code).toBe(1);
    expect(block(out, "Kafka")).toContain(
      `! cannot reach Kafka at 127.0.0.1:${kafkaPort}: connection refused: is Kafka running there, and is KAFKA_BROKERS right?`,
    );
    expect(block(out, "ClickHouse")).toContain(
      `! cannot reach ClickHouse at 127.0.0.1:${clickhousePort}: connection refused: is ClickHouse running there`,
    );
    expect(block(out, "PostgreSQL")).toMatch(/^ok/);
    expect(out).toContain("Not ready: Kafka, ClickHouse");
  });

  test("a service pointed at another one's port: what could not be reached and why, never 'Closed connection' alone", () => {
    // Kafka at ClickHouse's HTTP port, ClickHouse at PostgreSQL's: each hangs up on the other's protocol.
    const clickhouse = new URL(resources.env.CLICKHOUSE_URL as string);
    const postgres = new URL(resources.env.DATABASE_URL as string);
    const { code, out } = doctor({
      KAFKA_BROKERS: clickhouse.host,
      CLICKHOUSE_URL: `http://${postgres.host}`,
    });
    expect(code).toBe(1);
    const problems = out.split("\n").filter((l) => l.startsWith("      ! "));
    expect(problems).toEqual([
      `      ! cannot reach Kafka at ${clickhouse.host}: the connection was closed before an answer: is that Kafka's port, and may this host connect to it? check KAFKA_BROKERS`,
      `      ! cannot reach ClickHouse at ${postgres.host}: the connection was closed before an answer: is that ClickHouse's port, and may this host connect to it? check CLICKHOUSE_URL (or CH_HOST, CH_PORT)`,
    ]);
  });

  test("--json: one document with the same facts and problems per service, the same exit status", () => {
    const ok = Bun.spawnSync([binary, "doctor", "--json"], { env: env() });
    expect(ok.exitCode).toBe(0);
    const ready = JSON.parse(ok.stdout.toString());
    expect(ready.ready).toBe(true);
    expect(ready.services.map((s: { service: string }) => s.service)).toEqual(["Kafka", "PostgreSQL", "ClickHouse"]);
    expect(ready.services[0].facts).toContain(`topic ${topic.topic}: 2 partition(s), 0 message(s) held`);
    expect(ready.services[2].problems).toEqual([]);

    const port = closedPort();
    const failed = Bun.spawnSync([binary, "doctor", "--json"], {
      env: env({ DATABASE_URL: `postgres://eft:secret@127.0.0.1:${port}/eft` }),
    });
    expect(failed.exitCode).toBe(1);
    const report = JSON.parse(failed.stdout.toString());
    expect(report.ready).toBe(false);
    expect(report.services[1]).toEqual({
      service: "PostgreSQL",
      target: `postgres://eft:***@127.0.0.1:${port}/eft`,
      ready: false,
      facts: [],
      problems: [
        `cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused: is PostgreSQL running there, and is DATABASE_URL (or DB_HOST, DB_PORT) right?`,
      ],
    });
    expect(failed.stderr.toString()).toBe("");
  });

  test("a missing topic, an unmigrated database and a TTL that does not match the setting", () => {
    const { code, out } = doctor({ TOPIC: "eft-no-such-topic", DATABASE_URL: emptyPg.url, RETENTION_DAYS: "30" });
    expect(code).toBe(1);
    expect(block(out, "Kafka")).toContain(
      `topic "eft-no-such-topic" does not exist: run 'eft-footprint migrate' to create it`,
    );
    expect(block(out, "PostgreSQL")).toContain("schema not created yet: run eft-footprint migrate");
    expect(block(out, "ClickHouse")).toContain(
      "user_footprint has no TTL but the setting says 30 days (RETENTION_DAYS): run eft-footprint migrate",
    );
  });

  test("invalid settings are reported as such, exit 2", () => {
    const r = Bun.spawnSync([binary, "doctor"], { env: { PATH: process.env.PATH ?? "", KAFKA_BROKERS: "nope" } });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("KAFKA_BROKERS must be a comma-separated list of host:port");
    expect(r.stderr.toString()).toContain("DATABASE_URL is required");
  });
});
