import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { PG_ROLLUP_KEY, ROLLUP_FAMILY_KEY, ROLLUP_TABLES, rollupTable } from "../../src/store/rollup-key.ts";
import type { FootprintRow } from "../../src/store/store.ts";
import { formatIsoUtc } from "../../src/time.ts";

const COPY_COLUMNS = [
  "event_id",
  "request",
  "link",
  "route",
  "status",
  "duration_ms",
  "footprint_time",
  "host",
  "is_bot",
] as const;

// COPY text format: NULL is \N; backslash, tab, newline and carriage return are escaped.
function copyValue(v: string | number | boolean | null): string {
  if (v === null) return "\\N";
  return String(v).replace(/[\\\t\n\r]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r",
  );
}

function copyLine(r: FootprintRow): string {
  return `${[
    r.eventId,
    r.method,
    r.link,
    r.route,
    r.status,
    r.durationMs,
    formatIsoUtc(r.footprintTime),
    r.host,
    r.isBot,
  ]
    .map(copyValue)
    .join("\t")}\n`;
}

/**
 * PostgreSQL's fastest bulk path: one COPY FROM STDIN for all chunks. COPY bypasses the
 * product's insert statement, which also counts the rollups, so they are built afterwards with
 * one GROUP BY per rollup table over the product's rollup key (time included in the rate).
 */
export async function copyIntoPostgres(
  sql: postgres.Sql,
  chunks: Iterable<FootprintRow[]>,
  onRows: (n: number) => void,
): Promise<{ copySeconds: number; rollupSeconds: number; analyzeSeconds: number }> {
  let loaded = 0;
  const t = performance.now();
  const lines = function* () {
    for (const chunk of chunks) {
      let text = "";
      for (const r of chunk) text += copyLine(r);
      yield text;
      loaded += chunk.length;
      onRows(loaded);
    }
  };
  const writable = await sql`copy user_footprint (${sql.unsafe(COPY_COLUMNS.join(", "))}) from stdin`.writable();
  await pipeline(Readable.from(lines()), writable);
  const copySeconds = (performance.now() - t) / 1000;
  return { copySeconds, ...(await buildPostgresRollups(sql)) };
}

/**
 * Every rollup built from the raw rows already stored (after a COPY or an INSERT … SELECT, which
 * bypass the product's insert statement), then VACUUM ANALYZE of everything.
 */
export async function buildPostgresRollups(
  sql: postgres.Sql,
): Promise<{ rollupSeconds: number; analyzeSeconds: number }> {
  let t = performance.now();
  await sql.begin(async (tx) => {
    // Hash aggregates in memory: at 4 MB the minute groups of millions of rows spill to disk.
    await tx.unsafe("set local work_mem = '256MB'");
    // Minute tables from the raw rows, each coarser one from its family's minute table.
    for (const { table, family, tier, columns } of ROLLUP_TABLES) {
      const keys = ROLLUP_FAMILY_KEY[family].map((k) => PG_ROLLUP_KEY[k]);
      const positions = [tier, ...columns].map((_, i) => i + 1).join(", ");
      await tx.unsafe(
        tier === "minute"
          ? `insert into ${table} (minute, ${[...columns, "n"].join(", ")})
             select date_trunc('minute', footprint_time, 'UTC'), ${[...keys, "count(*)"].join(", ")}
             from user_footprint group by ${positions}`
          : `insert into ${table} (${tier}, ${[...columns, "n"].join(", ")})
             select date_trunc('${tier}', minute, 'UTC'), ${[...columns, "sum(n)"].join(", ")}
             from ${rollupTable(family, "minute")} group by ${positions}`,
      );
    }
  });
  const rollupSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await sql`vacuum analyze user_footprint`;
  for (const { table } of ROLLUP_TABLES) await sql.unsafe(`vacuum analyze ${table}`);
  return { rollupSeconds, analyzeSeconds: (performance.now() - t) / 1000 };
}

/** ClickHouse: one JSONEachRow INSERT per chunk (100k rows); its materialized views fill the rollups. */
export async function insertIntoClickhouse(
  insert: (rows: FootprintRow[]) => Promise<void>,
  client: ClickHouseClient,
  chunks: Iterable<FootprintRow[]>,
  onRows: (n: number) => void,
): Promise<{ insertSeconds: number; optimizeSeconds: number }> {
  let loaded = 0;
  let t = performance.now();
  for (const chunk of chunks) {
    await insert(chunk);
    loaded += chunk.length;
    onRows(loaded);
  }
  const insertSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  // Merged rollup parts, as a long-running server would have them.
  for (const { table } of ROLLUP_TABLES) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  return { insertSeconds, optimizeSeconds: (performance.now() - t) / 1000 };
}
