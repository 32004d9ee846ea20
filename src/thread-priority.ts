import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/** What lowering a thread's priority needs from the system (a test passes stand-ins). */
export type ThreadPriorityDeps = {
  /** `/proc/thread-self` read as a link: `<pid>/task/<tid>` for the calling thread. */
  readThreadSelf?: () => string;
  setPriority?: (tid: number, nice: number) => void;
};

export type LoweredPriority = { lowered: true; tid: number; nice: number } | { lowered: false; reason: string };

/**
 * Gives the calling thread (a Worker's) the scheduling `nice` value given, so that when it and the
 * request thread both want a core the kernel runs the request thread first, and the background
 * work takes the time requests leave. On Linux a nice value belongs to one thread
 * (setpriority(2) on a thread id), so the process's other threads keep theirs. Best effort: where
 * there is no `/proc/thread-self` or the call is refused, the thread runs as before and the
 * reason is returned.
 */
export function lowerThisThreadPriority(nice: number, deps: ThreadPriorityDeps = {}): LoweredPriority {
  const readThreadSelf = deps.readThreadSelf ?? (() => readlinkSync("/proc/thread-self"));
  const set = deps.setPriority ?? setPriority;
  let link: string;
  try {
    link = readThreadSelf();
  } catch (err) {
    return { lowered: false, reason: `no thread id (${(err as Error).message})` };
  }
  const m = /^\d+\/task\/(\d+)$/.exec(link);
  if (!m) return { lowered: false, reason: `no thread id in /proc/thread-self (${link})` };
  const tid = Number(m[1]);
  try {
    set(tid, nice);
  } catch (err) {
    return { lowered: false, reason: (err as Error).message };
  }
  return { lowered: true, tid, nice };
}
