import type { Kafka } from "kafkajs";
import { startConsumer } from "../../consumer/consume.ts";
import { createLogger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { sleep } from "../../src/retry.ts";
import { formatUtc, formatZoned, parseTimestamp } from "../../src/time.ts";
import type { BenchStores } from "./bench-databases.ts";
import { countBoth } from "./pipeline.ts";
import { startProgress } from "./progress.ts";
import { round } from "./summary.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

/** Seed-format messages (what the old producers send) on the topic: the backlog both consumers read. */
export async function produceBacklog(
  kafka: Kafka,
  topic: string,
  count: number,
  seed: number,
  timeZone: string,
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const progress = startProgress("backlog", count);
  let done = 0;
  try {
    for (const chunk of syntheticFootprints({ count, days: 30, end: Date.now(), seed }, 10_000)) {
      await producer.send({
        topic,
        acks: -1,
        messages: chunk.map((r) => ({
          value: JSON.stringify({
            method: r.method,
            link: r.link,
            footprint_time: formatZoned(r.footprintTime, timeZone),
          }),
        })),
      });
      done += chunk.length;
      progress.tick(done);
    }
  } finally {
    await producer.disconnect();
  }
  progress.end();
}

export type ConsumerRun = {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Ours only: until the first row was visible (group join, first fetch), and per store until all were. */
  firstRowSeconds?: number;
  doneSeconds?: Record<"postgres" | "clickhouse", number>;
  /** Ours only: seconds spent inside each store's INSERTs (eft_sink_insert_seconds) and batches written. */
  insertSeconds?: Record<string, number>;
  batches?: Record<string, number>;
};

/** Ours: the product's consumer (one group per store, batches) until both stores hold the backlog. */
export async function timeOurConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  stores: BenchStores,
  count: number,
  batching: { batchSize: number; flushMs: number },
): Promise<ConsumerRun> {
  const progress = startProgress("our consumer", count);
  const started = performance.now();
  const metrics = createMetrics();
  const consumer = await startConsumer({
    metrics,
    kafka,
    topic,
    groupId,
    fromBeginning: true,
    stores: [stores.pg, stores.ch],
    // stdout is the report's summary line.
    logger: createLogger({ level: "error", write: (line) => process.stderr.write(line) }),
    ...batching,
  });
  const at = () => round((performance.now() - started) / 1000, 2);
  let firstRowSeconds: number | undefined;
  const doneSeconds: Partial<Record<"postgres" | "clickhouse", number>> = {};
  try {
    for (;;) {
      const c = await countBoth(stores);
      progress.tick(Math.min(c.postgres, c.clickhouse));
      if (firstRowSeconds === undefined && (c.postgres > 0 || c.clickhouse > 0)) firstRowSeconds = at();
      if (c.postgres >= count) doneSeconds.postgres ??= at();
      if (c.clickhouse >= count) doneSeconds.clickhouse ??= at();
      if (c.postgres >= count && c.clickhouse >= count) break;
      await sleep(100);
    }
  } finally {
    await consumer.stop();
  }
  const seconds = Math.max(doneSeconds.postgres ?? 0, doneSeconds.clickhouse ?? 0);
  progress.end();
  const insertSeconds: Record<string, number> = {};
  const batches: Record<string, number> = {};
  for (const v of (await metrics.sinkInsertSeconds.get()).values) {
    const sink = String(v.labels.sink);
    if (v.metricName?.endsWith("_sum")) insertSeconds[sink] = round(v.value, 2);
    if (v.metricName?.endsWith("_count")) batches[sink] = v.value;
  }
  return {
    rows: count,
    seconds,
    rowsPerSecond: round(count / seconds, 0),
    ...(firstRowSeconds === undefined ? {} : { firstRowSeconds }),
    doneSeconds: { postgres: doneSeconds.postgres ?? seconds, clickhouse: doneSeconds.clickhouse ?? seconds },
    insertSeconds,
    batches,
  };
}

/**
 * The old system's consumer: one message at a time, one INSERT into PostgreSQL and one into
 * ClickHouse per message, offsets auto-committed. Run on the first `sample` messages of the same
 * backlog; the time for the whole backlog is extrapolated from that rate.
 */
export async function timeRowByRowConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  stores: BenchStores,
  sample: number,
): Promise<ConsumerRun> {
  const consumer = kafka.consumer({ groupId: `${groupId}-row-by-row` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const progress = startProgress("row-by-row consumer", sample);
  let done = 0;
  let started = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ message }) => {
      if (done >= sample) return;
      if (done === 0) started = performance.now();
      const m = JSON.parse(String(message.value)) as { method: string; link: string; footprint_time: string };
      await stores.pg.stats.sql`insert into user_footprint (event_id, request, link, footprint_time)
                          values (gen_random_uuid(), ${m.method}, ${m.link}, ${m.footprint_time})`;
      await stores.ch.stats.client.insert({
        table: "user_footprint",
        format: "JSONEachRow",
        values: [
          {
            event_id: crypto.randomUUID(),
            request: m.method,
            link: m.link,
            footprint_time: formatUtc(parseTimestamp(m.footprint_time) ?? 0),
          },
        ],
      });
      done++;
      progress.tick(done);
      if (done === sample) finish();
    },
  });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await consumer.stop();
  await consumer.disconnect();
  progress.end();
  const c = await countBoth(stores);
  if (c.postgres !== sample || c.clickhouse !== sample) {
    throw new Error(`row-by-row consumer stored ${c.postgres} / ${c.clickhouse} rows, expected ${sample}`);
  }
  return { rows: sample, seconds: round(seconds, 2), rowsPerSecond: round(sample / seconds, 0) };
}
