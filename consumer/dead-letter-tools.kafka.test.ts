import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, type KafkaMessage, logLevel } from "kafkajs";
import { eventIdFromOrigin, parseFootprintMessage, parseOrigin } from "../src/footprint/parse-message.ts";
import { createTestTopic } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { createDeadLetterSink, type DeadLetter, headerText, ORIGIN_HEADER } from "./dead-letter.ts";
import { listDeadLetters, replayDeadLetters } from "./dead-letter-tools.ts";

describe("dlq list and replay (real broker)", () => {
  let t: Awaited<ReturnType<typeof createTestTopic>>;
  let kafka: Kafka;
  let admin: ReturnType<Kafka["admin"]>;

  beforeAll(async () => {
    t = await createTestTopic();
    kafka = new Kafka({ brokers: t.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin.deleteGroups([`${t.groupId}-dlq-replay`]).catch(() => {});
    await admin.disconnect();
    await t.drop();
  });

  const letter = (offset: string, value: string): DeadLetter => ({
    origin: { topic: t.topic, partition: 0, offset },
    code: "MESSAGE_INVALID",
    message: "footprint_time: must be ISO-8601",
    value: Buffer.from(value),
    headers: { "x-producer": "legacy" },
    timestamp: "1700000000000",
  });

  test("list shows each source message once; replay sends each once, with its origin", async () => {
    expect((await listDeadLetters(kafka, admin, { topic: t.topic, groupId: t.groupId })).letters).toEqual([]);
    const sink = createDeadLetterSink(kafka, admin, t.topic);
    // A seed-format message once invalid (its time had no zone), written twice as after a crash.
    const fixedLater = JSON.stringify({ method: "GET", link: "/a", footprint_time: "2025-05-19T13:45:30Z" });
    await sink.send([letter("7", fixedLater), letter("8", "garbage")]);
    await sink.send([letter("7", fixedLater)]);
    await sink.disconnect();

    const listed = await listDeadLetters(kafka, admin, { topic: t.topic, groupId: t.groupId });
    expect(listed.letters.map((l) => [l.origin?.offset, l.code, l.value?.toString()])).toEqual([
      ["7", "MESSAGE_INVALID", fixedLater],
      ["8", "MESSAGE_INVALID", "garbage"],
    ]);
    expect(listed.duplicates).toBe(1);

    expect(
      (await replayDeadLetters(kafka, admin, { topic: t.topic, groupId: t.groupId, dryRun: true })).replayed,
    ).toHaveLength(2);
    expect((await replayDeadLetters(kafka, admin, { topic: t.topic, groupId: t.groupId })).replayed).toHaveLength(2);
    expect((await replayDeadLetters(kafka, admin, { topic: t.topic, groupId: t.groupId })).replayed).toHaveLength(0);

    const back: KafkaMessage[] = [];
    const reader = kafka.consumer({ groupId: `${t.groupId}-reader`, maxWaitTimeInMs: 100 });
    await reader.connect();
    try {
      await reader.subscribe({ topic: t.topic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => void back.push(message) });
      await waitFor(
        "two replayed messages",
        async () => back.length,
        (n) => n >= 2,
      );
    } finally {
      await reader.disconnect();
      await admin.deleteGroups([`${t.groupId}-reader`]).catch(() => {});
    }
    expect(
      back.map((m) => [m.value?.toString(), headerText(m.headers, ORIGIN_HEADER), headerText(m.headers, "x-producer")]),
    ).toEqual([
      [fixedLater, `${t.topic}/0/7`, "legacy"],
      ["garbage", `${t.topic}/0/8`, "legacy"],
    ]);
    // The replayed seed message gets the event id of its first position, wherever it lands now.
    const origin = parseOrigin(headerText(back[0]?.headers, ORIGIN_HEADER));
    const parsed = parseFootprintMessage(
      back[0]?.value ?? null,
      origin ?? { topic: t.topic, partition: 0, offset: "0" },
    );
    expect(parsed.ok && parsed.row.eventId).toBe(eventIdFromOrigin({ topic: t.topic, partition: 0, offset: "7" }));
  }, 60_000);
});
