/**
 * What the soak (test/support/soak-run.ts) reads of a running process every few seconds: its RSS
 * and open files from /proc, and its JS heap, spool and lag from its /metrics page.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** One process at one moment; a field is undefined when it could not be read (process restarting). */
export type ProcessSample = {
  /** Resident set size, from /proc/PID/status (VmRSS). */
  rssBytes: number | undefined;
  /** nodejs_heap_size_used_bytes from the process's /metrics (prom-client's default metrics). */
  heapBytes: number | undefined;
  /** Entries of /proc/PID/fd: files, sockets, pipes. */
  openFiles: number | undefined;
};

export type Sample = {
  /** Seconds since the soak started. */
  t: number;
  serve: ProcessSample;
  consume: ProcessSample;
  /** Which `consume` process this is (1 = the first; each kill -9 starts the next). */
  consumeInstance: number;
  /** Bytes of the spool dir's files on disk (a segment is deleted once sent and full). */
  spoolBytes: number;
  /** Spooled bytes not yet sent to Kafka (serve's eft_spool_bytes). */
  spoolUnsentBytes: number | undefined;
  /** eft_consumer_lag of each sink, summed over partitions. */
  lag: { postgres: number | undefined; clickhouse: number | undefined };
  /** Events answered (demo 200s + ingest 202s) so far. */
  sent: number;
  /** Rows in each store (undefined while that store is stopped). */
  stored: { postgres: number | undefined; clickhouse: number | undefined };
};

/** RSS and open files of `pid` from /proc (undefined once it has exited). */
export function procStats(pid: number): { rssBytes: number | undefined; openFiles: number | undefined } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return {
      rssBytes: kb === undefined ? undefined : Number(kb) * 1024,
      openFiles: readdirSync(`/proc/${pid}/fd`).length,
    };
  } catch {
    return { rssBytes: undefined, openFiles: undefined };
  }
}

/** Every series of a Prometheus text page, by metric name and label text (`{sink="postgres"}` or ""). */
export function parseMetrics(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m) continue;
    const series = out.get(m[1] as string) ?? new Map<string, number>();
    series.set(m[2] ?? "", Number(m[3]));
    out.set(m[1] as string, series);
  }
  return out;
}

/** The sum of `name`'s series whose labels include `label` (all of them when omitted). */
export function metricSum(metrics: Map<string, Map<string, number>>, name: string, label?: string): number | undefined {
  const series = metrics.get(name);
  if (!series) return undefined;
  let total = 0;
  for (const [labels, value] of series) if (!label || labels.includes(label)) total += value;
  return total;
}

/** A /metrics page, or an empty map when the process does not answer within 3 s. */
export async function scrapeMetrics(url: string | undefined): Promise<Map<string, Map<string, number>>> {
  if (!url) return new Map();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? parseMetrics(await res.text()) : new Map();
  } catch {
    return new Map();
  }
}

/** The process's RSS and open files (/proc) and heap (its /metrics page, already scraped). */
export function processSample(pid: number, metrics: Map<string, Map<string, number>>): ProcessSample {
  return { ...procStats(pid), heapBytes: metricSum(metrics, "nodejs_heap_size_used_bytes") };
}

/** Bytes of the regular files under `dir` (the spool's segments and cursor). */
export function dirBytes(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const path = join(dir, name);
    try {
      const s = statSync(path);
      total += s.isDirectory() ? dirBytes(path) : s.size;
    } catch {
      // Removed between the listing and the stat: a drained segment.
    }
  }
  return total;
}
