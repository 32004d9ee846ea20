import postgres from "postgres";
import { type Migration, postgresMigrations } from "../../sql/index.ts";
import { formatIsoUtc } from "../time.ts";
import { applyPending, migrationFailsAs, pendingVersions } from "./migrations.ts";
import { deleteExpiredPostgres } from "./retention.ts";
import { PG_ROLLUP_KEY, ROLLUP_TABLES } from "./rollup-key.ts";
import type { FootprintRow, PostgresStore } from "./store.ts";

export type PostgresStoreOptions = {
  url: string;
  /** Pool size; the consumer writes one batch at a time, the rest serves stats. */
  max?: number;
  connectTimeoutSeconds?: number;
  migrations?: readonly Migration[];
};

// Any constant works; it only has to be the same in every eft-footprint process.
const MIGRATION_LOCK = 0x4546_5446; // "EFTF"

export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const sql = postgres(options.url, {
    max: options.max ?? 4,
    onnotice: () => {}, // "relation already exists, skipping" on every IF NOT EXISTS
    connection: { application_name: "eft-footprint" },
    connect_timeout: options.connectTimeoutSeconds ?? 10,
  });
  const migrations = options.migrations ?? postgresMigrations;

  const appliedMigrations = async () => {
    const [table] = await sql<{ ok: boolean }[]>`select to_regclass('eft_schema_migrations') is not null as ok`;
    return table?.ok
      ? (await sql<{ version: string }[]>`select version from eft_schema_migrations`).map((r) => r.version)
      : [];
  };

  return {
    name: "postgres",
    stats: { kind: "postgres", sql },

    migrate: () =>
      migrationFailsAs("PostgreSQL", () =>
        sql.begin(async (tx) => {
          // Several processes may start at once (serve + consumers); one migrates, the others wait.
          await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
          await tx`create table if not exists eft_schema_migrations (
            version text primary key,
            name text not null,
            applied_at timestamptz not null default now()
          )`;
          const done = (await tx<{ version: string }[]>`select version from eft_schema_migrations`).map(
            (r) => r.version,
          );
          return applyPending(migrations, done, async (m) => {
            await tx.unsafe(m.sql);
            await tx`insert into eft_schema_migrations (version, name) values (${m.version}, ${m.name})`;
          });
        }),
      ),

    appliedMigrations,

    pendingMigrations: async () => pendingVersions(migrations, await appliedMigrations()),

    async insertFootprints(rows) {
      if (rows.length === 0) return;
      const c = textColumns(rows);
      // One statement with one array per column: constant parameter count whatever the batch
      // size (a multi-row VALUES hits the 65,535-parameter limit at ~9k rows).
      // Every rollup (migrations 0003, 0007, 0008; src/store/rollup-key.ts) is counted in the same
      // statement from RETURNING, which holds only the rows actually inserted: a redelivered batch
      // adds nothing to any of them. Keys are upserted in key order, tables always in the same
      // order, so that concurrent batches lock rollup rows in one order and cannot deadlock.
      await sql`
        with inserted as (
        insert into user_footprint (event_id, request, link, route, status, duration_ms, footprint_time,
                                    query, host, user_agent, referrer, ip_hash, is_bot, bytes_out)
        select * from unnest(
          ${array(c.eventId)}::uuid[],
          ${array(c.method)}::text[],
          ${array(c.link)}::text[],
          ${array(c.route)}::text[],
          ${array(c.status)}::int2[],
          ${array(c.durationMs)}::float8[],
          ${array(c.footprintTime)}::timestamptz[],
          ${array(c.query)}::text[],
          ${array(c.host)}::text[],
          ${array(c.userAgent)}::text[],
          ${array(c.referrer)}::text[],
          ${array(c.ipHash)}::text[],
          ${array(c.isBot)}::bool[],
          ${array(c.bytesOut)}::int8[]
        )
        on conflict (event_id) do nothing
        returning footprint_time, request, link, route, status, is_bot
        ),
        ${sql.unsafe(PG_ROLLUP_UPSERTS)}`;
    },

    async countFootprints() {
      const [row] = await sql<{ n: string }[]>`select count(*) as n from user_footprint`;
      return Number(row?.n ?? 0);
    },

    applyRetention: (days) => deleteExpiredPostgres(sql, days),

    async describe() {
      const [row] = await sql<{ server_version: string }[]>`show server_version`;
      // The planner's estimate: doctor must stay cheap on a table of millions of rows.
      const [estimate] = await sql<{ n: number }[]>`
        select greatest(reltuples, 0)::float8 as n from pg_class where oid = to_regclass('user_footprint')`;
      return {
        serverVersion: row?.server_version ?? "unknown",
        databaseExists: true, // postgres.js fails to connect to a missing one
        footprintRows: estimate === undefined ? undefined : Math.round(estimate.n),
      };
    },

    async ping() {
      await sql`select 1`;
    },

    async close() {
      await sql.end({ timeout: 5 });
    },
  };

  // Sent as text[] and cast in SQL, so nulls and numbers need no per-type array handling.
  function array(values: (string | null)[]) {
    return sql.array(values as string[], 25);
  }
}

/**
 * The rollup part of insertFootprints' statement, after its `inserted` CTE: the inserted rows
 * counted once per minute and full key, then each rollup table upserted from those counts (its
 * unit of time, its family's key), in ROLLUP_TABLES order. Fixed SQL text, built once.
 */
