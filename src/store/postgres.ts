import postgres from "postgres";
import { type Migration, postgresMigrations } from "../../sql/index.ts";
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
      // Every rollup (migrations 0003, 0007, 0008; src/store/rollup-key.ts) is counted in the same
      // statement from RETURNING, which holds only the rows actually inserted: a redelivered batch
      // adds nothing to any of them. Keys are upserted in key order, tables always in the same
      // order, so that concurrent batches lock rollup rows in one order and cannot deadlock.
      await sql.unsafe(INSERT_WITH_ROLLUPS, columnArrays(rows), { prepare: true });
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
  const upserts = ROLLUP_TABLES.map(({ table, family, tier, columns }) => {
    const keys = [tier, ...columns];
    const time = tier === "minute" ? "minute" : `date_trunc('${tier}', minute, 'UTC')`;
    const positions = keys.map((_, i) => i + 1).join(", ");
    // The per-minute table of the whole key is `counted` itself: nothing to group again.
    const counts =
      family === "endpoint" && tier === "minute"
        ? `select ${[...keys, "n"].join(", ")} from counted`
        : `select ${[time, ...columns].join(", ")}, sum(n) from counted group by ${positions}`;
    return `insert into ${table} (${keys.join(", ")}, n)
          ${counts} order by ${positions}
          on conflict (${keys.join(", ")}) do update set n = ${table}.n + excluded.n`;
  });
  const last = upserts.pop() as string;
  const ctes = upserts.map((u, i) => `rollup_${i} as (\n          ${u}\n        )`);
  return `${[counted, ...ctes].join(",\n        ")}\n        ${last}`;
})();

/**
 * The columns of user_footprint the consumer writes, in statement order: the element type of the
 * array each is sent in, its value as text (null stays null), and the SQL of the stored value
 * when it is not the array element itself. footprint_time travels as epoch microseconds (an
 * integer is far cheaper to write than a timestamp text; float8 holds every microsecond up to
 * 2255, interval arithmetic keeps them all).
 */
const FOOTPRINT_COLUMNS: readonly FootprintColumn[] = [
  { name: "event_id", type: "uuid", text: (r) => r.eventId },
  { name: "request", type: "text", text: (r) => r.method },
  { name: "link", type: "text", text: (r) => r.link },
  { name: "route", type: "text", text: (r) => r.route },
  { name: "status", type: "int2", text: (r) => orNull(r.status) },
  { name: "duration_ms", type: "float8", text: (r) => orNull(r.durationMs) },
  {
    name: "footprint_time",
    type: "int8",
    text: (r) => String(r.footprintTime),
    value: (micros) => `timestamptz 'epoch' + ${micros} * interval '1 microsecond'`,
  },
  { name: "query", type: "text", text: (r) => r.query },
  { name: "host", type: "text", text: (r) => r.host },
  { name: "user_agent", type: "text", text: (r) => r.userAgent },
  { name: "referrer", type: "text", text: (r) => r.referrer },
  { name: "ip_hash", type: "text", text: (r) => r.ipHash },
  { name: "is_bot", type: "bool", text: (r) => orNull(r.isBot) },
  { name: "bytes_out", type: "int8", text: (r) => orNull(r.bytesOut) },
];

type FootprintColumn = {
  name: string;
  type: string;
  text: (r: FootprintRow) => string | null;
  value?: (element: string) => string;
};

function orNull(v: number | boolean | null): string | null {
  return v === null ? null : String(v);
}

/**
 * The raw insert: one array parameter per column, so a constant parameter count whatever the
 * batch size (a multi-row VALUES hits the 65,535-parameter limit at ~9k rows); rows whose
 * event_id is stored already (or earlier in the batch) are skipped.
 */
const RAW_INSERT = `insert into user_footprint (${FOOTPRINT_COLUMNS.map((c) => c.name).join(", ")})
        select ${FOOTPRINT_COLUMNS.map((c) => c.value?.(c.name) ?? c.name).join(", ")}
        from unnest(${FOOTPRINT_COLUMNS.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})
          as batch (${FOOTPRINT_COLUMNS.map((c) => c.name).join(", ")})
        on conflict (event_id) do nothing`;

const INSERT_WITH_ROLLUPS = `with inserted as (
        ${RAW_INSERT}
        returning footprint_time, request, link, route, status, is_bot
        ),
        ${PG_ROLLUP_UPSERTS}`;

/**
 * Each column of the batch as one PostgreSQL array literal, built in one pass over the rows
 * (postgres.js would escape every element with two regular expressions). A column with no value
 * in the batch (most of them for seed-format messages) is sent empty: unnest pads it with nulls.
 */
export function columnArrays(rows: readonly FootprintRow[]): string[] {
  const width = FOOTPRINT_COLUMNS.length;
  const literals = new Array<string>(width).fill("");
  // Until a column's first value, only its leading nulls are counted: seed-format rows leave most
  // columns empty, and appending NULL to each of them for every row was half the work.
  const leadingNulls = new Array<number>(width).fill(0);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as FootprintRow;
    for (let j = 0; j < width; j++) {
      const v = (FOOTPRINT_COLUMNS[j] as FootprintColumn).text(r);
      if (literals[j] === "") {
        if (v === null) leadingNulls[j] = (leadingNulls[j] as number) + 1;
        else literals[j] = `${"NULL,".repeat(leadingNulls[j] as number)}${arrayElement(v)}`;
      } else literals[j] += v === null ? ",NULL" : `,${arrayElement(v)}`;
    }
  }
  return literals.map((l) => (l === "" ? "{}" : `{${l}}`));
}

const ARRAY_SPECIAL = /["\\]/;

/** A quoted array element: only `"` and `\` are escaped inside the quotes. */
function arrayElement(v: string): string {
  return ARRAY_SPECIAL.test(v) ? `"${v.replace(/["\\]/g, "\\$&")}"` : `"${v}"`;
}

/** Inserts the rows whose event_id is not stored yet, without counting them in any rollup; returns how many. */
export async function insertRawFootprints(sql: postgres.Sql, rows: readonly FootprintRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return (await sql.unsafe(RAW_INSERT, columnArrays(rows), { prepare: true })).count;
}
