import { Hono } from "hono";
import { type RunningConsumer, startConsumer } from "../../consumer/consume.ts";
import { healthRoutes } from "../../routes/health.ts";
import { metricsRoutes } from "../../routes/metrics.ts";
import type { Config } from "../../src/config.ts";
import { logConfigWarnings, readConfig } from "../../src/config-file.ts";
import { createKafka } from "../../src/kafka.ts";
import { type TopicWatch, waitForTopic, watchTopicOf } from "../../src/kafka-topics.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { createMetrics, type Metrics } from "../../src/metrics.ts";
import { retryUntil } from "../../src/retry.ts";
import { migrateStores, openStores } from "../../src/store/open-stores.ts";
import { storeReadinessChecks } from "../../src/store/readiness.ts";
import { startRetentionJob } from "../../src/store/retention.ts";
import type { Store } from "../../src/store/store.ts";
import { createSystemdNotifier } from "../../src/systemd.ts";
import { onShutdownSignal } from "../shutdown.ts";
import { defineCommand } from "./command.ts";

export const consumeCommand = defineCommand({
  name: "consume",
  summary: "the consumer alone; run several with one GROUP_ID to scale out",
  help: `Usage: eft-footprint consume [--env-file <path>]

Reads footprints from Kafka (TOPIC) and writes them in batches (BATCH_SIZE messages per partition
or BATCH_FLUSH_MS, whichever first) to PostgreSQL and ClickHouse, each store through its own
consumer group (GROUP_ID-postgres, GROUP_ID-clickhouse): a store that is down pauses only its own
group, which retries and resumes by itself. An offset is committed only once its message is stored
in that store or sent to the dead-letter topic TOPIC.dlq (see 'eft-footprint dlq --help').
Serves /metrics, /healthz and /readyz on METRICS_PORT (default 9464). Stops on SIGTERM/SIGINT,
finishing its current batches within SHUTDOWN_TIMEOUT_MS.
`,
  options: {},
  async run({ env, envFile }) {
    const config = readConfig(env, envFile);
    await runConsume(config, createLogger(config.log));
    return -1; // keeps running until a signal
  },
});

/**
 * Migrates, then consumes; both wait for their dependencies instead of failing, so a consumer
 * started before Kafka or a store is up simply begins once they are.
 */
export async function startPipelineConsumer(
  config: Config,
  stores: readonly Store[],
  logger: Logger,
  signal: AbortSignal,
  topicWatch: TopicWatch,
  metrics?: Metrics,
): Promise<RunningConsumer | undefined> {
  const migrated = await retryUntil("migration", () => migrateStores(stores, logger).then(() => true), logger, signal);
  if (!migrated) return undefined;
  if (!(await waitForTopic(topicWatch, signal))) return undefined;
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
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        ...(metrics ? { metrics } : {}),
      }),
    logger,
    signal,
  );
}

/** `eft-footprint consume`: the consumer alone; run several with one GROUP_ID to scale out. */
export async function runConsume(config: Config, logger: Logger): Promise<void> {
  logConfigWarnings(config, logger);
  const stores = openStores(config);
  const aborted = new AbortController();
  let consumer: Promise<RunningConsumer | undefined> | undefined;
  const systemd = createSystemdNotifier(config.systemd.notifySocket, logger);
  const metrics = createMetrics({ processMetrics: true });
  const admin = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger }).admin();
  const topicWatch = watchTopicOf(admin, config.kafka, logger);
  // No site here: METRICS_PORT carries what monitoring needs (serve has them on its own port).
  const probe = new Hono()
    .route("/", healthRoutes({ ...storeReadinessChecks(stores), topic: () => topicWatch.check() }))
    .route("/", metricsRoutes(metrics.registry));
  let server: ReturnType<typeof Bun.serve> | undefined;
  try {
    server = Bun.serve({ hostname: config.http.host, port: config.metricsPort, fetch: probe.fetch });
    logger.info("metrics listening", { url: `http://${config.http.host}:${server.port}/metrics` });
  } catch (err) {
    // Several consumers on one host share the env file: the second must consume all the same.
    logger.error("METRICS_PORT not available: this consumer serves no /metrics or health", {
      port: config.metricsPort,
      err,
    });
  }
  onShutdownSignal(
    async (signal) => {
      const started = Date.now();
      logger.info("stopping", { signal });
      systemd.stopping();
      aborted.abort();
      await (await consumer)?.stop(Math.max(0, config.shutdownTimeoutMs - 1000 - (Date.now() - started)));
      await admin.disconnect().catch(() => {});
      await Promise.all(stores.map((s) => s.close()));
      await server?.stop();
      logger.info("stopped");
    },
    logger,
    config.shutdownTimeoutMs,
  );
  // Ready at once: the consumer waits for Kafka and the stores by itself, and systemd must not
  // time the start out (and restart it over and over) while they are down.
  systemd.ready("starting: migrating, then joining the consumer group");
  consumer = startPipelineConsumer(config, stores, logger, aborted.signal, topicWatch, metrics);
  if (await consumer) systemd.status(`consuming ${config.kafka.topic} as group ${config.kafka.groupId}`);
}
