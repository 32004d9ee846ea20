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
    expect(block(out, "PostgreSQL")).toContain("cannot connect");
    expect(block(out, "PostgreSQL")).toContain("is PostgreSQL running there");
    expect(out).not.toContain("secret");
    expect(block(out, "Kafka")).toMatch(/^ok {4}Kafka/);
    expect(block(out, "ClickHouse")).toMatch(/^ok {4}ClickHouse/);
    expect(out).toContain("Not ready: PostgreSQL");
  });

  test("a stopped Kafka and a stopped ClickHouse are named too", () => {
    const { code, out } = doctor({
      KAFKA_BROKERS: `127.0.0.1:${closedPort()}`,
      CLICKHOUSE_URL: `http://127.0.0.1:${closedPort()}`,
    });
    expect(code).toBe(1);
    expect(block(out, "Kafka")).toContain("cannot connect");
    expect(block(out, "ClickHouse")).toContain("cannot connect");
    expect(block(out, "PostgreSQL")).toMatch(/^ok/);
    expect(out).toContain("Not ready: Kafka, ClickHouse");
  });

  test("a missing topic, an unmigrated database and a TTL that does not match the setting", () => {
    const { code, out } = doctor({ TOPIC: "eft-no-such-topic", DATABASE_URL: emptyPg.url, RETENTION_DAYS: "30" });
    expect(code).toBe(1);
    expect(block(out, "Kafka")).toContain("topic eft-no-such-topic does not exist");
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
