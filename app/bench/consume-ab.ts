/**
 * `consume` of several checkouts draining the same seed-format backlog, alternately, in one run: a
 * before/after of the consumer on one machine state. The backlog is produced once; each drain gets
 * fresh databases and consumer groups of its own, and counts from `consume` being up until every
 * group committed the whole backlog (as the hot-path bench does), with the CPU per row of `consume`
 * and of the local Kafka, PostgreSQL and ClickHouse endpoint (those found listening on this machine).
 *
 *   bun app/bench/consume-ab.ts [--backlog 200000] [--rounds 2] [--profile DIR] <app/main.ts> [<app/main.ts> …]
 *
 * e.g. `bun app/bench/consume-ab.ts /work/main/app/main.ts app/main.ts`. With --profile, each
 * `consume` runs under `bun --cpu-prof` into DIR. The stack is the environment's (KAFKA_BROKERS,
 * DATABASE_URL, CLICKHOUSE_URL: `eval "$(./scripts/stack env)"`).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import { produceSeedBacklog } from "./backlog.ts";
import { createBenchStores } from "./bench-databases.ts";
import { localServiceTargets, perUnit, startCpuSample } from "./cpu.ts";
import { committedOffset, countBoth, createBenchTopic } from "./pipeline.ts";
import { startSelf } from "./self-process.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    backlog: { type: "string", default: "200000" },
    rounds: { type: "string", default: "2" },
    profile: { type: "string" },
  },
});
if (positionals.length === 0) {
  console.error("usage: bun app/bench/consume-ab.ts [--backlog N] [--rounds N] [--profile DIR] <app/main.ts> …");
  process.exit(2);
}
const backlog = Number(values.backlog);
const config = loadConfig(process.env);
const topic = await createBenchTopic(config);
const admin = topic.kafka.admin();
await admin.connect();
const services = localServiceTargets({
  kafka: config.kafka.brokers[0],
  postgres: config.postgres.url,
  clickhouse: config.clickhouse.url,
});

/** One drain by the `consume` of `main`: seconds from ready to the whole backlog committed, CPU µs/row. */
async function drain(main: string, tag: string) {
  const stores = await createBenchStores(config);
  const groupId = `${topic.groupId}-${tag}`;
  const profile = values.profile ? ["--cpu-prof", `--cpu-prof-dir=${resolve(values.profile)}`] : [];
  try {
    const consume = await startSelf(config, {
      args: ["consume"],
      command: [process.execPath, ...profile, resolve(main)],
      topic: topic.topic,
      groupId,
      stores,
      ready: "metrics listening",
    });
    try {
      const started = performance.now();
      const cpu = startCpuSample({ consume: { pid: consume.pid }, ...services });
      while ((await committedOffset(admin, groupId, topic.topic)).offset < backlog) await sleep(200);
      const used = cpu.stop();
      const seconds = (performance.now() - started) / 1000;
      return { seconds, rowsPerSecond: Math.round(backlog / seconds), ...perUnit(used, backlog) };
    } finally {
      await consume.stop();
      const stored = await countBoth(stores);
      if (stored.postgres !== backlog || stored.clickhouse !== backlog) console.error(`${tag}: stored`, stored);
    }
  } finally {
    await stores.drop();
  }
}

try {
  await produceSeedBacklog(topic.kafka, topic.topic, { count: backlog, seed: 12, timeZone: config.timeZone });
  for (let round = 0; round < Number(values.rounds); round++) {
    const order = round % 2 === 0 ? positionals : [...positionals].reverse();
    for (const main of order) {
      const r = await drain(main, `r${round}-${positionals.indexOf(main)}`);
      const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
      console.log(JSON.stringify({ round, main, ...r, load }));
    }
  }
} finally {
  await admin.disconnect();
  await topic.drop();
}
