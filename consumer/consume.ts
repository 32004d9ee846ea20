/**
 * Delivery contract: Kafka gives at-least-once; every sink is idempotent; an offset is committed
 * only once its message is stored in that sink or dead-lettered — never because it failed.
 *
 * Each store is consumed by its own consumer group, `<GROUP_ID>-<store>` (e.g.
 * `eft-footprint-postgres`, `eft-footprint-clickhouse`), in this one process: a PostgreSQL
 * outage pauses only the PostgreSQL group while ClickHouse keeps ingesting, and the other way
 * round. Invalid messages, and rows a store refuses for their content, go to `<topic>.dlq`,
 * written by every group through one sink (a parse error once, by the group that reaches it first).
 */
import type { Admin } from "kafkajs";
import type { Logger } from "../src/log.ts";
import type { Store } from "../src/store/store.ts";
import { createDeadLetterSink } from "./dead-letter.ts";
import { createDecodedMessages } from "./decoded-messages.ts";
import { type SinkConsumer, type SinkConsumerOptions, startSinkConsumer } from "./sink-consumer.ts";

/** A sink consumer's options, for every store at once. */
export type ConsumerOptions = Omit<SinkConsumerOptions, "admin" | "groupId" | "store" | "deadLetters" | "decoded"> & {
  /** Base name: each store gets the group `<groupId>-<store name>`. */
  groupId: string;
  stores: readonly Store[];
};

/** The consumer of every store, as the commands hold it. */
export type RunningConsumer = { stop(timeoutMs?: number): Promise<void> };

export function sinkGroupId(groupId: string, store: Pick<Store, "name">): string {
  return `${groupId}-${store.name}`;
}

export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { stores, groupId: baseGroupId, ...common } = options;
  const { kafka, topic, logger } = common;
  const admin = kafka.admin();
  await admin.connect();
  const deadLetters = createDeadLetterSink(kafka, admin, topic);
  const sinks: SinkConsumer[] = [];
  const decoded = createDecodedMessages(stores.length);
  try {
    for (const store of stores) {
      const groupId = sinkGroupId(baseGroupId, store);
      await adoptLegacyGroupOffsets(admin, { from: baseGroupId, to: groupId, topic }, logger);
      sinks.push(await startSinkConsumer({ ...common, admin, groupId, store, deadLetters, decoded }));
    }
  } catch (err) {
    await Promise.all(sinks.map((s) => s.stop(1000)));
    await deadLetters.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    throw err;
  }

  return {
    async stop(timeoutMs = 10_000) {
      await Promise.all(sinks.map((s) => s.stop(timeoutMs)));
      await deadLetters.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}

/**
 * Upgrade from the single consumer group of earlier versions: a sink group that has never
 * committed starts where the old group (`GROUP_ID`) stopped, which covered both stores. Without
 * this it would start from OFFSET_RESET_CONFIG: `earliest` stores the topic's whole retained
 * history again (PostgreSQL drops the repeats by event_id; ClickHouse would count them twice),
 * `latest` skips what arrived during the upgrade. The old group is left untouched.
 */
export async function adoptLegacyGroupOffsets(
  admin: Admin,
  { from, to, topic }: { from: string; to: string; topic: string },
  logger: Logger,
): Promise<boolean> {
  const [mine] = await admin.fetchOffsets({ groupId: to, topics: [topic] });
  if (mine?.partitions.some((p) => Number(p.offset) >= 0)) return false;
  const [legacy] = await admin.fetchOffsets({ groupId: from, topics: [topic] });
  const partitions = (legacy?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
  if (partitions.length === 0) return false;
  try {
    await admin.setOffsets({
      groupId: to,
      topic,
      partitions: partitions.map(({ partition, offset }) => ({ partition, offset })),
    });
  } catch (err) {
    // Another process just started this group: it adopted the same offsets, or is past them.
    logger.warn("could not adopt the old consumer group's offsets", { from, to, err });
    return false;
  }
  logger.info("consumer group starts from the old single group's offsets", { from, to, partitions });
  return true;
}
