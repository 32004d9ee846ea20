import { rmSync } from "node:fs";
import { withLock } from "./lock.ts";
import type { StackOptions } from "./options.ts";
import { stopProcess } from "./process.ts";
import { SERVICES } from "./services.ts";
import { readState, type ServiceName, writeState } from "./state.ts";

const STOP_GRACE_MS = 20_000;

/**
 * Stops only the processes `up` recorded (never services from the user's environment), keeping
 * their data unless `purge`, which also deletes the whole state dir. Returns the exit code.
 */
export async function down(
  options: StackOptions,
  { purge, only }: { purge: boolean; only?: readonly ServiceName[] },
): Promise<number> {
  return withLock(options.stateDir, async () => {
    const state = readState(options.stateDir);
    const results = await Promise.all(
      SERVICES.filter((service) => !only || only.includes(service.name)).map(async (service) => {
        const record = state.processes[service.name];
        const startedAt = Date.now();
        const result = await stopProcess(record, service.stopSignal, STOP_GRACE_MS);
        const label = service.name.padEnd(10);
        if (result === "not-running") {
          process.stdout.write(`${label} not running\n`);
        } else {
          process.stdout.write(`${label} ${result}  (pid ${record?.pid}, ${Date.now() - startedAt} ms)\n`);
        }
        if (result !== "still-running") delete state.processes[service.name];
        return result;
      }),
    );
    if (results.includes("still-running")) {
      writeState(options.stateDir, state);
      return 1;
    }
    if (purge) {
      rmSync(options.stateDir, { recursive: true, force: true });
      process.stdout.write(`removed ${options.stateDir}\n`);
    } else {
      writeState(options.stateDir, state);
    }
    return 0;
  });
}
