import type { Kafka } from "kafkajs";
import { formatZoned } from "../../src/time.ts";
import { startProgress } from "./progress.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

/**
 * A backlog of `count` seed-format messages ({method, link, footprint_time}, what the old
 * producers send) on `topic`, produced as fast as kafkajs goes: values built beforehand, sends of
 * 5,000 messages one after the other (~50k messages/s here; more sends in flight were slower). Its time is not part of any figure; it is returned for the log.
 */
export async function produceSeedBacklog(
  kafka: Kafka,
  topic: string,
  o: { count: number; seed: number; timeZone: string },
): Promise<{ seconds: number }> {
  const chunkSize = 5_000;
  const chunks: { value: string }[][] = [];
  for (const rows of syntheticFootprints({ count: o.count, days: 30, end: Date.now(), seed: o.seed }, chunkSize)) {
    chunks.push(
      rows.map((r) => ({
        value: `{"method":"${r.method}","link":${JSON.stringify(r.link)},"footprint_time":"${formatZoned(r.footprintTime, o.timeZone)}"}`,
      })),
    );
  }
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const progress = startProgress(`backlog of ${o.count.toLocaleString("en-US")}`, o.count);
  const started = performance.now();
  let done = 0;
  try {
    for (const messages of chunks) {
      await producer.send({ topic, acks: -1, messages });
      done += messages.length;
      progress.tick(done);
    }
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  progress.end(`${Math.round(o.count / seconds).toLocaleString("en-US")} messages/s`);
  return { seconds };
}
