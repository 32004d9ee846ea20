#!/usr/bin/env bun
/**
 * Dev/test infrastructure only. The product always talks to ClickHouse over HTTP
 * (CLICKHOUSE_URL). On machines with a real ClickHouse server, CLICKHOUSE_URL
 * points there and this script is never started. Where there is none, this puts
 * the ClickHouse engine embedded in the npm package `chdb` behind the part of
 * ClickHouse's HTTP interface that `@clickhouse/client-web` uses:
 *
 *   bun scripts/lib/stack/chdb-server.ts --port 8123 --data-dir .data/clickhouse [--host 127.0.0.1]
 *                                    [--user u --password p]
 *
 * Protocol notes (what the client sends, measured against client-web 1.23.1):
 * - ping() is `GET /?query=SELECT 'ping'`; command/exec/query send the SQL as the
 *   body; insert() sends `INSERT … FORMAT X` in the `query` URL param and the rows
 *   as the body. `param_*` values arrive already in ClickHouse's text form.
 * - Every other URL param that is not protocol plumbing is a setting.
 * - A binary insert (`INSERT … FORMAT RowBinary`, the store's inserts) goes through a file:
 *   chdb's raw insert inlines the data into the query text, where an empty line ("\n\n", common
 *   in binary data) ends it, so the body is written to a file and inserted `FROM INFILE`.
 * - Errors must be non-2xx with `X-ClickHouse-Exception-Code` and the body
 *   `Code: N. DB::Exception: … (TYPE_NAME) (version …)`, or the client only
 *   throws a plain Error instead of ClickHouseError.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Session } from "chdb";

type QueryResult = {
  bytes: Uint8Array<ArrayBuffer>;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
};
type InsertResult = {
  rowsWritten: number;
  bytesWritten: number;
  elapsed: number;
};
interface ChdbNative {
  QueryAsyncConnection(
    conn: unknown,
    sql: string,
    defaultFormat: string,
    params?: Record<string, string>,
  ): Promise<QueryResult>;
  InsertRawAsyncConnection(conn: unknown, prefix: string, data: Uint8Array, countLines: boolean): Promise<InsertResult>;
}

// chdb's public queryBind*/Session API re-escapes string params (TSV-escape of a
// value that the client already escaped), so `a\'b` would arrive as `a\\'b`.
// The native addon's 4th argument takes `{name: text}` exactly like the server's
// `param_*`, and its raw insert takes the body bytes without a JS string copy.
// We reach it through chdb's own loader so the same addon instance is used.
const require = createRequire(import.meta.url);
const native: ChdbNative = require(join(dirname(require.resolve("chdb/package.json")), "dist/loader.js")).loadNative();

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8123" },
    host: { type: "string", default: "127.0.0.1" },
    "data-dir": { type: "string" },
    user: { type: "string" },
    password: { type: "string", default: "" },
  },
});
const dataDir = args["data-dir"];
if (!dataDir) {
  console.error("usage: bun scripts/lib/stack/chdb-server.ts --port <n> --data-dir <dir> [--host 127.0.0.1]");
  process.exit(2);
}

// implicit_select is on in clickhouse-local only; off, a typo is a SYNTAX_ERROR as on a server.
const openedAt = performance.now();
const session = new Session(dataDir, {
  connectionArgs: ["--implicit_select=0"],
});
const openMs = Math.round(performance.now() - openedAt);
const conn = session.connection;
const [version = "", timezone = "UTC"] = new TextDecoder()
  .decode((await native.QueryAsyncConnection(conn, "SELECT version(), timezone()", "TabSeparated")).bytes)
  .trim()
  .split("\t");

// URL params that are HTTP plumbing rather than settings (also anything http_*).
const NOT_SETTINGS = new Set(
  "query query_id database default_format user password quota_key session_id session_timeout session_check compress decompress wait_end_of_query buffer_size role enable_http_compression send_progress_in_http_headers stacktrace".split(
    " ",
  ),
);

