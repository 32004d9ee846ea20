import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type ServiceName = "kafka" | "postgres" | "clickhouse";
export const SERVICE_NAMES: readonly ServiceName[] = ["kafka", "postgres", "clickhouse"];

/** A process `up` started; `startTicks` tells it apart from a later process that reuses the pid. */
export type ProcessRecord = {
  pid: number;
  startTicks: number;
  startedAt: string;
  /** How long `up` took to get it answering; absent while it is still starting. */
  readyInMs?: number;
  /**
   * The other processes of the same service, started and stopped with it: brokers 2..N of a Kafka
   * cluster (`up --brokers N`), in node id order.
   */
  nodes?: ProcessRecord[];
};

export type StackState = {
  ports: {
    kafka?: number;
    kafkaController?: number;
    postgres?: number;
    clickhouse?: number;
    /** Brokers 2..N of a Kafka cluster (broker 1 has `kafka` and `kafkaController`). */
    kafkaNodes?: { kafka: number; controller: number }[];
  };
  processes: { [name in ServiceName]?: ProcessRecord };
  kafkaClusterId?: string;
  /** Brokers in the Kafka cluster, fixed by the first `up` (`--brokers N`); 1 when absent. */
  kafkaBrokers?: number;
};

export function stateFile(stateDir: string): string {
  return join(stateDir, "state.json");
}

export function readState(stateDir: string): StackState {
  let text: string;
  try {
    text = readFileSync(stateFile(stateDir), "utf8");
  } catch {
    return { ports: {}, processes: {} };
  }
  const parsed = JSON.parse(text) as Partial<StackState>;
  return { ...parsed, ports: parsed.ports ?? {}, processes: parsed.processes ?? {} };
}

/** Written whole and renamed into place, so a reader never sees half a file. */
export function writeState(stateDir: string, state: StackState): void {
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${stateFile(stateDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(stateDir));
}
