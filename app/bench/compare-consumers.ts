/**
 * Side-by-side cost of the two Kafka clients as the consumer uses one (consumer/sink-consumer.ts):
 * a group member reading a seed-format backlog from the beginning and decoding every message into
 * its row (consumer/decoded-messages.ts `decode`), no store. kafkajs through eachBatch as the sink
 * consumer runs it; @platformatic/kafka through its message stream. Alternates the clients round by
 * round on one backlog (a fresh group each time), so a noisy machine affects both alike; prints
 * messages/s and the CPU of this process per message (the client's work plus the decoding).
 *
 *   eval "$(./scripts/stack env)"; bun app/bench/compare-consumers.ts [--rounds 4] [--messages 200000]
 */
import { parseArgs } from "node:util";
import { decode } from "../../consumer/decoded-messages.ts";
import { createKafka } from "../../src/kafka.ts";
import { createLogger } from "../../src/log.ts";
import { produceSeedBacklog } from "./backlog.ts";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "4" }, messages: { type: "string", default: "200000" } },
});
const rounds = Number(values.rounds);
const total = Number(values.messages);
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: eval "$(./scripts/stack env)" first');

const logger = createLogger({ level: "warn" });
const kafka = createKafka({ brokers, clientId: "eft-compare-consumers", logger });
const topic = `eft-compare-consume-${Date.now()}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
await produceSeedBacklog(kafka, topic, { count: total, seed: 12, timeZone: "Asia/Seoul" });

/** Rows decoded; the values of the first round kept for decoding alone, without a client. */
let decoded = 0;
const kept: { value: Buffer | null; offset: string }[] = [];
const take = (value: Buffer | null, offset: string, headers: Record<string, Buffer | undefined>, ts: string) => {
  if (kept.length < total) kept.push({ value, offset });
  const entry = decode(
    { value, offset, headers, timestamp: ts, key: null, attributes: 0 },
    { topic, partition: 0, offset },
  );
  if ("row" in entry) decoded++;
};

async function kafkajs(group: string): Promise<void> {
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 1000, maxBytesPerPartition: 2 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          take(m.value, m.offset, m.headers as Record<string, Buffer | undefined>, m.timestamp);
          seen++;
        }
        const last = batch.messages.at(-1);
        if (last) resolveOffset(last.offset);
        await heartbeat();
        if (seen >= total) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
}

// Imported before any round: its option validators compile on import (~0.6 s of CPU, once per process).
const { Consumer } = await import("@platformatic/kafka");

async function platformatic(group: string): Promise<void> {
  const consumer = new Consumer({
    groupId: group,
    clientId: "eft-compare-consumers",
    bootstrapBrokers: brokers,
    maxWaitTime: 1000,
    maxBytesPerPartition: 2 * 1024 * 1024,
  });
  const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on("error", reject);
    stream.on("data", (m) => {
      const headers: Record<string, Buffer | undefined> = {};
      for (const [k, v] of m.headers) headers[k.toString()] = v;
      take(m.value, m.offset.toString(), headers, m.timestamp.toString());
      if (++seen >= total) resolve();
    });
  });
  await stream.close();
  await consumer.close(true);
}

/** The decoding alone, of the values kafkajs fetched: the share of each client's figure that is not the client. */
async function decodingAlone(): Promise<void> {
  for (const { value, offset } of kept) take(value, offset, {}, "0");
}

const clients: Record<string, (group: string) => Promise<void>> = {
  kafkajs,
  platformatic,
  "decoding alone": decodingAlone,
};
/** One client's round: messages/s, and this process's CPU per message. */
async function measure(name: string, round: number): Promise<{ perSecond: number; cpuUs: number }> {
  decoded = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await (clients[name] as (group: string) => Promise<void>)(`${topic}-${name}-${round}`);
  const { user, system } = process.cpuUsage(cpu);
  if (decoded !== total) throw new Error(`${name} decoded ${decoded} rows of ${total}`);
  return { perSecond: (total * 1000) / (performance.now() - started), cpuUs: (user + system) / total };
}

const results = new Map<string, { perSecond: number; cpuUs: number }[]>();
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ["kafkajs", "platformatic"] : ["platformatic", "kafkajs"];
  for (const name of [...order, "decoding alone"]) {
    results.set(name, [...(results.get(name) ?? []), await measure(name, round)]);
  }
}
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const base = median((results.get("kafkajs") ?? []).map((r) => r.cpuUs));
for (const [name, runs] of results) {
  const cpu = median(runs.map((r) => r.cpuUs));
  const rate = Math.round(median(runs.map((r) => r.perSecond))).toLocaleString("en-US");
  const each = runs.map((r) => r.cpuUs.toFixed(1)).join(", ");
  console.log(
    `${name.padEnd(15)} ${rate.padStart(8)} msg/s  CPU ${cpu.toFixed(1)} µs/msg (${(cpu / base).toFixed(2)}× kafkajs; median of ${rounds})  rounds: ${each} µs/msg`,
  );
}
process.exit(0);
