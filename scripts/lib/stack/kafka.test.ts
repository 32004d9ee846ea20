import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useKafkaBrokers } from "./kafka.ts";
import { loadStackOptions, parseBrokersFlag } from "./options.ts";
import type { StackState } from "./state.ts";

describe("up --brokers N", () => {
  test("the flag takes a broker count from 1 to 9 and nothing else", () => {
    expect(parseBrokersFlag([])).toBeUndefined();
    expect(parseBrokersFlag(["--brokers", "3"])).toBe(3);
    expect(parseBrokersFlag(["--brokers", "0"])).toContain("from 1 to 9");
    expect(parseBrokersFlag(["--brokers"])).toContain("from 1 to 9");
    expect(parseBrokersFlag(["--purge"])).toBe("up: unknown argument --purge");
  });

  test("a stack dir keeps the cluster size its Kafka data was formatted with", () => {
    const dir = mkdtempSync(join(tmpdir(), "eft-stack-brokers-"));
    try {
      const options = (n?: number) => ({ ...loadStackOptions({ EFT_STACK_DIR: dir }, "/repo"), kafkaBrokers: n });
      const state: StackState = { ports: {}, processes: {} };
      // Fresh dir: any size goes, and is remembered.
      expect(useKafkaBrokers(options(3), state)).toBeUndefined();
      expect(state.kafkaBrokers).toBe(3);
      mkdirSync(join(dir, "kafka/data"), { recursive: true });
      writeFileSync(join(dir, "kafka/data/meta.properties"), "node.id=1\n");
      // Formatted: the same size (or no flag) is fine, another is refused with the way out.
      expect(useKafkaBrokers(options(3), state)).toBeUndefined();
      expect(useKafkaBrokers(options(undefined), state)).toBeUndefined();
      expect(useKafkaBrokers(options(1), state)).toContain("holds a 3-broker Kafka");
      expect(state.kafkaBrokers).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
