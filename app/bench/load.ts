import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import { PG_ROLLUP_KEY } from "../../src/store/rollup-key.ts";
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
 * one GROUP BY per tier over the product's rollup key (time included in the rate).
 */
export async function copyIntoPostgres(
  sql: postgres.Sql,
  chunks: Iterable<FootprintRow[]>,
  onRows: (n: number) => void,
): Promise<{ copySeconds: number; rollupSeconds: number; analyzeSeconds: number }> {
  let loaded = 0;
  let t = performance.now();
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
  t = performance.now();
  for (const [table, unit] of [
    ["user_footprint_minute", "minute"],
    ["user_footprint_hour", "hour"],
    ["user_footprint_day", "day"],
  ] as const) {
    await sql.unsafe(`
      insert into ${table} (${unit}, method, endpoint, status_class, is_bot, n)
      select date_trunc('${unit}', footprint_time, 'UTC'), ${PG_ROLLUP_KEY.method}, ${PG_ROLLUP_KEY.endpoint},
             ${PG_ROLLUP_KEY.statusClass}, ${PG_ROLLUP_KEY.isBot}, count(*)
      from user_footprint group by 1, 2, 3, 4, 5`);
  }
  const rollupSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await sql`vacuum analyze user_footprint`;
  await sql`vacuum analyze user_footprint_minute`;
  await sql`vacuum analyze user_footprint_hour`;
  await sql`vacuum analyze user_footprint_day`;
  return { copySeconds, rollupSeconds, analyzeSeconds: (performance.now() - t) / 1000 };
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
  for (const table of ["user_footprint_minute", "user_footprint_hour", "user_footprint_day"]) {
    await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  }
  return { insertSeconds, optimizeSeconds: (performance.now() - t) / 1000 };
}
