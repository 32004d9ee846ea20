import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { warnIfNothingToRecord } from "./serve.ts";

const minimal = { KAFKA_BROKERS: "127.0.0.1:9092", DATABASE_URL: "postgres://u:p@127.0.0.1:5433/eft" };
const noFlags = { consumer: true, demo: false };

function warningsOf(env: Record<string, string>, flags = noFlags) {
  const logger = createMemoryLogger();
  warnIfNothingToRecord(loadConfig({ ...minimal, ...env }), flags, logger);
  return logger.lines.filter((l) => l.level === "warn").map((l) => l.msg);
}

describe("serve with nothing to record", () => {
  test("plain serve warns once, naming the three ways to record", () => {
    const warnings = warningsOf({});
    expect(warnings).toHaveLength(1);
    for (const way of ["UPSTREAM_URL", "--upstream", "INGEST_KEYS", "footprint() middleware", "RECORD=false"]) {
      expect(warnings[0]).toContain(way);
    }
  });

  test.each([
    ["a reverse proxy", { UPSTREAM_URL: "http://127.0.0.1:3000" }, noFlags],
    ["ingest keys", { INGEST_KEYS: "k".repeat(16) }, noFlags],
    ["the demo site", {}, { consumer: true, demo: true }],
    ["RECORD=false (the library records elsewhere)", { RECORD: "false" }, noFlags],
  ])("no warning with %s", (_name, env, flags) => {
    expect(warningsOf(env, flags)).toEqual([]);
  });
});
