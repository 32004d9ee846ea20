import { randomBytes } from "node:crypto";
import { type Admin, type Kafka, Kafka as KafkaClient, logLevel } from "kafkajs";
import type { Config } from "../../src/config.ts";
import type { BenchStores } from "./bench-databases.ts";

/** A fresh topic `eft-bench-<random>` (1 partition, as production) and group id; drop() deletes them. */
export async function createBenchTopic(
  config: Config,
): Promise<{ kafka: Kafka; topic: string; groupId: string; drop(): Promise<void> }> {
  const kafka = new KafkaClient({
    clientId: "eft-bench",
    brokers: [...config.kafka.brokers],
    logLevel: logLevel.NOTHING,
  });
  const topic = `eft-bench-${randomBytes(5).toString("hex")}`;
  const groupId = `${topic}-group`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return {
    kafka,
    topic,
    groupId,
    drop: async () => {
      const a = kafka.admin();
      await a.connect();
      try {
        const existing = new Set(await a.listTopics());
        await a.deleteTopics({ topics: [topic, `${topic}.dlq`].filter((t) => existing.has(t)) });
        const groups = new Set((await a.listGroups()).groups.map((g) => g.groupId));
        const ours = [groupId, `${groupId}-postgres`, `${groupId}-clickhouse`].filter((g) => groups.has(g));
        if (ours.length) await a.deleteGroups(ours).catch(() => {});
      } finally {
        await a.disconnect();
      }
    },
  };
}

/** Rows visible in each store's user_footprint. */
export async function countBoth(stores: BenchStores): Promise<{ postgres: number; clickhouse: number }> {
  const [postgres, clickhouse] = await Promise.all([stores.pg.countFootprints(), stores.ch.countFootprints()]);
  return { postgres, clickhouse };
}

/**
 * Lowest offset every consumer group of `groupId` has committed on the (one-partition) topic, and
 * how many groups there are. Offsets rather than row counts: a count(*) of a growing table every
 * few hundred ms would cost PostgreSQL more CPU than the rows being measured.
 */
export async function committedOffset(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ groups: number; offset: number }> {
  const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupId));
  let offset = Number.POSITIVE_INFINITY;
  for (const g of groups) {
    const [entry] = await admin.fetchOffsets({ groupId: g, topics: [topic] });
    const sum = (entry?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    offset = Math.min(offset, sum);
  }
  return { groups: groups.length, offset: groups.length ? offset : 0 };
}
