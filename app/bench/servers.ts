/**
 * What the bench ran on, as the servers themselves say: a figure means little without the
 * ClickHouse (a real server, or the chdb engine behind the development endpoint) and the
 * PostgreSQL settings that made it.
 */
import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";

/** PostgreSQL settings that decide how the dashboard's queries run (memory, parallelism, JIT). */
export const POSTGRES_SETTINGS = [
  "shared_buffers",
  "work_mem",
  "effective_cache_size",
  "max_parallel_workers_per_gather",
  "max_parallel_workers",
  "max_worker_processes",
  "jit",
  "random_page_cost",
] as const;

export type BenchServers = {
  postgres: { host: string; version: string; settings: Record<string, string> };
  clickhouse: {
    host: string;
    version: string;
    /**
     * `server`: a ClickHouse server answering over HTTP; `chdb`: the engine embedded in chdb
     * (clickhouse-local) behind an HTTP endpoint, such as the development stack's, which runs one
     * query at a time; `unknown`: the server would not say.
     */
    kind: "server" | "chdb" | "unknown";
    /** Threads a query may use (max_threads). */
    maxThreads: string;
  };
};

// ClientInfo::Interface of the query itself: HTTP (2) on a server, LOCAL (6) in clickhouse-local
// and chdb, whatever HTTP endpoint sits in front of it.
const INTERFACE_KIND: Record<number, BenchServers["clickhouse"]["kind"]> = { 2: "server", 6: "chdb" };

/** Asks both servers; `urls` (DATABASE_URL, CLICKHOUSE_URL) give their hosts, never the credentials. */
export async function describeBenchServers(
  sql: postgres.Sql,
  client: ClickHouseClient,
  urls: { postgres: string; clickhouse: string },
): Promise<BenchServers> {
  const [pg, ch] = await Promise.all([describePostgres(sql), describeClickhouse(client)]);
  return {
    postgres: { host: new URL(urls.postgres).host, ...pg },
    clickhouse: { host: new URL(urls.clickhouse).host, ...ch },
  };
}

async function describePostgres(sql: postgres.Sql): Promise<Omit<BenchServers["postgres"], "host">> {
  const rows = await sql<{ name: string; value: string }[]>`
    select name, current_setting(name) as value from unnest(${[...POSTGRES_SETTINGS]}::text[]) as name`;
  const [version] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
  return { version: version?.v ?? "?", settings: Object.fromEntries(rows.map((r) => [r.name, r.value])) };
}

async function describeClickhouse(client: ClickHouseClient): Promise<Omit<BenchServers["clickhouse"], "host">> {
  const rs = await client.query({
    query: "SELECT version() AS version, toString(getSetting('max_threads')) AS max_threads",
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ version: string; max_threads: string }>();
  let kind: BenchServers["clickhouse"]["kind"] = "unknown";
  try {
    const it = await client.query({
      query: "SELECT toUInt8(interface) AS i FROM system.processes WHERE query_id = queryID()",
      format: "JSONEachRow",
    });
    const [own] = await it.json<{ i: number }>();
    kind = (own && INTERFACE_KIND[Number(own.i)]) ?? "unknown";
  } catch {
    // No access to system.processes: the report says it could not tell.
  }
  return { version: row?.version ?? "?", kind, maxThreads: row?.max_threads ?? "?" };
}

/** One line for the report, e.g. "ClickHouse 24.8.4.13 at db:8123: a ClickHouse server over HTTP; max_threads 16". */
export function describeClickhouseLine(c: BenchServers["clickhouse"]): string {
  const what = {
    server: "a ClickHouse server over HTTP",
    chdb:
      "the chdb engine (clickhouse-local, embedded) behind the development HTTP endpoint scripts/lib/stack/chdb-server.ts, " +
      "which runs one query at a time: not a ClickHouse server",
    unknown: "could not tell a server from an embedded engine (no access to system.processes)",
  }[c.kind];
  return `ClickHouse ${c.version} ${where(c.host)}: ${what}; max_threads ${c.maxThreads}`;
}

/** e.g. "PostgreSQL 17.10 at db:5432: shared_buffers 128MB, work_mem 4MB, …". */
export function describePostgresLine(p: BenchServers["postgres"]): string {
  const settings = POSTGRES_SETTINGS.filter((k) => p.settings[k] !== undefined).map((k) => `${k} ${p.settings[k]}`);
  return `PostgreSQL ${p.version} ${where(p.host)}: ${settings.join(", ")}`;
}

/** "on the bench's machine" for a loopback address (its port means nothing later), else "at host:port". */
function where(host: string): string {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return /^(localhost|127\.\d+\.\d+\.\d+|::1)$/.test(name) ? "on the bench's machine" : `at ${host}`;
}
