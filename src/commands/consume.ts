import { startConsumer } from "../../consumer/consume.ts";
import type { Config } from "../config.ts";
import { createKafka } from "../kafka.ts";
import type { Logger } from "../log.ts";
import { startRetentionJob } from "../store/retention.ts";
import type { Store } from "../store/store.ts";
import { createSystemdNotifier } from "../systemd.ts";
import { migrateStores, onShutdownSignal, openStores, retryUntil } from "./context.ts";

export type RunningConsumer = { stop(): Promise<void> };

/**
 * Migrates, then consumes; both wait for their dependencies instead of failing, so a consumer
 * started before Kafka or a store is up simply begins once they are.
 */
export async function startPipelineConsumer(
  config: Config,
  stores: readonly Store[],
  logger: Logger,
  signal: AbortSignal,
): Promise<RunningConsumer | undefined> {
  const migrated = await retryUntil("migration", () => migrateStores(stores, logger).then(() => true), logger, signal);
  if (!migrated) return undefined;
  // Hourly in every serve/consume process; a lock lets one of them delete at a time.
  startRetentionJob({ stores, days: config.retention.days, logger: logger.child({ component: "retention" }), signal });
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-consumer`, logger });
  return retryUntil(
    "consumer start",
    () =>
      startConsumer({
        kafka,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        fromBeginning: config.kafka.fromBeginning,
        stores,
        logger,
        batchSize: config.consumer.batchSize,
        flushMs: config.consumer.flushMs,
      }),
    logger,
    signal,
  );
}

/** `eft-footprint consume`: the consumer alone; run several with one GROUP_ID to scale out. */
export async function runConsume(config: Config, logger: Logger): Promise<void> {
  const stores = openStores(config);
  const aborted = new AbortController();
  let consumer: Promise<RunningConsumer | undefined> | undefined;
  const systemd = createSystemdNotifier(config.systemd.notifySocket, logger);
  onShutdownSignal(async (signal) => {
    logger.info("stopping", { signal });
    systemd.stopping();
    aborted.abort();
    await (await consumer)?.stop();
    await Promise.all(stores.map((s) => s.close()));
    logger.info("stopped");
  }, logger);
  // Ready at once: the consumer waits for Kafka and the stores by itself, and systemd must not
  // time the start out (and restart it over and over) while they are down.
  systemd.ready("starting: migrating, then joining the consumer group");
  consumer = startPipelineConsumer(config, stores, logger, aborted.signal);
  if (await consumer) systemd.status(`consuming ${config.kafka.topic} as group ${config.kafka.groupId}`);
}
