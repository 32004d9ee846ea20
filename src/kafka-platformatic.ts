import type { Producer } from "@platformatic/kafka";
import type { KafkaOptions, KafkaSender } from "./kafka.ts";
import { messageKeyOf } from "./kafka-message-key.ts";
import { keyPartition } from "./kafka-partition.ts";

/** Between retries of one request: 100 ms doubling to 2 s. */
const retryDelay = (_client: unknown, _operation: string, attempt: number) => Math.min(100 * 2 ** attempt, 2_000);

/**
 * Where a message goes: a keyed one by its key hashed as the Java client and kafkajs do (murmur2 &
 * 0x7fffffff, modulo the partitions; the library's default, murmur2 >>> 0, sends half the keys to
 * another partition; its compatibilityPartitioner gives the same as keyPartition, with BigInt),
 * one without a key round robin (the library's compatible partitioner alone would send them all
 * to partition 0).
 */
function keyedOrRoundRobin() {
  let next = 0;
  return (_message: unknown, key?: Buffer) => {
    if (key) return keyPartition(key);
    next = (next + 1) % 0x7fffffff;
    return next;
  };
}

/**
 * Loaded only by a command that produces, as soon as it creates a sender (serve, at start-up): the
 * library compiles its option validators (ajv) when imported, ~0.6 s of CPU, which every other
 * command (consume, doctor, dlq, --version) would otherwise pay too.
 */
let library: Promise<typeof import("@platformatic/kafka")> | undefined;
const loadLibrary = () => {
  library ??= import("@platformatic/kafka");
  return library;
};

/**
 * The producer loop's SendBatch on @platformatic/kafka: idempotent (acks=-1, one request in flight
 * per broker, sequence numbers per partition), and a send resolves only once every partition it
 * wrote to acknowledged it. Like the kafkajs sender it retries a request for as long as it takes
 * instead of giving up on it: a failed idempotent send makes the client drop its producer id, and
 * the loop's resend under a new id could then write a batch the broker had already taken a second
 * time. The loop reports a send that takes longer than its ackReportMs. Connects lazily (on the
 * first send), so `serve` answers requests while Kafka is still down.
 */
export function createPlatformaticSender(options: KafkaOptions, topic: string): KafkaSender {
  loadLibrary().catch(() => {}); // a failure shows on the first send
  let producer: Promise<Producer<string, string, string, string>> | undefined;
  const connected = () => {
    producer ??= loadLibrary().then(
      ({ Producer, ProduceAcks, stringSerializers }) =>
        new Producer({
          clientId: options.clientId,
          bootstrapBrokers: [...options.brokers],
          idempotent: true,
          acks: ProduceAcks.ALL,
          compression: "gzip",
          autocreateTopics: false,
          serializers: stringSerializers,
          partitioner: keyedOrRoundRobin(),
          connectTimeout: options.timeouts?.connectionMs ?? 1_000,
          timeout: options.timeouts?.requestMs ?? 30_000,
          retries: Number.MAX_SAFE_INTEGER,
          retryDelay,
        }),
    );
    return producer;
  };
  const send = async (values: string[]) => {
    // Keyed by event_id, so that every copy of an event lands in one partition (kafka-message-key.ts).
    await (await connected()).send({ messages: values.map((value) => ({ topic, key: messageKeyOf(value), value })) });
  };
  return Object.assign(send, {
    async connect() {
      await (await connected()).initIdempotentProducer({});
    },
    async disconnect() {
      await (await producer)?.close();
    },
  });
}
