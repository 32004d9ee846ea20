/**
 * The SendBatch contract, for each producer client on a real broker: a send resolves only once the
 * broker has every value of the batch, and a send the broker never acknowledged never resolves —
 * it rejects when the sender is disconnected under it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import { closedPort } from "../test/support/closed-port.ts";
import { createTestTopic } from "../test/support/stack.ts";
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
