import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuMicros,
  localServiceTargets,
  parseStat,
  perUnit,
  pidListeningOn,
  processTree,
  startCpuSample,
} from "./cpu.ts";

const root = mkdtempSync(join(tmpdir(), "eft-fake-proc-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A stat line as the kernel writes it: pid (comm) state ppid … utime stime cutime cstime …. */
function statLine(pid: number, comm: string, ppid: number, utime: number, stime: number, cutime = 0, cstime = 0) {
  const middle = [ppid, pid, pid, 0, -1, 4194560, 100, 0, 0, 0, utime, stime, cutime, cstime, 20, 0, 1];
  return `${pid} (${comm}) S ${middle.join(" ")} 0 123 456 789\n`;
}

function fakeProcess(pid: number, comm: string, ppid: number, utime: number, stime: number, cutime = 0) {
  mkdirSync(join(root, String(pid), "fd"), { recursive: true });
  writeFileSync(join(root, String(pid), "stat"), statLine(pid, comm, ppid, utime, stime, cutime));
}

// postmaster 100 with backends 101 and 102 (under 101: 103); an unrelated 200 (kafka, listening on
// 127.0.0.1:9092); 300 (serve, comm with a space and a parenthesis) with a thread 301.
fakeProcess(100, "postgres", 1, 50, 10, 5);
fakeProcess(101, "postgres", 100, 20, 0);
fakeProcess(102, "postgres", 100, 3, 2);
fakeProcess(103, "postgres", 101, 1, 1);
fakeProcess(200, "java", 1, 400, 100);
fakeProcess(300, "eft (foot) print", 1, 90, 10);
mkdirSync(join(root, "300", "task", "301"), { recursive: true });
writeFileSync(join(root, "300", "task", "301", "stat"), statLine(301, "worker", 1, 30, 5));
mkdirSync(join(root, "net"));
writeFileSync(
  join(root, "net", "tcp"),
  [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:2384 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77001 1 0 100 0 0 10 0",
    "   1: 0100007F:2384 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 77002 1 0 20 4 30 10 -1",
    "   2: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77003 1 0 100 0 0 10 0",
    "",
  ].join("\n"),
);
symlinkSync("socket:[77002]", join(root, "300", "fd", "7"));
symlinkSync("/dev/null", join(root, "200", "fd", "0"));
symlinkSync("socket:[77001]", join(root, "200", "fd", "5"));

const o = { root, ticksPerSecond: 100 };

test("a stat line is read from the last parenthesis: ppid and utime+stime+cutime+cstime", () => {
  expect(parseStat(statLine(7, "a) (b", 3, 11, 4, 2, 1))).toEqual({ ppid: 3, ticks: 18 });
});

test("a process tree holds the process and every descendant", () => {
  expect(processTree(100, o).sort()).toEqual([100, 101, 102, 103]);
  expect(processTree(200, o)).toEqual([200]);
});

test("CPU of a process, of its tree, and of one thread, in µs", () => {
  expect(cpuMicros({ pid: 300 }, o)).toBe(1_000_000);
  expect(cpuMicros({ pid: 300, thread: 301 }, o)).toBe(350_000);
  // 65 + 20 + 5 + 2 ticks.
  expect(cpuMicros({ pid: 100, tree: true }, o)).toBe(920_000);
  expect(cpuMicros({ pid: 999 }, o)).toBeNaN();
});

test("the listening socket's owner is found by port; a connected socket on that port is not it", () => {
  expect(pidListeningOn(0x2384, o)).toBe(200);
  expect(pidListeningOn(0x1f90, o)).toBeUndefined(); // nobody holds that inode
  expect(pidListeningOn(1234, o)).toBeUndefined();
  expect(localServiceTargets({ kafka: "127.0.0.1:9092", postgres: "postgres://u:p@db.example:9092/x" }, o)).toEqual({
    kafka: { pid: 200, tree: false },
    postgres: undefined,
    clickhouse: undefined,
  });
});

test("a sample is the difference between two readings, per target", () => {
  const sample = startCpuSample({ serve: { pid: 300 }, postgres: { pid: 100, tree: true }, gone: undefined }, o);
  writeFileSync(join(root, "300", "stat"), statLine(300, "eft (foot) print", 1, 190, 20));
  rmSync(join(root, "103"), { recursive: true });
  // 103's ticks moved into its parent's cutime when it was reaped: the tree's sum is unchanged.
  writeFileSync(join(root, "101", "stat"), statLine(101, "postgres", 100, 20, 0, 2));
  const used = startCpuSample({}, o).stop();
  expect(used).toEqual({});
  expect(sample.stop()).toEqual({ serve: 1_100_000, postgres: 0 });
  expect(perUnit({ serve: 1_100_000, kafka: 5 }, 1000)).toEqual({ serve: 1100, kafka: 0 });
});
