import { useKafkaBrokers } from "./kafka.ts";
import { withLock } from "./lock.ts";
import type { StackOptions } from "./options.ts";
import { choosePort } from "./ports.ts";
import { isAnyRunning, isRunning, stopProcess, tailFile } from "./process.ts";
import type { Service } from "./service.ts";
import { SERVICES } from "./services.ts";
import { readState, type ServiceName, type StackState, writeState } from "./state.ts";

const LOG_TAIL_LINES = 40;

type Outcome = { service: Service; ok: boolean; line: string; logTail?: string };

/**
 * Starts every service that is not already running and answering, all at once, and returns the
 * exit code. Each line is printed as soon as its service is ready (or failed).
 */
export async function up(options: StackOptions, only?: readonly ServiceName[]): Promise<number> {
  return withLock(options.stateDir, async () => {
    const state = readState(options.stateDir);
    const refused = useKafkaBrokers(options, state);
    if (refused) {
      process.stderr.write(`${refused}\n`);
      return 2;
    }
    const taken = new Set<number>();
    const save = () => writeState(options.stateDir, state);

    const outcomes = await Promise.all(
      SERVICES.filter((service) => !only || only.includes(service.name)).map(async (service) => {
        const outcome = await upService(service, options, state, taken, save);
        process.stdout.write(`${outcome.line}\n`);
        if (outcome.logTail) {
          process.stderr.write(`--- last lines of ${service.name} logs ---\n${outcome.logTail}\n---\n`);
        }
        return outcome;
      }),
    );
    save();
    return outcomes.every((outcome) => outcome.ok) ? 0 : 1;
  });
}

async function upService(
  service: Service,
  options: StackOptions,
  state: StackState,
  taken: Set<number>,
  save: () => void,
): Promise<Outcome> {
  const label = service.name.padEnd(10);
  const external = service.externalAddress(options);
  if (external) {
    const answering = await service.isAnswering(external);
    return answering
      ? { service, ok: true, line: `${label} external  ${external}  (from ${service.envName}; not managed)` }
      : { service, ok: false, line: `${label} FAILED  ${external} (from ${service.envName}) does not answer` };
  }

  const context = { options, state };
  const previous = state.processes[service.name];
  const address = service.ownAddress(state);
  if (previous && isRunning(previous) && address) {
    if (await service.isAnswering(address)) {
      return { service, ok: true, line: `${label} up  ${address}  (already running, pid ${previous.pid})` };
    }
    // Alive but silent: still starting after an interrupted `up` (finish its job), or hung (replace it).
    try {
      await service.settle(context, previous);
      return { service, ok: true, line: `${label} up  ${address}  (was still starting, pid ${previous.pid})` };
    } catch {
      await stopProcess(previous, "SIGKILL", 5_000);
    }
  }
  delete state.processes[service.name];

  // Part of a cluster still runs on its ports (one broker was killed): launch restarts the others
  // on theirs, which the running ones know.
  const partlyRunning = isAnyRunning(previous) ? previous : undefined;
  if (!partlyRunning) {
    for (const key of service.portKeys) {
      state.ports[key] = await choosePort(state.ports[key], taken);
    }
  }
  save();

  const startedAt = Date.now();
  try {
    const launched = await service.launch({ ...context, running: partlyRunning });
    // Recorded before waiting, so an interrupted `up` leaves no process unaccounted for.
    state.processes[service.name] = launched.process;
    save();
    const settleNotes = await service.settle(context, launched.process);
    const readyInMs = Date.now() - startedAt;
    launched.process.readyInMs = readyInMs;
    save();
    const detail = [`started in ${readyInMs} ms`, ...launched.notes, ...settleNotes].join("; ");
    return { service, ok: true, line: `${label} up  ${service.ownAddress(state)}  (${detail})` };
  } catch (error) {
    // Never leave a half-started process behind that a later `up` would take for a working one.
    await stopProcess(state.processes[service.name], service.stopSignal, 10_000);
    delete state.processes[service.name];
    save();
    const reason = error instanceof Error ? error.message : String(error);
    const logTail = service
      .logFiles(options.stateDir)
      .map((file) => `==> ${file} <==\n${tailFile(file, LOG_TAIL_LINES)}`)
      .join("\n");
    return {
      service,
      ok: false,
      line: `${label} FAILED after ${Date.now() - startedAt} ms: ${reason}`,
      logTail,
    };
  }
}
