import { spawn } from "node:child_process";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { ProcessRecord } from "./state.ts";

export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export type DetachedCommand = {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  env?: Record<string, string | undefined>;
  /** Run as another OS user (PostgreSQL refuses to run as root). */
  uid?: number;
  gid?: number;
};

/**
 * Starts a process that outlives the caller: its own session (so a Ctrl-C in the terminal that ran
 * `up` does not reach it), output appended to a log file, nothing keeping the caller's event loop alive.
 */
export function spawnDetached(cmd: DetachedCommand): ProcessRecord {
  mkdirSync(dirname(cmd.logFile), { recursive: true });
  const log = openSync(cmd.logFile, "a");
  try {
    // Marks where this run begins, for whoever reads the log tail after a failed start.
    writeSync(log, `\n=== ${new Date().toISOString()} ./scripts/stack up: ${cmd.command} ${cmd.args.join(" ")}\n`);
    const child = spawn(cmd.command, cmd.args, {
      cwd: cmd.cwd,
      env: cmd.env ?? process.env,
      detached: true,
      stdio: ["ignore", log, log],
      uid: cmd.uid,
      gid: cmd.gid,
    });
    // A command that cannot be started has no pid (handled below) and then emits "error",
    // which would crash the caller without a listener.
    child.once("error", () => {});
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${cmd.command} (is it installed?)`);
    return {
      pid,
      startTicks: readStartTicks(pid) ?? 0,
      startedAt: new Date().toISOString(),
    };
  } finally {
    closeSync(log);
  }
}

type ProcStat = { state: string; startTicks: number };

/** Linux /proc/<pid>/stat; the command name may contain spaces and parentheses, hence lastIndexOf. */
function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields after the name start at field 3 (state); field 22 is the start time in clock ticks.
  return { state: fields[0] ?? "?", startTicks: Number(fields[19]) };
}

export function readStartTicks(pid: number): number | undefined {
  return readProcStat(pid)?.startTicks;
}

/** True when the recorded process still runs: same pid and same start time, and not a zombie. */
function isAlive(record: ProcessRecord): boolean {
  const stat = readProcStat(record.pid);
  if (!stat || stat.state === "Z" || stat.state === "X") return false;
  return record.startTicks === 0 || stat.startTicks === record.startTicks;
}

/** A record and the other processes of its service (the brokers of a Kafka cluster). */
function allProcesses(record: ProcessRecord): ProcessRecord[] {
  return [record, ...(record.nodes ?? [])];
}

/** True when the recorded process, and every other process of its service, still runs. */
export function isRunning(record: ProcessRecord | undefined): boolean {
  return record !== undefined && allProcesses(record).every(isAlive);
}

/** True when some process of the record still runs (one broker of a cluster was killed, say). */
export function isAnyRunning(record: ProcessRecord | undefined): boolean {
  return record !== undefined && allProcesses(record).some(isAlive);
}

export type StopResult = "not-running" | "stopped" | "killed" | "still-running";

/**
 * Asks the process (and the other processes of its service) to stop with `signal`, and uses
 * SIGKILL on whichever has not exited after `graceMs`.
 */
export async function stopProcess(
  record: ProcessRecord | undefined,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<StopResult> {
  if (!record) return "not-running";
  const results = await Promise.all(allProcesses(record).map((one) => stopOne(one, signal, graceMs)));
  for (const result of ["still-running", "killed", "stopped"] as const) {
    if (results.includes(result)) return result;
  }
  return "not-running";
}

async function stopOne(record: ProcessRecord, signal: NodeJS.Signals, graceMs: number): Promise<StopResult> {
  if (!isAlive(record)) return "not-running";
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(record.pid, sig);
    } catch {
      // Exited in between.
    }
  };
  send(signal);
  if (await waitForExit(record, graceMs)) return "stopped";
  send("SIGKILL");
  return (await waitForExit(record, 5_000)) ? "killed" : "still-running";
}

async function waitForExit(record: ProcessRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(record)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

export class ReadinessError extends Error {
  readonly code = "STACK_NOT_READY";
}

/**
 * Polls `check` until it returns true. Gives up early when the process died, since waiting
 * any longer cannot help, and the log tail then says why.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; process?: ProcessRecord },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check()) return;
    const watched = options.process;
    if (watched && !isRunning(watched)) {
      throw new ReadinessError(`${what}: process ${watched.pid} exited`);
    }
    if (Date.now() > deadline) {
      throw new ReadinessError(`${what}: not ready after ${options.timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** The last `lines` lines of a log, reading at most its last 64 KiB. */
export function tailFile(path: string, lines: number): string {
  if (!existsSync(path)) return `(no ${path})`;
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}

export type RunResult = { code: number; output: string };

/** Runs a command to completion, stdout and stderr captured together (for error messages). */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("error", fail);
    child.once("close", (code, signal) => done({ code: code ?? (signal ? 128 : 1), output }));
  });
}
