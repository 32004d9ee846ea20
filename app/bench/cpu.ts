/**
 * CPU time of processes, read from /proc: what a piece of work cost each process that took part
 * (the serving process and its main thread, Kafka, PostgreSQL's process tree, the ClickHouse
 * endpoint), as a delta between two readings. On a shared machine req/s moves with everyone
 * else's load; CPU per request or per row much less.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export type ProcOptions = {
  /** Where proc is mounted; tests point it at a fake tree. */
  root?: string;
  /** Clock ticks per second of utime/stime (getconf CLK_TCK). */
  ticksPerSecond?: number;
};

let cachedTicks: number | undefined;

/** sysconf(_SC_CLK_TCK): 100 on every Linux we know of, asked once. */
export function clockTicksPerSecond(): number {
  if (cachedTicks === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    cachedTicks = Number(out.stdout?.trim()) || 100;
  }
  return cachedTicks;
}

type StatFields = { ppid: number; ticks: number };

/**
 * The fields of a /proc/<pid>/stat (or task/<tid>/stat) line that matter here. The command name
 * (field 2) may hold spaces and parentheses, so fields are counted from its last ")". utime,
 * stime, cutime and cstime are fields 14–17: the children's share counts, so a PostgreSQL backend
 * that exits during a measurement is not lost (its time moves into the postmaster's cutime).
 */
export function parseStat(text: string): StatFields {
  const after = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(after[n - 3]);
  return { ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
}

function readStat(path: string): StatFields | undefined {
  try {
    return parseStat(readFileSync(path, "utf8"));
  } catch {
    return undefined; // the process ended meanwhile
  }
}

function pidsOf(root: string): number[] {
  return readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** `pid` and every process below it (PostgreSQL: the postmaster and its backends). */
export function processTree(pid: number, o: ProcOptions = {}): number[] {
  const root = o.root ?? "/proc";
  const children = new Map<number, number[]>();
  for (const p of pidsOf(root)) {
    const stat = readStat(join(root, String(p), "stat"));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), p]);
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return tree;
}

/**
 * The process listening on a local TCP port (IPv4 or IPv6): its socket inode from /proc/net/tcp*,
 * then the process holding that inode among its fds. Undefined for a service on another host or
 * in a process we may not inspect.
 */
export function pidListeningOn(port: number, o: ProcOptions = {}): number | undefined {
  const root = o.root ?? "/proc";
  const inodes = new Set<string>();
  for (const file of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(join(root, "net", file), "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; the inode is the 10th column.
      if (f.length > 9 && f[3] === "0A" && Number.parseInt(f[1]?.split(":")[1] ?? "", 16) === port) {
        inodes.add(`socket:[${f[9]}]`);
      }
    }
  }
  if (inodes.size === 0) return undefined;
  for (const p of pidsOf(root)) {
    let fds: string[];
    try {
      fds = readdirSync(join(root, String(p), "fd"));
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(join(root, String(p), "fd", fd)))) return p;
      } catch {}
    }
  }
  return undefined;
}

/** What to measure: a process, a process with everything below it, or one thread of a process. */
export type CpuTarget = { pid: number; tree?: boolean; thread?: number };

/** CPU time the target has used so far, in µs (NaN once it is gone). */
export function cpuMicros(target: CpuTarget, o: ProcOptions = {}): number {
  const root = o.root ?? "/proc";
  const ticks = o.ticksPerSecond ?? clockTicksPerSecond();
  const pids = target.tree ? processTree(target.pid, o) : [target.pid];
  let sum = 0;
  for (const p of pids) {
    const path =
      target.thread === undefined
        ? join(root, String(p), "stat")
        : join(root, String(p), "task", String(target.thread), "stat");
    const stat = readStat(path);
    if (!stat) {
      if (p === target.pid) return Number.NaN;
      continue;
    }
    sum += stat.ticks;
  }
  return (sum * 1_000_000) / ticks;
}

export type CpuSample = {
  /** CPU µs each named target used since the sample started. */
  stop(): Record<string, number>;
};

/**
 * Reads every target now and again at stop(): the difference is what each used meanwhile.
 * A target that could not be found (undefined) is left out of the result.
 */
export function startCpuSample(targets: Record<string, CpuTarget | undefined>, o: ProcOptions = {}): CpuSample {
  const present = Object.entries(targets).filter((e): e is [string, CpuTarget] => e[1] !== undefined);
  const before = present.map(([, t]) => cpuMicros(t, o));
  return {
    stop: () => Object.fromEntries(present.map(([name, t], i) => [name, cpuMicros(t, o) - (before[i] as number)])),
  };
}

/** µs per unit (request, row, event) of each process, to one decimal. */
export function perUnit(micros: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(micros).map(([name, us]) => [name, units > 0 ? Math.round((us / units) * 10) / 10 : Number.NaN]),
  );
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"]);

/** The port of a local `host:port` or URL; undefined for another host. */
function localPort(address: string): number | undefined {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  if (!LOCAL_HOSTS.has(url.hostname)) return undefined;
  const port = Number(url.port || (url.protocol === "postgres:" || url.protocol === "postgresql:" ? 5432 : 80));
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/**
 * The store and broker processes on this machine, found by the port they listen on: Kafka (the
 * first broker), PostgreSQL (the postmaster and its backends) and the ClickHouse endpoint.
 * A service on another host is absent: its CPU cannot be read from here.
 */
export function localServiceTargets(
  addresses: { kafka?: string; postgres?: string; clickhouse?: string },
  o: ProcOptions = {},
): Record<"kafka" | "postgres" | "clickhouse", CpuTarget | undefined> {
  const find = (address: string | undefined, tree: boolean): CpuTarget | undefined => {
    const port = address ? localPort(address) : undefined;
    const pid = port === undefined ? undefined : pidListeningOn(port, o);
    return pid === undefined ? undefined : { pid, tree };
  };
  return {
    kafka: find(addresses.kafka, false),
    postgres: find(addresses.postgres, true),
    clickhouse: find(addresses.clickhouse, false),
  };
}