const PG_ROLLUP_UPSERTS = (() => {
  const counted = `keyed as (
          select date_bin('1 minute', footprint_time, timestamptz '1970-01-01 00:00:00+00') as minute,
                 ${PG_ROLLUP_KEY.method} as method, ${PG_ROLLUP_KEY.endpoint} as endpoint,
                 ${PG_ROLLUP_KEY.statusClass} as status_class, ${PG_ROLLUP_KEY.isBot} as is_bot
          from inserted
        ),
        counted as (
          select minute, method, endpoint, status_class, is_bot, count(*)::int4 as n from keyed group by 1, 2, 3, 4, 5
        )`;
  const upserts = ROLLUP_TABLES.map(({ table, tier, columns }) => {
    const keys = [tier, ...columns];
    const time = tier === "minute" ? "minute" : `date_trunc('${tier}', minute, 'UTC')`;
    const positions = keys.map((_, i) => i + 1).join(", ");
    return `insert into ${table} (${keys.join(", ")}, n)
          select ${[time, ...columns].join(", ")}, sum(n) from counted group by ${positions} order by ${positions}
          on conflict (${keys.join(", ")}) do update set n = ${table}.n + excluded.n`;
  });
  const last = upserts.pop() as string;
  const ctes = upserts.map((u, i) => `rollup_${i} as (\n          ${u}\n        )`);
  return `${[counted, ...ctes].join(",\n        ")}\n        ${last}`;
})();

/**
 * The columns of user_footprint the consumer writes, in statement order: each one's type in
 * PostgreSQL and its value as text (null stays null). Sent as text[] arrays and cast in SQL, so
 * nulls and numbers need no per-type array handling.
 */
const FOOTPRINT_COLUMNS: readonly { name: string; type: string; text: (r: FootprintRow) => string | null }[] = [
  { name: "event_id", type: "uuid", text: (r) => r.eventId },
  { name: "request", type: "text", text: (r) => r.method },
  { name: "link", type: "text", text: (r) => r.link },
  { name: "route", type: "text", text: (r) => r.route },
  { name: "status", type: "int2", text: (r) => orNull(r.status) },
  { name: "duration_ms", type: "float8", text: (r) => orNull(r.durationMs) },
  { name: "footprint_time", type: "timestamptz", text: (r) => formatIsoUtc(r.footprintTime) },
  { name: "query", type: "text", text: (r) => r.query },
  { name: "host", type: "text", text: (r) => r.host },
  { name: "user_agent", type: "text", text: (r) => r.userAgent },
  { name: "referrer", type: "text", text: (r) => r.referrer },
  { name: "ip_hash", type: "text", text: (r) => r.ipHash },
  { name: "is_bot", type: "bool", text: (r) => orNull(r.isBot) },
  { name: "bytes_out", type: "int8", text: (r) => orNull(r.bytesOut) },
];

function orNull(v: number | boolean | null): string | null {
  return v === null ? null : String(v);
}

/** The raw insert: one array parameter per column, whatever the batch size; duplicates skipped. */
const RAW_INSERT = `insert into user_footprint (${FOOTPRINT_COLUMNS.map((c) => c.name).join(", ")})
  select * from unnest(${FOOTPRINT_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})
  on conflict (event_id) do nothing`;

/** Inserts the rows whose event_id is not stored yet, without counting them in any rollup; returns how many. */
export async function insertRawFootprints(sql: postgres.Sql, rows: readonly FootprintRow[]): Promise<number> {
  const n = rows.length;
  const arrays = FOOTPRINT_COLUMNS.map(() => new Array<string | null>(n));
  for (let i = 0; i < n; i++) {
    const r = rows[i] as FootprintRow;
    for (let j = 0; j < FOOTPRINT_COLUMNS.length; j++) {
      (arrays[j] as (string | null)[])[i] = (FOOTPRINT_COLUMNS[j] as (typeof FOOTPRINT_COLUMNS)[number]).text(r);
    }
  }
  const result = await sql.unsafe(
    RAW_INSERT,
    arrays.map((a) => sql.array(a as string[], 25)),
    { prepare: true },
  );
  return result.count;
}

/** The rows' columns as text (null stays null), in one pass over the batch. */
function textColumns(rows: readonly FootprintRow[]): Record<keyof FootprintRow, (string | null)[]> {
  const n = rows.length;
  const col = () => new Array<string | null>(n);
  const c = {
    eventId: col(),
    method: col(),
    link: col(),
    route: col(),
    status: col(),
    durationMs: col(),
    footprintTime: col(),
    query: col(),
    host: col(),
    userAgent: col(),
    referrer: col(),
    ipHash: col(),
    isBot: col(),
    bytesOut: col(),
  };
  const text = (v: number | boolean | null) => (v === null ? null : String(v));
  for (let i = 0; i < n; i++) {
    const r = rows[i] as FootprintRow;
    c.eventId[i] = r.eventId;
    c.method[i] = r.method;
    c.link[i] = r.link;
    c.route[i] = r.route;
    c.status[i] = text(r.status);
    c.durationMs[i] = text(r.durationMs);
    c.footprintTime[i] = formatIsoUtc(r.footprintTime);
    c.query[i] = r.query;
    c.host[i] = r.host;
    c.userAgent[i] = r.userAgent;
    c.referrer[i] = r.referrer;
    c.ipHash[i] = r.ipHash;
    c.isBot[i] = text(r.isBot);
    c.bytesOut[i] = text(r.bytesOut);
  }
  return c;
}
