import type { Config } from "../../src/config.ts";
import { sleep } from "../../src/retry.ts";
import { produceSeedBacklog } from "./backlog.ts";
import type { BenchStores } from "./bench-databases.ts";
import { type CpuSample, type CpuTarget, perUnit, startCpuSample } from "./cpu.ts";
import { committedOffset, countBoth, createBenchTopic } from "./pipeline.ts";
import { startProgress } from "./progress.ts";
import { startSelf } from "./self-process.ts";
import { round } from "./summary.ts";

export type ConsumerDrain = {
  backlog: number;
  /** Producing the backlog beforehand (not part of any figure). */
  produceSeconds: number;
  /** From `consume` being up (metrics listening) until every group had committed the whole backlog. */
  seconds: number;
  rowsPerSecond: number;
  /** The steady part: from the first commit (group joined, first batch stored) until the end. */
  firstCommitSeconds: number;
  steadyRows: number;
  steadyRowsPerSecond: number;
  /**
   * CPU µs per row: the `consume` process, Kafka, PostgreSQL (all its processes), ClickHouse; over
   * the steady part, or over the whole run when the first commit already held most of the backlog.
   */
  cpuMicrosPerRow: Record<string, number>;
  cpuWindow: "steady" | "whole";
  /** The services' CPU in the 3 s before `consume` started (others' work), scaled to the steady part, per row. */
  backgroundMicrosPerRow?: Record<string, number>;
  /** Rows in each store at the end (both must hold the backlog). */
  stored: { postgres: number; clickhouse: number };
};

/**
 * The consumer alone: a backlog of seed-format messages on a fresh topic, drained by
 * `eft-footprint consume` (its own process) into fresh databases, with the CPU each process spent.
 */
export async function benchConsumerDrain(
  config: Config,
  stores: BenchStores,
  o: { backlog: number; seed: number; services: Record<string, CpuTarget | undefined> },
): Promise<ConsumerDrain> {
  const topic = await createBenchTopic(config);
  const admin = topic.kafka.admin();
  await admin.connect();
  try {
    const { seconds: produceSeconds } = await produceSeedBacklog(topic.kafka, topic.topic, {
      count: o.backlog,
      seed: o.seed,
      timeZone: config.timeZone,
    });
    const idle = startCpuSample(o.services);
    await sleep(3000);
    const background = idle.stop();
    const consume = await startSelf(config, {
      args: ["consume"],
      topic: topic.topic,
      groupId: topic.groupId,
      stores,
      ready: "metrics listening",
    });
    try {
      const targets = { consume: { pid: consume.pid }, ...o.services };
      const started = performance.now();
      const whole = startCpuSample(targets);
      let steady: CpuSample | undefined;
      let firstCommitSeconds = 0;
      let steadyFrom = 0;
      const progress = startProgress("consume the backlog", o.backlog);
      for (;;) {
        const c = await committedOffset(admin, topic.groupId, topic.topic);
        progress.tick(c.offset);
        if (!steady && c.offset > 0) {
          steady = startCpuSample(targets);
          firstCommitSeconds = (performance.now() - started) / 1000;
          steadyFrom = c.offset;
        }
        if (c.offset >= o.backlog) break;
        if (performance.now() - started > 1_800_000) throw new Error("the backlog was not drained within 30 minutes");
        await sleep(200);
      }
      const steadyCpu = steady?.stop() ?? {};
      const wholeCpu = whole.stop();
      const seconds = (performance.now() - started) / 1000;
      progress.end(`${Math.round(o.backlog / seconds).toLocaleString("en-US")} rows/s`);
      const steadyRows = o.backlog - steadyFrom;
      const steadySeconds = seconds - firstCommitSeconds;
      const cpuWindow = steadyRows >= o.backlog / 2 ? "steady" : "whole";
      const window =
        cpuWindow === "steady"
          ? { cpu: steadyCpu, rows: steadyRows, seconds: steadySeconds }
          : { cpu: wholeCpu, rows: o.backlog, seconds };
      return {
        backlog: o.backlog,
        produceSeconds: round(produceSeconds, 1),
        seconds: round(seconds, 2),
        rowsPerSecond: Math.round(o.backlog / seconds),
        firstCommitSeconds: round(firstCommitSeconds, 2),
        steadyRows,
        steadyRowsPerSecond: steadySeconds > 0 ? Math.round(steadyRows / steadySeconds) : 0,
        cpuMicrosPerRow: perUnit(window.cpu, window.rows),
        cpuWindow,
        backgroundMicrosPerRow: perUnit(
          Object.fromEntries(Object.entries(background).map(([k, us]) => [k, (us / 3) * window.seconds])),
          window.rows,
        ),
        stored: await countBoth(stores),
      };
    } finally {
      await consume.stop();
    }
  } finally {
    await admin.disconnect();
    await topic.drop();
  }
}