// SET, USE and query params persist in the engine session, and the engine runs
// one query at a time anyway, so every request runs alone: set up, run, reset.
let tail: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = tail.then(fn, fn);
  tail = run.catch(() => {});
  return run;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(`Code: ${code}. DB::Exception: ${message}. (${type})`);
  }
}
const quote = (v: string) => `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const ident = (v: string) => `\`${v.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
const run = (sql: string) => native.QueryAsyncConnection(conn, sql, "TabSeparated");

function status(type: string): number {
  if (
    /^(SYNTAX_ERROR|CANNOT_PARSE_\w+|INCORRECT_DATA|TYPE_MISMATCH|VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE|DUPLICATE_COLUMN|ILLEGAL_COLUMN|THERE_IS_NO_COLUMN)$/.test(
      type,
    )
  )
    return 400;
  if (/^UNKNOWN_(TABLE|FUNCTION|IDENTIFIER|TYPE|STORAGE|DATABASE|SETTING|AGGREGATE_FUNCTION|FORMAT|ROLE)$/.test(type))
    return 404;
  if (type === "AUTHENTICATION_FAILED") return 403;
  return 500;
}

/** An INSERT whose data is binary: its format name ends the query. */
const BINARY_INSERT = /\bFORMAT\s+(RowBinary\w*|Native)\s*;?\s*$/i;

/** One body at a time (the engine runs one query at a time), beside the data. */
const insertBodyFile = join(dataDir, "http-insert-body.bin");

/** The insert with its body read from a file, as clickhouse-local's `INSERT … FROM INFILE` does. */
async function insertFromFile(query: string, body: Uint8Array): Promise<QueryResult> {
  await Bun.write(insertBodyFile, body);
  const fromFile = query.replace(BINARY_INSERT, (format) => ` FROM INFILE ${quote(insertBodyFile)} ${format.trim()}`);
  return native.QueryAsyncConnection(conn, fromFile, "TabSeparated");
}

function contentType(format: string): string {
  if (/^(Native|RowBinary\w*|Parquet|Arrow\w*|ORC|Avro|Protobuf\w*|CapnProto|MsgPack|BSONEachRow|Npy)$/.test(format))
    return "application/octet-stream";
  if (/^(JSONEachRow|JSONStringsEachRow|JSONCompactEachRow|NDJSON|JSONLines)$/.test(format))
    return "application/x-ndjson; charset=UTF-8";
  if (format.startsWith("JSON")) return "application/json; charset=UTF-8";
  if (/^(TSV|TabSeparated)/.test(format)) return "text/tab-separated-values; charset=UTF-8";
  if (format.startsWith("CSV")) return "text/csv; charset=UTF-8; header=absent";
  return "text/plain; charset=UTF-8";
}

function checkAuth(req: Request, url: URL) {
  if (args.user === undefined) return; // no credentials configured: accept any (client always sends Basic)
  let user = url.searchParams.get("user") ?? req.headers.get("x-clickhouse-user");
  let password = url.searchParams.get("password") ?? req.headers.get("x-clickhouse-key") ?? "";
  const basic = req.headers.get("authorization")?.match(/^Basic\s+(.+)$/i)?.[1];
  if (basic) [user = "", password = ""] = atob(basic).split(/:(.*)/s);
  if (user !== args.user || password !== args.password)
    throw new HttpError(
      516,
      "AUTHENTICATION_FAILED",
      `${user ?? "default"}: Authentication failed: password is incorrect, or there is no user with such name`,
    );
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const queryId = url.searchParams.get("query_id") || crypto.randomUUID();
  const headers: Record<string, string> = {
    "X-ClickHouse-Query-Id": queryId,
    "X-ClickHouse-Timezone": timezone,
  };
  if (url.pathname === "/ping") return new Response("Ok.\n", { headers });
  try {
    if (url.pathname !== "/") throw new HttpError(1002, "UNKNOWN_EXCEPTION", `No handler for ${url.pathname}`);
    checkAuth(req, url);
    const fields: [string, string][] = [...url.searchParams];
    let query = url.searchParams.get("query") ?? "";
    let body = new Uint8Array();
    // use_multipart_params: query and param_* travel as form fields instead of URL/body.
    if (req.headers.get("content-type")?.startsWith("multipart/form-data")) {
      const form = await req.formData();
      form.forEach((v, k) => {
        if (typeof v === "string") fields.push([k, v]);
      });
      query = String(form.get("query") ?? "");
    } else body = new Uint8Array(await req.arrayBuffer());
    const params: Record<string, string> = {};
    const settings: [string, string][] = [];
    for (const [k, v] of fields) {
      if (k.startsWith("param_")) params[k.slice(6)] = v;
      else if (!NOT_SETTINGS.has(k) && !k.startsWith("http_")) {
        if (!/^\w+$/.test(k)) throw new HttpError(115, "UNKNOWN_SETTING", `Unknown setting '${k}'`);
        settings.push([k, v]);
      }
    }
    // Like the server: the `query` param is the start of the query, the body its
    // continuation, except for INSERT … FORMAT where the body is the data.
    const rawInsert = query !== "" && body.length > 0 && /^\s*INSERT\b/i.test(query);
    const text = rawInsert ? "" : new TextDecoder().decode(body);
    const sql = rawInsert ? query : query && text ? `${query}\n${text}` : query || text;
    if (!sql.trim()) throw new HttpError(62, "SYNTAX_ERROR", "Empty query");
    const format = rawInsert
      ? ""
      : (sql.match(/\bFORMAT\s+(\w+)\s*;?\s*$/i)?.[1] ?? url.searchParams.get("default_format") ?? "TabSeparated");
    const database = url.searchParams.get("database");

    const result = await exclusive(async () => {
      try {
        if (database) await run(`USE ${ident(database)}`);
        // SET … rather than appending SETTINGS: on CREATE TABLE that clause would
        // become table settings.
        if (settings.length) await run(`SET ${settings.map(([k, v]) => `${k} = ${quote(v)}`).join(", ")}`);
        if (rawInsert && BINARY_INSERT.test(query)) return await insertFromFile(query, body);
        return rawInsert
          ? await native.InsertRawAsyncConnection(conn, query, body, false)
          : await native.QueryAsyncConnection(conn, sql, format, Object.keys(params).length ? params : undefined);
      } finally {
        if (settings.length) await run(`SET ${settings.map(([k]) => `${k} = DEFAULT`).join(", ")}`).catch(() => {});
        if (database || /^\s*USE\b/i.test(sql)) await run("USE default").catch(() => {});
      }
    });

    const written = "rowsWritten" in result;
    // Only what the engine reports: chdb's rowsRead/bytesRead are the result's rows and bytes (1
    // for a count over a million rows), not what was scanned, so read_rows/read_bytes are left out
    // rather than filled with the wrong figure. elapsed_ns is the engine's own time for this query,
    // without the wait in the queue above.
    const elapsed_ns = String(Math.round(result.elapsed * 1e9));
    headers["X-ClickHouse-Summary"] = JSON.stringify(
      written
        ? { written_rows: String(result.rowsWritten), written_bytes: String(result.bytesWritten), elapsed_ns }
        : { result_rows: String(result.rowsRead), result_bytes: String(result.bytesRead), elapsed_ns },
    );
    if (written) return new Response(null, { headers });
    headers["X-ClickHouse-Format"] = format;
    headers["Content-Type"] = contentType(format);
    return new Response(result.bytes, { headers });
  } catch (e) {
    const raw = (e instanceof Error ? e.message : String(e)).trim();
    const code = Number(raw.match(/^Code: (\d+)\./)?.[1] ?? 1002);
    const type = raw.match(/\(([A-Z][A-Z0-9_]+)\)$/)?.[1] ?? "UNKNOWN_EXCEPTION";
    const msg = raw.startsWith("Code: ") ? raw : `Code: ${code}. DB::Exception: ${raw}. (${type})`;
    return new Response(`${msg} (version ${version})\n`, {
      status: status(type),
      headers: {
        ...headers,
        "X-ClickHouse-Exception-Code": String(code),
        "Content-Type": "text/plain; charset=UTF-8",
      },
    });
  }
}

const server = Bun.serve({
  hostname: args.host,
  port: Number(args.port),
  idleTimeout: 0, // a request may wait in the queue behind a long query without sending a byte
  maxRequestBodySize: 1024 ** 3,
  fetch: handle,
});
console.log(
  JSON.stringify({
    msg: "chdb endpoint ready",
    port: server.port,
    version,
    host: args.host,
    dataDir,
    openMs,
  }),
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  server.stop(); // stop listening; in-flight requests finish through the queue
  await tail.catch(() => {});
  session.close();
  console.log(JSON.stringify({ msg: "chdb endpoint stopped", signal }));
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
