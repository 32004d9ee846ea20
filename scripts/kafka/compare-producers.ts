/**
 * Side-by-side throughput of the two producer clients behind SendBatch (src/kafka.ts), the way the
 * producer loop sends: one batch of `--batch` footprints in flight at a time, acks=-1, idempotent.
 * Alternates the clients round by round on one fresh topic, so a noisy machine affects both alike.
 *
 *   eval "$(./scripts/stack env)"; bun scripts/kafka/compare-producers.ts [--rounds 6] [--messages 20000] [--batch 500]
 */
import { parseArgs } from "node:util";
import { createKafka, createKafkajsSender, type KafkaSender } from "../../src/kafka.ts";
import { createPlatformaticSender } from "../../src/kafka-platformatic.ts";
import { createLogger } from "../../src/log.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "6" },
    messages: { type: "string", default: "20000" },
    batch: { type: "string", default: "500" },
  },
});
const rounds = Number(values.rounds);
const total = Number(values.messages);
const batchSize = Number(values.batch);
const brokers = (process.env.KAFKA_BROKERS ?? "").split(",").filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: eval "$(./scripts/stack env)" first');

const logger = createLogger({ level: "warn" });
const options = { brokers, clientId: "eft-compare-producers", logger };
const kafka = createKafka(options);
const topic = `eft-compare-${Date.now()}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });

// A footprint as the middleware writes it (~330 bytes of JSON), a different link per message.
const footprint = (i: number) =>
  JSON.stringify({
    event_id: crypto.randomUUID(),
    method: "GET",
    link: `/api/v1/items/${i % 500}`,
    route: "/api/v1/items/:id",
    status: 200,
    duration_ms: 3.2,
    footprint_time: "2026-11-30T13:45:30.123456+09:00",
    host: "eft.example",
    ip_hash: "9f86d081884c7d659a2feaa0c55ad015",
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    is_bot: false,
  });
const batches = Array.from({ length: Math.ceil(total / batchSize) }, (_, b) =>
  Array.from({ length: Math.min(batchSize, total - b * batchSize) }, (_, i) => footprint(b * batchSize + i)),
);

const clients: Record<string, () => KafkaSender> = {
  kafkajs: () => createKafkajsSender(kafka, topic),
  platformatic: () => createPlatformaticSender(options, topic),
};
const results: Record<string, { perSecond: number[]; cpuUsPerMessage: number[] }> = {};
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? ["kafkajs", "platformatic"] : ["platformatic", "kafkajs"]) {
    const sender = (clients[name] as () => KafkaSender)();
    await sender(["warm-up"]); // connection and producer id outside the measured time
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (const batch of batches) await sender(batch);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await sender.disconnect();
    results[name] ??= { perSecond: [], cpuUsPerMessage: [] };
    results[name].perSecond.push(total / seconds);
    results[name].cpuUsPerMessage.push((used.user + used.system) / total);
  }
}
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const base = median(results.kafkajs?.perSecond ?? []);
for (const [name, r] of Object.entries(results)) {
  const rate = median(r.perSecond);
  console.log(
    `${name.padEnd(13)} ${Math.round(rate).toLocaleString("en-US").padStart(8)} msg/s (median of ${rounds}; ${(rate / base).toFixed(2)}× kafkajs)  CPU ${median(r.cpuUsPerMessage).toFixed(1)} µs/msg  rounds: ${r.perSecond.map((x) => Math.round(x)).join(", ")}`,
  );
}
process.exit(0);
