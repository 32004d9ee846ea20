import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./process.ts";

const WAIT_LIMIT_MS = 10 * 60_000;

/**
 * Runs `fn` while holding `<stateDir>/stack.lock`, so that `up`s started at the same time (parallel
 * test processes, CI steps) do not start a service twice; a lock whose holder died is taken over.
 */
export async function withLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const lockFile = join(stateDir, "stack.lock");
  const deadline = Date.now() + WAIT_LIMIT_MS;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number(readFileSafe(lockFile));
    if (!holder || !isAlive(holder)) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${lockFile} still held by pid ${holder}`);
    if (!announced) {
      process.stderr.write(`waiting for another stack command (pid ${holder}) to finish\n`);
      announced = true;
    }
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
