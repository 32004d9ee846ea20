import { randomBytes } from "node:crypto";
import type { Admin, IHeaders, Kafka } from "kafkajs";
import { formatOrigin } from "../src/footprint/parse-message.ts";
import { createIdempotentProducer } from "../src/kafka.ts";
import { deadLetterTopic } from "../src/kafka-topics.ts";
import {
  DLQ_HEADERS,
  deadLetterKey,
  fromDeadLetterRecord,
  ORIGIN_HEADER,
  REPLAY_SINK_HEADER,
  type StoredDeadLetter,
} from "./dead-letter.ts";

/**
 * Reads `<topic>.dlq` from `groupId`'s committed position (or the start) to its end as it was when
 * called. Each source position counts once per store that refused it (deadLetterKey): a letter
 * written again after a crash, or by both sinks' groups, is a duplicate.
 */
export async function readDeadLetters(
  kafka: Kafka,
  admin: Admin,
  options: { topic: string; groupId: string },
): Promise<{ letters: StoredDeadLetter[]; duplicates: number; end: { partition: number; offset: string }[] }> {
  const dlq = deadLetterTopic(options.topic);
  if (!(await admin.listTopics()).includes(dlq)) return { letters: [], duplicates: 0, end: [] };
  const ends = (await admin.fetchTopicOffsets(dlq)).map((p) => ({ partition: p.partition, offset: p.high }));
  const [committed] = await admin.fetchOffsets({ groupId: options.groupId, topics: [dlq] });
  const position = (partition: number) => {
    const c = committed?.partitions.find((p) => p.partition === partition);
    return c && Number(c.offset) >= 0 ? BigInt(c.offset) : 0n;
  };
  const remaining = new Set(ends.filter((e) => BigInt(e.offset) > position(e.partition)).map((e) => e.partition));
  const letters: StoredDeadLetter[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  if (remaining.size === 0) return { letters, duplicates, end: ends };

  const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 250 });
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: dlq, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = BigInt(ends.find((e) => e.partition === batch.partition)?.offset ?? "0");
        for (const message of batch.messages) {
          if (BigInt(message.offset) >= end) break;
          const letter = fromDeadLetterRecord(batch.partition, message);
          const key = letter.origin
            ? deadLetterKey({ origin: letter.origin, rejectedBy: storeName(letter.rejectedBy) })
            : `dlq/${batch.partition}/${message.offset}`;
          if (seen.has(key)) duplicates++;
          else {
            seen.add(key);
            letters.push(letter);
          }
          if (BigInt(message.offset) + 1n >= end) remaining.delete(batch.partition);
        }
        if (remaining.size === 0) finished();
      },
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return { letters, duplicates, end: ends };
}

/** `dlq list`: everything in the dead-letter topic, through a throwaway consumer group. */
export async function listDeadLetters(kafka: Kafka, admin: Admin, options: { topic: string; groupId: string }) {
  const groupId = `${options.groupId}-dlq-list-${randomBytes(4).toString("hex")}`;
  try {
    return await readDeadLetters(kafka, admin, { topic: options.topic, groupId });
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {});
  }
}

/**
 * `dlq replay`: sends every dead letter not replayed before back to the topic it came from, with
 * its original value and headers plus `eft-origin` (its first position, from which a seed-format
 * message gets the same event id as before). Progress is the committed offset of the group
 * `<GROUP_ID>-dlq-replay`, so a letter is replayed once; one that is still invalid comes back to
 * the dead-letter topic.
 */
export async function replayDeadLetters(
  kafka: Kafka,
  admin: Admin,
  options: { topic: string; groupId: string; dryRun?: boolean },
): Promise<{ replayed: StoredDeadLetter[]; duplicates: number }> {
  const groupId = `${options.groupId}-dlq-replay`;
  const { letters, duplicates, end } = await readDeadLetters(kafka, admin, { topic: options.topic, groupId });
  if (options.dryRun || letters.length === 0) return { replayed: letters, duplicates };
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    const bySource = new Map<string, StoredDeadLetter[]>();
    for (const l of letters) {
      const topic = l.origin?.topic ?? options.topic;
      bySource.set(topic, [...(bySource.get(topic) ?? []), l]);
    }
    for (const [topic, group] of bySource) {
      await producer.send({
        topic,
        acks: -1,
        messages: group.map((l) => ({
          value: l.value,
          headers: replayHeaders(l),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  await admin.setOffsets({ groupId, topic: deadLetterTopic(options.topic), partitions: end });
  return { replayed: letters, duplicates };
}

const storeName = (name: string | undefined) => (name === "postgres" || name === "clickhouse" ? name : undefined);

/**
 * The source message's own headers, its first position (`eft-origin`) and, when a store refused it,
 * that store (`eft-replay-sink`): the other store's group stored it the first time and skips it.
 */
function replayHeaders(letter: StoredDeadLetter): IHeaders {
  const own = new Set<string>([...Object.values(DLQ_HEADERS), REPLAY_SINK_HEADER]);
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(letter.headers)) if (!own.has(k) && v !== undefined) headers[k] = v;
  if (letter.origin) headers[ORIGIN_HEADER] = formatOrigin(letter.origin);
  if (letter.rejectedBy) headers[REPLAY_SINK_HEADER] = letter.rejectedBy;
  return headers;
}

/** One line per letter for people: where it came from, why, and the start of its value. */
export function formatDeadLetter(l: StoredDeadLetter): string {
  const value = l.value === null ? "(empty)" : JSON.stringify(l.value.subarray(0, 120).toString("utf8"));
  return [
    `${l.dlqPartition}:${l.dlqOffset}`,
    l.deadLetteredAt ?? "-",
    l.rejectedBy ? `${l.code ?? "-"}(${l.rejectedBy} ${l.storeCode ?? ""})` : (l.code ?? "-"),
    l.origin ? formatOrigin(l.origin) : "-",
    (l.message ?? "").replace(/\s+/g, " ").slice(0, 160),
    value,
  ].join("  ");
}
