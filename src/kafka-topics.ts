import type { Admin } from "kafkajs";
import { AppError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { sleepUnlessAborted } from "./retry.ts";

/** Where the consumer puts messages that are not footprints. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The one line serve, consume and ingest give while the topic is missing: the cause and the fix. */
export function topicMissingMessage(topic: string, partitions: number): string {
  return `topic "${topic}" does not exist: run 'eft-footprint migrate' to create it (TOPIC_PARTITIONS=${partitions})`;
}

export type TopicsAdmin = Pick<Admin, "listTopics" | "createTopics" | "fetchTopicMetadata">;

export type TopicReport = { topic: string; created: boolean; partitions: number };

/**
 * `migrate`'s part for Kafka: creates TOPIC (with `partitions`) and its dead-letter topic (one
 * partition: dead letters are rare and read by people) when missing, each with the cluster's
 * default replication factor (-1: `default.replication.factor`, which the broker knows and we do
 * not). An existing topic is only reported, never changed: repartitioning moves keys and is the
 * operator's decision.
 */
export async function createMissingTopics(
  admin: TopicsAdmin,
  options: { topic: string; partitions: number; logger: Logger },
): Promise<TopicReport[]> {
  const wanted = [
    { topic: options.topic, partitions: options.partitions },
    { topic: deadLetterTopic(options.topic), partitions: 1 },
  ];
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((w) => !existing.has(w.topic));
  if (missing.length > 0) {
    // false (not an error) when another migrate created one first: then it exists, as wanted.
    await admin.createTopics({
      topics: missing.map((m) => ({ topic: m.topic, numPartitions: m.partitions, replicationFactor: -1 })),
      waitForLeaders: true,
    });
  }
  const { topics } = await admin.fetchTopicMetadata({ topics: wanted.map((w) => w.topic) });
  const reports = wanted.map(({ topic }) => ({
    topic,
    created: missing.some((m) => m.topic === topic),
    partitions: topics.find((t) => t.name === topic)?.partitions.length ?? 0,
  }));
  for (const r of reports) {
    const count = `${r.partitions} partition${r.partitions === 1 ? "" : "s"}`;
    options.logger.info(`topic ${r.topic} ${r.created ? "created" : "exists"}: ${count}`, {
      topic: r.topic,
      partitions: r.partitions,
      created: r.created,
    });
  }
  return reports;
}

export type TopicWatch = {
  /** Whether the topic exists; rejects when Kafka does not answer. Cached for `cacheMs`. */
  exists(): Promise<boolean>;
  /** For /readyz: rejects with TOPIC_MISSING while the topic is missing, or with Kafka's error. */
  check(): Promise<void>;
  /**
   * Rejects with TOPIC_MISSING only when Kafka said the topic is missing; when Kafka did not
   * answer, resolves and lets the send itself fail (and be reported) as before.
   */
  assertNotMissing(): Promise<void>;
};

export type TopicWatchOptions = {
  /** The topics Kafka knows: one metadata request, which never auto-creates a topic. */
  listTopics: () => Promise<string[]>;
  topic: string;
  /** TOPIC_PARTITIONS, named in the message. */
  partitions: number;
  logger: Logger;
  /** How long an answer is reused: /readyz, ingest and the producer all ask. */
  cacheMs?: number;
  /** While missing, the message is logged once, then at most this often. */
  logEveryMs?: number;
  now?: () => number;
};

/**
 * Whether TOPIC exists, asked of Kafka at most once per `cacheMs`. Nothing here creates it: a
 * topic appears only through `migrate` (or the operator), never as a side effect of a send or a
 * subscription on a broker that auto-creates topics with its own defaults.
 */
export function watchTopic(options: TopicWatchOptions): TopicWatch {
  const { topic, logger } = options;
  const cacheMs = options.cacheMs ?? 5000;
  const logEveryMs = options.logEveryMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let cached: { at: number; answer: Promise<boolean> } | undefined;
  let loggedAt: number | undefined;
  const message = topicMissingMessage(topic, options.partitions);

  const observe = (exists: boolean) => {
    if (!exists && (loggedAt === undefined || now() - loggedAt >= logEveryMs)) {
      loggedAt = now();
      logger.warn(message, { topic });
    } else if (exists && loggedAt !== undefined) {
      loggedAt = undefined;
      logger.info(`topic "${topic}" exists now`, { topic });
    }
    return exists;
  };

  const exists = () => {
    if (!cached || now() - cached.at >= cacheMs) {
      cached = { at: now(), answer: options.listTopics().then((topics) => observe(topics.includes(topic))) };
      // A rejection is cached too (Kafka down): callers see it; nothing is left unhandled.
      cached.answer.catch(() => {});
    }
    return cached.answer;
  };
  const missingError = () => new AppError("TOPIC_MISSING", message, { topic });

  return {
    exists,
    async check() {
      if (!(await exists())) throw missingError();
    },
    async assertNotMissing() {
      if (!(await exists().catch(() => true))) throw missingError();
    },
  };
}

/** The watch of serve and consume: `admin` connects on first use, so a start with Kafka down waits. */
export function watchTopicOf(
  admin: Pick<Admin, "connect" | "listTopics">,
  kafka: { topic: string; topicPartitions: number },
  logger: Logger,
): TopicWatch {
  return watchTopic({
    listTopics: async () => {
      await admin.connect();
      return admin.listTopics();
    },
    topic: kafka.topic,
    partitions: kafka.topicPartitions,
    logger,
  });
}

/**
 * Resolves true once the topic is there, or once Kafka does not answer (the consumer's own start
 * then waits for Kafka and reports it); false when `signal` aborts first. Subscribing to a missing
 * topic would fail after kafkajs' retries, and each attempt would log Kafka's raw error instead of
 * the watch's one line.
 */
export async function waitForTopic(watch: TopicWatch, signal: AbortSignal, pollMs = 5000): Promise<boolean> {
  while (!signal.aborted) {
    if (await watch.exists().catch(() => true)) return true;
    await sleepUnlessAborted(pollMs, signal);
  }
  return false;
}

/**
 * `send` that fails at once with TOPIC_MISSING while Kafka says the topic is missing: kafkajs
 * would retry UNKNOWN_TOPIC_OR_PARTITION for seconds per batch, logging each attempt, and hold up
 * ingest answers and shutdown. The caller treats it like Kafka being down (queue, then spool).
 */
export function unlessTopicMissing(watch: TopicWatch, send: (values: string[]) => Promise<void>) {
  return async (values: string[]): Promise<void> => {
    await watch.assertNotMissing();
    await send(values);
  };
}
