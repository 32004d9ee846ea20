import { startConsumer } from "../../consumer/consume.ts";
import type { Config } from "../config.ts";
import { createKafka } from "../kafka.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
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
  onShutdownSignal(async (signal) => {
    logger.info("stopping", { signal });
    aborted.abort();
    await (await consumer)?.stop();
    await Promise.all(stores.map((s) => s.close()));
    logger.info("stopped");
  }, logger);
  consumer = startPipelineConsumer(config, stores, logger, aborted.signal);
  await consumer;
}
