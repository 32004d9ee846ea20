/**
 * The SendBatch contract, for each producer client on a real broker: a send resolves only once the
 * broker has every value of the batch, and a send the broker never acknowledged never resolves —
 * it rejects when the sender is disconnected under it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { closedPort } from "../test/support/closed-port.ts";
import { createTestTopic } from "../test/support/stack.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { createKafka, createKafkajsSender, type KafkaOptions, type KafkaSender } from "./kafka.ts";
import { createPlatformaticSender } from "./kafka-platformatic.ts";
import { createLogger } from "./log.ts";

const logger = createLogger({ level: "error", write: () => {} });
const senders: Record<string, (options: KafkaOptions, topic: string) => KafkaSender> = {
  kafkajs: (options, topic) => createKafkajsSender(createKafka(options), topic),
  platformatic: createPlatformaticSender,
};

for (const [client, createSender] of Object.entries(senders)) {
  describe(`SendBatch on ${client}`, () => {
    let world: Awaited<ReturnType<typeof createTestTopic>>;
    beforeAll(async () => {
      world = await createTestTopic(3);
    });
    afterAll(async () => {
      await world.drop();
    });

    test("a resolved send means the broker holds every value of the batch", async () => {
      const send = createSender({ brokers: world.brokers, clientId: "eft-sender-test", logger }, world.topic);
      const values = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ i }));
      await send.connect();
      await send(values.slice(0, 600));
      await send(values.slice(600));
      await send.disconnect();
      const admin = new Kafka({ brokers: world.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(world.topic);
      await admin.disconnect();
      // Spread over the partitions (no key), and nothing written twice.
      expect(offsets.filter((p) => Number(p.high) > 0).length).toBeGreaterThan(1);
      expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(values.length);
    });

    test("a send no broker acknowledged rejects when the sender is disconnected, never resolves", async () => {
      const send = createSender(
        {
          brokers: [`127.0.0.1:${closedPort()}`],
          clientId: "eft-sender-test",
          logger,
          timeouts: { connectionMs: 200, requestMs: 1000 },
        },
        world.topic,
      );
      const outcome = send(["lost?"]).then(
        () => "resolved",
        () => "rejected",
      );
      await send.disconnect();
      expect(await outcome).toBe("rejected");
    });
  });
}

test("either client keys a footprint by its event_id: every copy of an event lands in one partition", async () => {
  const world = await createTestTopic(3);
  const consumer = new Kafka({ brokers: world.brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: world.groupId,
  });
  try {
    const ids = Array.from({ length: 60 }, () => crypto.randomUUID());
    const values = ids.map((event_id) => JSON.stringify({ method: "GET", link: "/k", event_id }));
    // The first copy from one client, the resend from the other (the loop and ingest share the latter).
    for (const createSender of Object.values(senders)) {
      const send = createSender({ brokers: world.brokers, clientId: "eft-sender-test", logger }, world.topic);
      await send(values);
      await send.disconnect();
    }
    const seen: { key: string | undefined; partition: number; id: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: world.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const id = (JSON.parse(String(message.value)) as { event_id: string }).event_id;
        seen.push({ key: message.key?.toString(), partition, id });
      },
    });
    await waitFor(
      "both copies read back",
      async () => seen.length,
      (n) => n >= 2 * ids.length,
      30_000,
    );
    expect(seen.every((m) => m.key === m.id)).toBe(true);
    const partitionsOf = new Map<string, Set<number>>();
    for (const m of seen) partitionsOf.set(m.id, (partitionsOf.get(m.id) ?? new Set()).add(m.partition));
    expect([...partitionsOf.values()].filter((p) => p.size > 1)).toEqual([]);
    expect(new Set(seen.map((m) => m.partition)).size).toBeGreaterThan(1);
  } finally {
    await consumer.disconnect();
    await world.drop();
  }
}, 60_000);
