import { describe, expect, test } from "bun:test";
import { logLevel } from "kafkajs";
import { kafkaLogCreator } from "./kafka.ts";
import { createMemoryLogger } from "./log.ts";

/** kafkajs's log lines, as its connection, producer and consumer write them. */
const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) => ({
  namespace: "test",
  level,
  label: "ERROR",
  log: { timestamp: "2025-01-01T00:00:00.000Z", logger: "kafkajs", message, ...extra },
});

describe("kafkajs log lines", () => {
  const levelsOf = (entries: ReturnType<typeof entry>[]) => {
    const logger = createMemoryLogger();
    const write = kafkaLogCreator(logger)(logLevel.WARN);
    for (const e of entries) write(e);
    return logger.lines.map((l) => [l.level, l.msg]);
  };

  test("transient coordinator and leadership states a healthy cluster passes through are debug", () => {
    expect(
      levelsOf([
        entry(logLevel.ERROR, "Response JoinGroup(key: 11, version: 5)", {
          error: "The coordinator is loading and hence can't process requests for this group",
        }),
        entry(logLevel.ERROR, "Response FindCoordinator(key: 10, version: 2)", {
          error: "The group coordinator is not available",
        }),
        entry(logLevel.WARN, "The group is rebalancing, re-joining", { groupId: "g" }),
        entry(logLevel.ERROR, "Failed to send messages: This server does not host this topic-partition"),
        entry(logLevel.ERROR, "This server is not the leader for that topic-partition"),
      ]),
    ).toEqual([
      ["debug", "Response JoinGroup(key: 11, version: 5)"],
      ["debug", "Response FindCoordinator(key: 10, version: 2)"],
      ["debug", "The group is rebalancing, re-joining"],
      ["debug", "Failed to send messages: This server does not host this topic-partition"],
      ["debug", "This server is not the leader for that topic-partition"],
    ]);
  });

  test("real failures keep their level, including a consumer that gave up on a transient state", () => {
    expect(
      levelsOf([
        entry(logLevel.ERROR, "Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available"),
        entry(logLevel.ERROR, "Restarting the consumer in 1000ms", { error: "The coordinator is loading" }),
        entry(logLevel.ERROR, "Connection error: connect ECONNREFUSED 127.0.0.1:9092"),
        entry(logLevel.WARN, "Could not create topics", { error: "Topic with this name already exists" }),
      ]),
    ).toEqual([
      ["error", "Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available"],
      ["error", "Restarting the consumer in 1000ms"],
      ["error", "Connection error: connect ECONNREFUSED 127.0.0.1:9092"],
      ["warn", "Could not create topics"],
    ]);
  });
});
