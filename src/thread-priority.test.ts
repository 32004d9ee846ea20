import { describe, expect, test } from "bun:test";
import { readlinkSync } from "node:fs";
import { getPriority } from "node:os";
import { lowerThisThreadPriority } from "./thread-priority.ts";

describe("lowerThisThreadPriority", () => {
  test("sets the nice value of the thread named by /proc/thread-self, not the process", () => {
    const calls: [number, number][] = [];
    const r = lowerThisThreadPriority(10, {
      readThreadSelf: () => "4000/task/4012",
      setPriority: (tid, nice) => calls.push([tid, nice]),
    });
    expect(r).toEqual({ lowered: true, tid: 4012, nice: 10 });
    expect(calls).toEqual([[4012, 10]]);
  });

  test("without /proc, or when the call is refused, says why and changes nothing", () => {
    const calls: number[] = [];
    const noProc = lowerThisThreadPriority(10, {
      readThreadSelf: () => {
        throw new Error("ENOENT: /proc/thread-self");
      },
      setPriority: (tid) => calls.push(tid),
    });
    expect(noProc).toEqual({ lowered: false, reason: "no thread id (ENOENT: /proc/thread-self)" });
    expect(calls).toEqual([]);
    const odd = lowerThisThreadPriority(10, { readThreadSelf: () => "self", setPriority: (tid) => calls.push(tid) });
    expect(odd).toEqual({ lowered: false, reason: "no thread id in /proc/thread-self (self)" });
    const refused = lowerThisThreadPriority(10, {
      readThreadSelf: () => "1/task/2",
      setPriority: () => {
        throw new Error("EACCES: permission denied");
      },
    });
    expect(refused).toEqual({ lowered: false, reason: "EACCES: permission denied" });
  });

  test.skipIf(process.platform !== "linux")(
    "on Linux, a Worker's lowered priority leaves the main thread's",
    async () => {
      const mainTid = Number(readlinkSync("/proc/thread-self").split("/").pop());
      const before = getPriority(mainTid);
      const worker = new Worker(
        URL.createObjectURL(
          new Blob([
            `import { lowerThisThreadPriority } from ${JSON.stringify(new URL("./thread-priority.ts", import.meta.url).pathname)};
           import { getPriority } from "node:os";
           const r = lowerThisThreadPriority(${Math.min(19, before + 5)});
           postMessage({ r, now: r.lowered ? getPriority(r.tid) : null });`,
          ]),
        ),
      );
      const answer = await new Promise<{ r: { lowered: boolean; tid?: number }; now: number | null }>((resolve) => {
        worker.onmessage = (e) => resolve(e.data);
      });
      worker.terminate();
      expect(answer.r.lowered).toBe(true);
      expect(answer.now).toBe(Math.min(19, before + 5));
      expect(answer.r.tid).not.toBe(mainTid);
      expect(getPriority(mainTid)).toBe(before);
    },
  );
});
