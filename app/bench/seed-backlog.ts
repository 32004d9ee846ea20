/**
 * A backlog of seed-format messages (the old system's three fields, no key), produced fast:
 * kafkajs batch sends of `chunk` messages, several in flight. For draining measurements.
 *
 *   bun app/bench/seed-backlog.ts <brokers> <topic> <count> [--create] [--partitions N]
 *
 * `produceSeedBacklog` is the same for code (the bench).
 */
import type { Kafka } from "kafkajs";
import { Kafka as KafkaClient, logLevel } from "kafkajs";
import { formatZoned } from "../../src/time.ts";

const METHODS = ["GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"] as const;

/** The i-th seed-format message value, as the Python producer wrote it (Korea time, microseconds). */
export function seedMessage(i: number, startMs: number): string {
  const micros = (startMs + i * 7) * 1000 + (i % 1000);
  return JSON.stringify({
    method: METHODS[i % METHODS.length],
    link: `/api/v1/items/${i % 997}`,
    footprint_time: formatZoned(micros, "Asia/Seoul"),
  });
}

export type SeedBacklogOptions = {
  kafka: Kafka;
  topic: string;
  count: number;
  /** Messages per send (default 1000). */
  chunk?: number;
  /** Sends in flight at once (default 4). */
  inFlight?: number;
  /** footprint_time of the first message, epoch ms (default: one day ago). */
  startMs?: number;
};

/** Produces `count` seed-format messages to `topic`; resolves once Kafka acknowledged all. */
export async function produceSeedBacklog(options: SeedBacklogOptions): Promise<void> {
  const { kafka, topic, count } = options;
  const chunk = options.chunk ?? 1000;
  const inFlight = options.inFlight ?? 4;
  const startMs = options.startMs ?? Date.now() - 86_400_000;
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const from = next;
        const to = Math.min(count, from + chunk);
        next = to;
        const messages = [];
        for (let i = from; i < to; i++) messages.push({ value: seedMessage(i, startMs) });
        await producer.send({ topic, acks: 1, messages });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
  } finally {
    await producer.disconnect();
  }
}

if (import.meta.main) {
  const [brokers, topic, countText, ...rest] = process.argv.slice(2);
  if (!brokers || !topic || !countText) {
    console.error("usage: bun app/bench/seed-backlog.ts <brokers> <topic> <count> [--create] [--partitions N]");
    process.exit(2);
  }
  const kafka = new KafkaClient({
    clientId: "eft-seed-backlog",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  if (rest.includes("--create")) {
    const p = rest.indexOf("--partitions");
    const numPartitions = p >= 0 ? Number(rest[p + 1]) : 1;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
    await admin.disconnect();
  }
  const started = performance.now();
  await produceSeedBacklog({ kafka, topic, count: Number(countText) });
  const s = (performance.now() - started) / 1000;
  console.log(`${countText} seed-format messages to ${topic} in ${s.toFixed(2)} s`);
}
