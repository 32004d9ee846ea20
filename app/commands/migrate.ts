import type { Config } from "../../src/config.ts";
import { logConfigWarnings, readConfig } from "../../src/config-file.ts";
import { AppError } from "../../src/errors.ts";
import { createMissingTopics } from "../../src/kafka-topics.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { migrateStores, openStores } from "../../src/store/open-stores.ts";
import { startRetentionJob } from "../../src/store/retention.ts";
import type { Store } from "../../src/store/store.ts";
import { connectKafkaAdmin } from "../kafka-at-terminal.ts";
import { explainUnreachable, serviceAddresses } from "../unreachable.ts";
import { defineCommand } from "./command.ts";

export const migrateCommand = defineCommand({
  name: "migrate",
  summary: "create missing Kafka topics, apply pending migrations to PostgreSQL and ClickHouse, then exit",
  help: `Usage: eft-footprint migrate [--env-file <path>]

Applies pending migrations to PostgreSQL (DATABASE_URL or DB_*) and ClickHouse (CLICKHOUSE_URL or
CH_*, database CLICKHOUSE_DATABASE), recording them in eft_schema_migrations. Creates the Kafka
topic TOPIC (TOPIC_PARTITIONS partitions) and its dead-letter topic TOPIC.dlq when missing, with
the cluster's default replication factor; existing topics are reported, never changed. Safe to
run twice.
`,
  options: {},
  async run({ env, envFile }) {
    const config = readConfig(env, envFile);
    await runMigrate(config, createLogger(config.log));
    return 0;
  },
});

/**
 * `eft-footprint migrate`: creates the topics that are missing, applies pending migrations to both stores, then RETENTION_DAYS once
 * (ClickHouse TTL set or removed to match; PostgreSQL rows past it deleted), then exits.
 */
export async function runMigrate(config: Config, logger: Logger): Promise<void> {
  logConfigWarnings(config, logger);
  await prepareTopics(config, logger);
  const stores = openStores(config);
  try {
    await migrateStores(stores, logger).catch((err) => {
      throw explainMigrationFailure(config, stores, err);
    });
    const once = startRetentionJob({
      stores,
      days: config.retention.days,
      logger: logger.child({ component: "retention" }),
      signal: AbortSignal.abort(),
    });
    await once.done;
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
}

/** Kafka first: a serve or consume started next finds the topic it checks for. */
async function prepareTopics(config: Config, logger: Logger): Promise<void> {
  const { admin, explain } = await connectKafkaAdmin(config, logger, "migrate");
  try {
    await createMissingTopics(admin, {
      topic: config.kafka.topic,
      partitions: config.kafka.topicPartitions,
      logger,
    });
  } catch (err) {
    throw explain(err) ?? err;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** A store that cannot be reached is named with its address and the setting to check. */
function explainMigrationFailure(config: Config, stores: readonly Store[], err: unknown): unknown {
  if (!(err instanceof AppError) || err.code !== "MIGRATION_FAILED") return err;
  const addresses = serviceAddresses(config);
  for (const store of stores) {
    const why = explainUnreachable(addresses[store.name], err.cause);
    if (why && err.message.startsWith(addresses[store.name].service)) {
      return new AppError("MIGRATION_FAILED", `${addresses[store.name].service} migration failed: ${why}`, undefined, {
        cause: err,
      });
    }
  }
  return err;
}
