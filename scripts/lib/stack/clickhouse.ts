import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { HOST } from "./ports.ts";
import { spawnDetached, waitUntil } from "./process.ts";
import type { Launched, Service, StartContext } from "./service.ts";
import type { ProcessRecord } from "./state.ts";

// Loading the embedded engine (libchdb.so, ~570 MB) dominates start-up.
const READY_TIMEOUT_MS = 60_000;

export const clickhouse: Service = {
  name: "clickhouse",
  envName: "CLICKHOUSE_URL",
  portKeys: ["clickhouse"],
  externalAddress: (options) => options.external.clickhouseUrl,
  ownAddress: (state) => (state.ports.clickhouse ? `http://${HOST}:${state.ports.clickhouse}` : undefined),
  isAnswering: (url) => isClickhouseAnswering(url),
  launch: launchClickhouse,
  settle: settleClickhouse,

  stopSignal: "SIGTERM",
  logFiles: (stateDir) => [join(stateDir, "logs/clickhouse.log")],
};

/** Credentials in the URL move to a Basic header: fetch refuses URLs that carry them. */
export function clickhouseRequest(url: string, path = "/"): { url: string; headers: Record<string, string> } {
  const parsed = new URL(path, url);
  const headers: Record<string, string> = {};
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const password = decodeURIComponent(parsed.password);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    parsed.username = "";
    parsed.password = "";
  }
  return { url: parsed.toString(), headers };
}

/** The same request @clickhouse/client-web's ping() sends. */
export async function isClickhouseAnswering(url: string): Promise<boolean> {
  const request = clickhouseRequest(url, "/?query=SELECT%20'ping'");
  try {
    const response = await fetch(request.url, {
      headers: request.headers,
      signal: AbortSignal.timeout(2_000),
    });
    await response.arrayBuffer();
    return response.ok && !response.headers.has("X-ClickHouse-Exception-Code");
  } catch {
    return false;
  }
}

async function launchClickhouse({ options, state }: StartContext): Promise<Launched> {
  const port = state.ports.clickhouse;
  if (!port) throw new Error("clickhouse port not chosen");
  if (!existsSync(options.chdbServerScript)) {
    throw new Error(`the chdb endpoint ${options.chdbServerScript} does not exist`);
  }
  const dataDir = join(options.stateDir, "clickhouse");
  mkdirSync(dataDir, { recursive: true });
  const record = spawnDetached({
    command: process.execPath,
    // ClickHouse takes URIs up to 1 MiB (http_max_uri_size), and the client sends query parameters
    // in the URL: a long stats filter passes Bun.serve's 16 KiB default and was answered 431.
    args: ["--max-http-header-size=1048576", options.chdbServerScript, "--port", String(port), "--data-dir", dataDir],
    cwd: options.repoRoot,
    logFile: join(options.stateDir, "logs/clickhouse.log"),
  });
  return { process: record, notes: [] };
}

async function settleClickhouse({ state }: StartContext, record: ProcessRecord): Promise<string[]> {
  await waitUntil("clickhouse", () => isClickhouseAnswering(`http://${HOST}:${state.ports.clickhouse}`), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 50,
    process: record,
  });
  return [];
}
