import type { StackOptions } from "./options.ts";
import type { ProcessRecord, ServiceName, StackState } from "./state.ts";

export type StartContext = {
  options: StackOptions;
  /** Ports for this service are already chosen. */
  state: StackState;
  /** The service's record when some of its processes still run (launch starts only the others). */
  running?: ProcessRecord;
};

/** The ports `up` chooses for a service before it launches it. */
export type PortKey = "kafka" | "kafkaController" | "postgres" | "clickhouse";

export type Launched = { process: ProcessRecord; notes: string[] };

/** One service of the stack; the commands (up, down, status, env) treat all three alike. */
export type Service = {
  name: ServiceName;
  /** The variable `env` prints and under which the user may point at their own instance instead. */
  envName: "KAFKA_BROKERS" | "DATABASE_URL" | "CLICKHOUSE_URL";
  portKeys: readonly PortKey[];
  externalAddress(options: StackOptions): string | undefined;
  /** Address of the stack's own instance; undefined before its ports were ever chosen. */
  ownAddress(state: StackState): string | undefined;
  /** One quick round trip with a client; false (never a throw) when it does not answer. */
  isAnswering(address: string): Promise<boolean>;
  /** Prepares (download, initdb, format) and spawns the process, without waiting for it. */
  launch(context: StartContext): Promise<Launched>;
  /**
   * Waits until the process answers, then creates what clients expect (database, topic). Also
   * finishes the job for a process an interrupted `up` left starting. Returns notes on the time spent.
   */
  settle(context: StartContext, process: ProcessRecord): Promise<string[]>;
  stopSignal: NodeJS.Signals;
  logFiles(stateDir: string): string[];
};
