import { spawn } from "node:child_process";

/** One wrk run: requests answered, requests/s and latency percentiles in ms. */
export type WrkResult = { requests: number; rps: number; p50: number; p99: number; socketErrors: number };

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) throw new Error(`cannot read wrk latency ${text}`);
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

/** wrk's --latency report; a run with non-2xx answers is an error, not a figure. */
export function parseWrk(out: string): WrkResult {
  const pick = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`unexpected wrk output:\n${out}`);
    return m[1] as string;
  };
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (non2xx) throw new Error(`${non2xx[1]} failed responses:\n${out}`);
  // Timeouts (over 2 s) and connection errors are counted, not fatal: an overloaded server shows them.
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(pick(/(\d+) requests in/)),
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    p50: toMs(pick(/^\s+50%\s+(\S+)/m)),
    p99: toMs(pick(/^\s+99%\s+(\S+)/m)),
    socketErrors: errors ? errors.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  };
}

/**
 * `wrk -t<threads> -c<connections> -d<seconds>s --latency <url>` in its own process (so the load
 * generator's CPU is never the measured server's). Asynchronous, so the caller can sample meanwhile.
 */
export async function runWrk(
  url: string,
  o: { connections: number; seconds: number; threads?: number },
): Promise<WrkResult> {
  const args = [`-t${o.threads ?? 1}`, `-c${o.connections}`, `-d${o.seconds}s`, "--latency", url];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`wrk ${args.join(" ")} failed (${code}): ${err || out}`);
  try {
    return parseWrk(out);
  } catch (e) {
    throw new Error(`wrk on ${url}: ${(e as Error).message}`);
  }
}
