import { describe, expect, test } from "bun:test";
import type { ITopicConfig } from "kafkajs";
import { AppError } from "./errors.ts";
import { createMissingTopics, type TopicsAdmin, unlessTopicMissing, waitForTopic, watchTopic } from "./kafka-topics.ts";
import { createMemoryLogger } from "./log.ts";

const MISSING = "topic \"web\" does not exist: run 'eft-footprint migrate' to create it (TOPIC_PARTITIONS=3)";

/** A cluster that knows `topics` (name → partitions) and records what it was asked to create. */
function fakeAdmin(topics: Record<string, number>) {
  const created: ITopicConfig[] = [];
  const admin: TopicsAdmin = {
    listTopics: async () => Object.keys(topics),
    createTopics: async ({ topics: wanted }) => {
      for (const t of wanted) {
        created.push(t);
        topics[t.topic] = t.numPartitions ?? 1;
      }
      return true;
    },
    fetchTopicMetadata: async (request) => ({
      topics: (request?.topics ?? []).map((name) => ({
        name,
        partitions: Array.from({ length: topics[name] ?? 0 }, (_, i) => ({
          partitionErrorCode: 0,
          partitionId: i,
          leader: 1,
          replicas: [1],
          isr: [1],
          offlineReplicas: [],
        })),
      })),
    }),
  };
  return { admin, created };
}

describe("createMissingTopics (migrate)", () => {
  test("creates the topic with TOPIC_PARTITIONS and the dead-letter topic with one, replication from the cluster", async () => {
    const { admin, created } = fakeAdmin({});
    const logger = createMemoryLogger();
    const reports = await createMissingTopics(admin, { topic: "web", partitions: 3, logger });
    expect(created).toEqual([
      { topic: "web", numPartitions: 3, replicationFactor: -1 },
      { topic: "web.dlq", numPartitions: 1, replicationFactor: -1 },
    ]);
    expect(reports).toEqual([
      { topic: "web", created: true, partitions: 3 },
      { topic: "web.dlq", created: true, partitions: 1 },
    ]);
    expect(logger.lines.map((l) => l.msg)).toEqual([
      "topic web created: 3 partitions",
      "topic web.dlq created: 1 partition",
    ]);
  });

  test("existing topics are reported as they are and never changed", async () => {
    const { admin, created } = fakeAdmin({ "web-logs-topic": 1, "web-logs-topic.dlq": 2 });
    const logger = createMemoryLogger();
    await createMissingTopics(admin, { topic: "web-logs-topic", partitions: 3, logger });
    expect(created).toEqual([]);
    expect(logger.lines.map((l) => l.msg)).toEqual([
      "topic web-logs-topic exists: 1 partition",
      "topic web-logs-topic.dlq exists: 2 partitions",
    ]);
  });
});

describe("watchTopic", () => {
  const setup = (answers: (() => Promise<string[]>)[]) => {
    let t = 0;
    let asked = 0;
    const logger = createMemoryLogger();
    const watch = watchTopic({
      listTopics: () => {
        const answer = answers[Math.min(asked, answers.length - 1)] as () => Promise<string[]>;
        asked++;
        return answer();
      },
      topic: "web",
      partitions: 3,
      logger,
      cacheMs: 5000,
      logEveryMs: 300_000,
      now: () => t,
    });
    return {
      watch,
      logger,
      asked: () => asked,
      at: (ms: number) => {
        t = ms;
      },
    };
  };
  const none = async () => ["other"];
  const there = async () => ["other", "web"];

  test("asks Kafka at most once per cacheMs", async () => {
    const w = setup([none]);
    await Promise.all([w.watch.exists(), w.watch.exists(), w.watch.check().catch(() => {})]);
    w.at(4999);
    await w.watch.exists();
    expect(w.asked()).toBe(1);
    w.at(5000);
    await w.watch.exists();
    expect(w.asked()).toBe(2);
  });

  test("while missing: one warning with the fix, then at most every logEveryMs; one line when it appears", async () => {
    const w = setup([none, none, none, there]);
    await w.watch.exists();
    w.at(10_000);
    await w.watch.exists();
    w.at(300_000);
    await w.watch.exists();
    w.at(305_000);
    expect(await w.watch.exists()).toBe(true);
    expect(w.logger.lines.map((l) => [l.level, l.msg])).toEqual([
      ["warn", MISSING],
      ["warn", MISSING],
      ["info", 'topic "web" exists now'],
    ]);
  });

  test("check() (readiness) fails with TOPIC_MISSING or Kafka's error; assertNotMissing() only when Kafka said missing", async () => {
    const missing = setup([none]);
    const err = await missing.watch.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "TOPIC_MISSING", status: 503, message: MISSING });
    expect(await missing.watch.assertNotMissing().catch((e: AppError) => e.code)).toBe("TOPIC_MISSING");

    const down = setup([() => Promise.reject(new Error("Connection error: ECONNREFUSED"))]);
    expect(await down.watch.check().catch((e: Error) => e.message)).toBe("Connection error: ECONNREFUSED");
    expect(await down.watch.assertNotMissing()).toBeUndefined();

    const fine = setup([there]);
    expect(await fine.watch.check()).toBeUndefined();
  });

  test("unlessTopicMissing fails a send at once instead of handing it to kafkajs", async () => {
    const sent: string[][] = [];
    const send = async (v: string[]) => void sent.push(v);
    const missing = setup([none]);
    expect(await unlessTopicMissing(missing.watch, send)(["a"]).catch((e: AppError) => e.code)).toBe("TOPIC_MISSING");
    const fine = setup([there]);
    await unlessTopicMissing(fine.watch, send)(["b"]);
    expect(sent).toEqual([["b"]]);
  });

  test("waitForTopic polls until the topic appears, and gives up when aborted", async () => {
    const w = setup([none, none, there]);
    w.at(0);
    const polls: number[] = [];
    const stepping = watchTopic({
      listTopics: () => {
        polls.push(polls.length);
        return polls.length < 3 ? none() : there();
      },
      topic: "web",
      partitions: 3,
      logger: createMemoryLogger(),
      cacheMs: 0,
    });
    expect(await waitForTopic(stepping, new AbortController().signal, 1)).toBe(true);
    expect(polls.length).toBe(3);

    const aborted = new AbortController();
    const waiting = waitForTopic(w.watch, aborted.signal, 60_000);
    aborted.abort();
    expect(await waiting).toBe(false);
  });
});
