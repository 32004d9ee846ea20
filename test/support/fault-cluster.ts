/**
 * A 3-broker Kafka cluster for the broker-loss fault scenario: `./scripts/stack up --brokers 3` in
 * a stack dir of its own (EFT_CLUSTER_STACK_DIR, default `<fault stack dir>-cluster`), using the
 * fault stack's PostgreSQL and ClickHouse instead of starting its own.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { type FaultStack, faultStackDir, stackCommand, type WorldStack } from "./fault-stack.ts";
import { waitFor } from "./wait-for.ts";

export const CLUSTER_BROKERS = 3;

export type ClusterStack = WorldStack & {
  dir: string;
  /** The node id of the broker leading `partition` of `topic`. */
  leaderOf(topic: string, partition: number): Promise<number>;
  /** `kill -9` of one broker's JVM; returns its pid. */
  kill(nodeId: number): number;
  /** Starts whatever broker is not running (`stack start kafka`) and waits until every replica is back in sync. */
  heal(topic?: string): Promise<void>;
  down(purge: boolean): Promise<void>;
};

export function clusterStackDir(env: Record<string, string | undefined> = process.env): string {
  return env.EFT_CLUSTER_STACK_DIR ?? `${faultStackDir(env).replace(/\/$/, "")}-cluster`;
}

type StateFile = { processes: { kafka?: { pid: number; nodes?: { pid: number }[] } } };

export async function startClusterStack(stores: FaultStack): Promise<ClusterStack> {
  const dir = clusterStackDir();
  const services = { DATABASE_URL: stores.databaseUrl, CLICKHOUSE_URL: stores.clickhouseUrl };
  const run = async (args: string[]) => {
    const r = await stackCommand(dir, args, services);
    if (r.code !== 0) throw new Error(`./scripts/stack ${args.join(" ")} (${dir}) failed:\n${r.out}`);
    return r.out;
  };
  await run(["up", "--brokers", String(CLUSTER_BROKERS)]);
  const vars = Object.fromEntries(
    [...(await run(["env"])).matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  const brokers = (vars.KAFKA_BROKERS ?? "").split(",");
  const kafka = new Kafka({ clientId: "eft-fault-cluster", brokers, logLevel: logLevel.NOTHING });

  const metadata = async (topic: string) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? [];
    } finally {
      await admin.disconnect();
    }
  };
  const pids = (): number[] => {
    const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as StateFile;
    const record = state.processes.kafka;
    return record ? [record.pid, ...(record.nodes ?? []).map((n) => n.pid)] : [];
  };

  return {
    dir,
    brokers,
    databaseUrl: stores.databaseUrl,
    clickhouseUrl: stores.clickhouseUrl,
    async leaderOf(topic, partition) {
      const p = (await metadata(topic)).find((x) => x.partitionId === partition);
      if (!p || p.leader < 0) throw new Error(`no leader for ${topic}/${partition}`);
      return p.leader;
    },
    kill(nodeId) {
      const pid = pids()[nodeId - 1];
      if (!pid) throw new Error(`no pid recorded for broker ${nodeId}`);
      process.kill(pid, "SIGKILL");
      return pid;
    },
    async heal(topic) {
      await run(["start", "kafka"]);
      if (!topic) return;
      await waitFor(
        `every replica of ${topic} in sync`,
        () => metadata(topic).catch(() => []),
        (ps) => ps.length > 0 && ps.every((p) => p.isr.length === CLUSTER_BROKERS),
        120_000,
        500,
      );
    },
    async down(purge) {
      await stackCommand(dir, purge ? ["down", "--purge"] : ["down"], services);
    },
  };
}
