import { createClient, parseError } from "@clickhouse/client-web";
import { clickhouseMigrations, type Migration } from "../../sql/index.ts";
import { firstArrivals } from "./clickhouse-first-arrivals.ts";
import { encodeRowBinary, ROW_BINARY_COLUMNS } from "./clickhouse-rowbinary.ts";
import { applyPending, migrationFailsAs, pendingVersions } from "./migrations.ts";
import { applyClickhouseTtl } from "./retention.ts";
import type { ClickhouseStore } from "./store.ts";

export type ClickhouseStoreOptions = {
  url: string;
  username: string;
  password: string;
  database: string;
  migrations?: readonly Migration[];
  requestTimeoutMs?: number;
  /**
   * Look up a delivery's event_ids before inserting it (clickhouse-first-arrivals.ts); true unless
   * given. false only to measure what the lookup costs (app/bench/first-arrivals.ts).
   */
  firstArrivals?: boolean;
};

export function createClickhouseStore(options: ClickhouseStoreOptions): ClickhouseStore {
  const base = {
    url: options.url,
    username: options.username,
    password: options.password,
    request_timeout: options.requestTimeoutMs ?? 30_000,
  };
  // The database may not exist yet, and the HTTP interface rejects every request that names a
  // missing database, CREATE DATABASE included: so it is created through a client without one.
  const server = createClient(base);
  const client = createClient({ ...base, database: options.database });
  const insertRowBinary = binaryInserter(options);
  const migrations = options.migrations ?? clickhouseMigrations;
  const rowsOf = async <T>(query: string, params: Record<string, unknown> = {}) =>
    (await server.query({ query, query_params: params, format: "JSONEachRow" })).json<T>();
  const hasTable = async (name: string) =>
    (
      await rowsOf("SELECT name FROM system.tables WHERE database = {db:String} AND name = {name:String}", {
        db: options.database,
        name,
      })
    ).length > 0;
  const versionsApplied = async () => {
    const rs = await client.query({
      query: "SELECT DISTINCT version FROM eft_schema_migrations",
      format: "JSONEachRow",
    });
    return (await rs.json<{ version: string }>()).map((r) => r.version);
  };
  // Through the database-less client: a database not created yet has nothing applied.
  const appliedMigrations = async () => ((await hasTable("eft_schema_migrations")) ? versionsApplied() : []);

  return {
    name: "clickhouse",
    stats: { kind: "clickhouse", client },

    migrate: () =>
      migrationFailsAs("ClickHouse", async () => {
        await server.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(options.database)}` });
        // No transactions or locks here: every statement is IF NOT EXISTS, so two processes
        // migrating at once converge; ReplacingMergeTree folds the doubled bookkeeping row.
        await client.command({
          query: `CREATE TABLE IF NOT EXISTS eft_schema_migrations
            (version String, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
            ENGINE = ReplacingMergeTree ORDER BY version`,
        });
        return applyPending(migrations, await versionsApplied(), async (m) => {
          for (const statement of splitStatements(m.sql)) await client.command({ query: statement });
          await client.insert({
            table: "eft_schema_migrations",
            values: [{ version: m.version, name: m.name }],
            format: "JSONEachRow",
          });
        });
      }),

    appliedMigrations,

    pendingMigrations: async () => pendingVersions(migrations, await appliedMigrations()),

    async insertFootprints(given, batch) {
      // A delivery (a batch that may come again, or hold events stored before) is written without
      // the event_ids already stored (clickhouse-first-arrivals.ts); a bulk load as it is given.
      const lookUp = batch && given.length > 0 && options.firstArrivals !== false;
      const rows = lookUp ? await firstArrivals(client, given) : given;
      if (rows.length === 0) return;
      // One INSERT per batch: each insert becomes a part, and many small parts were what made the
      // old row-by-row consumer fall behind on merges.
      // The batch as RowBinary (clickhouse-rowbinary.ts): a fifth of JSONEachRow's bytes, with no
      // text for the server to parse (app/bench/clickhouse-insert-ab.ts, consume-ab.ts).
      await insertRowBinary(
        `INSERT INTO user_footprint (${ROW_BINARY_COLUMNS}) FORMAT RowBinary`,
        encodeRowBinary(rows),
        // Idempotence (migration 0005): a batch is identified by the Kafka messages it holds, and a
        // repeat of it is dropped whole, at insert time, here and in every materialized view fed by
        // this table. The token may name fewer rows than the messages (first arrivals only): a
        // repeat finds at least those stored, so what it would write is a subset of what the token
        // already wrote, and dropping it whole is still right (docs/delivery.md#duplicates).
        batch
          ? {
              insert_deduplicate: "1",
              insert_deduplication_token: batch.token,
              deduplicate_blocks_in_dependent_materialized_views: "1",
            }
          : {},
      );
    },

    async countFootprints() {
      const rs = await client.query({ query: "SELECT count() AS n FROM user_footprint", format: "JSONEachRow" });
      const [row] = await rs.json<{ n: string }>();
      return Number(row?.n ?? 0); // UInt64 arrives as a string
    },

    applyRetention: (days) => applyClickhouseTtl(client, options.database, days),

    async describe() {
      // All through the database-less client, which answers whether the database exists or not.
      const [version] = await rowsOf<{ v: string }>("SELECT version() AS v");
      const [db] = await rowsOf<{ n: number | string }>(
        "SELECT count() AS n FROM system.databases WHERE name = {db:String}",
        {
          db: options.database,
        },
      );
      const [rows] = await rowsOf<{ n: number | string | null }>(
        "SELECT total_rows AS n FROM system.tables WHERE database = {db:String} AND name = 'user_footprint'",
        { db: options.database },
      );
      return {
        serverVersion: version?.v ?? "unknown",
        databaseExists: Number(db?.n) > 0,
        footprintRows: rows === undefined ? undefined : Number(rows.n ?? 0), // UInt64 arrives as a string
      };
    },

    async ping() {
      const result = await client.ping();
      if (!result.success) throw result.error;
    },

    async close() {
      await Promise.all([client.close(), server.close()]);
    },
  };
}

/**
 * Runs `INSERT … FORMAT RowBinary` with the rows as the body: ClickHouse's HTTP interface, the query
 * in the URL and the data as the POST body. Through fetch, since the web client's insert() encodes
 * only JSON formats and its exec() sends the query as the body; a refusal is parsed by the
 * client's own parseError (a ClickHouseError, "… at row N" kept), a timeout reads as the client's.
 */
function binaryInserter(options: ClickhouseStoreOptions) {
  const authorization = `Basic ${btoa(`${options.username}:${options.password}`)}`;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  return async (query: string, body: Uint8Array, settings: Record<string, string>) => {
    const url = new URL(options.url);
    url.search = new URLSearchParams({ ...settings, database: options.database, query }).toString();
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { method: "POST", body, headers: { Authorization: authorization }, signal });
    } catch (err) {
      throw signal.aborted ? new Error("Timeout error.") : err;
    }
    const answer = await response.text();
    if (!response.ok || response.headers.has("x-clickhouse-exception-code")) throw parseError(answer);
  };
}

/** Splits a migration file into statements; the HTTP interface takes one per request. */
export function splitStatements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[`\\]/g, "\\$&")}\``;
}
