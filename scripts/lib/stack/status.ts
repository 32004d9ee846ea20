import type { StackOptions } from "./options.ts";
import { isAnyRunning, isRunning } from "./process.ts";
import { SERVICES } from "./services.ts";
import { readState } from "./state.ts";

/** Exit code when some service does not answer, distinct from failures of the command itself. */
export const NOT_ALL_UP = 3;

export async function status(options: StackOptions): Promise<number> {
  const state = readState(options.stateDir);
  const rows = await Promise.all(
    SERVICES.map(async (service) => {
      const external = service.externalAddress(options);
      const record = state.processes[service.name];
      const running = !external && isRunning(record);
      const address = external ?? service.ownAddress(state);
      const answering = address !== undefined && (await service.isAnswering(address));
      // "partial": some brokers of a Kafka cluster run, others not (`start kafka` restarts them).
      const partial = !external && !running && isAnyRunning(record);
      const how = external ? "external" : running ? "running" : partial ? "partial" : "stopped";
      const pid = running && record ? `pid ${record.pid}` : "pid -";
      return {
        answering,
        line: [
          service.name.padEnd(10),
          how.padEnd(10),
          pid.padEnd(10),
          `answering ${answering ? "yes" : "no "}`,
          external ? `${external}  (from ${service.envName})` : (address ?? "-"),
        ].join(" "),
      };
    }),
  );
  for (const row of rows) process.stdout.write(`${row.line}\n`);
  return rows.every((row) => row.answering) ? 0 : NOT_ALL_UP;
}
