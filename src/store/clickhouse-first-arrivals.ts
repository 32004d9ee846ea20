/**
 * Exactly-once counting of an event_id in ClickHouse, whatever repeated it (issue 16): a producer
 * resend, a crash between Kafka's acknowledgement and the spool's cursor, an ingest client retrying
 * after a 503. ClickHouse cannot refuse a duplicate key on insert, and a ReplacingMergeTree would
 * fold copies only when parts merge (queries with FINAL, the rollups fed by every copy), so the
 * writer inserts first arrivals only: before a delivery is inserted, the event_ids of its rows that
 * are already stored are looked up (one query, bounded by the batch's footprint_times so that the
 * table's ORDER BY footprint_time prunes it to a few granules) and left out, as are repeats inside
 * the batch. The materialized views are fed by the insert, so every rollup counts the first arrival
 * only, at once. Why this is exact, and where it is not: docs/delivery.md#duplicates.
 */
import type { ClickHouseClient } from "@clickhouse/client-web";
import { type EpochMicros, formatUtc } from "../time.ts";
import type { FootprintRow } from "./store.ts";

/** Times further apart than this are looked up in spans of their own (no rows read in between). */
export const SPAN_GAP_MICROS = 60_000_000;
/** At most this many spans per lookup: the closest spans are joined beyond it. */
export const MAX_SPANS = 16;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The rows without repeats of an event_id inside the batch, the first of each kept (as PostgreSQL keeps it). */
export function uniqueByEventId(rows: readonly FootprintRow[]): FootprintRow[] {
  const seen = new Set<string>();
  const out: FootprintRow[] = [];
  for (const row of rows) {
    const id = row.eventId.toLowerCase();
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(row);
  }
  return out;
}

/**
 * The times as at most `max` closed spans [from, to] covering all of them: neighbours (in time order)
 * more than `gap` apart start a new span, the largest gaps first. Live traffic makes one span of a
 * few seconds; a batch that also holds old events (a spool drained, an ingest client's backfill)
 * makes one span per cluster instead of one reaching across all the rows stored in between.
 */
export function timeSpans(
  times: readonly EpochMicros[],
  gap = SPAN_GAP_MICROS,
  max = MAX_SPANS,
): [EpochMicros, EpochMicros][] {
  if (times.length === 0) return [];
  const sorted = Float64Array.from(times).sort();
  let cuts: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as number) - (sorted[i - 1] as number) > gap) cuts.push(i);
  }
  if (cuts.length > max - 1) {
    const width = (i: number) => (sorted[i] as number) - (sorted[i - 1] as number);
    cuts = cuts
      .sort((a, b) => width(b) - width(a))
      .slice(0, max - 1)
      .sort((a, b) => a - b);
  }
  const spans: [EpochMicros, EpochMicros][] = [];
  let from = 0;
  for (const cut of [...cuts, sorted.length]) {
    spans.push([sorted[from] as EpochMicros, sorted[cut - 1] as EpochMicros]);
    from = cut;
  }
  return spans;
}

/**
 * The lookup: which of these event_ids are stored with a footprint_time inside the spans. The ids
 * go as one array parameter in the request body (multipart), not in the SQL text (whose parser is
 * slow on thousands of literals, and capped by max_query_size) nor in the URL (length limits); as
 * numbers (a UUID's 128 bits, which toUInt128 reads the same way), since the client escapes a
 * string parameter one character at a time: 5,000 ids as UUID strings took it ~220 ms a batch.
 */
export function storedEventIdsQuery(
  ids: readonly string[],
  spans: readonly [EpochMicros, EpochMicros][],
): { query: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { ids: ids.map((id) => BigInt(`0x${id.replaceAll("-", "")}`)) };
  const within = spans.map(([from, to], i) => {
    params[`from${i}`] = formatUtc(from);
    params[`to${i}`] = formatUtc(to);
    return `footprint_time BETWEEN {from${i}:DateTime64(6, 'UTC')} AND {to${i}:DateTime64(6, 'UTC')}`;
  });
  return {
    query: `SELECT DISTINCT toString(event_id) FROM user_footprint WHERE (${within.join(" OR ")}) AND toUInt128(event_id) IN {ids:Array(UInt128)}`,
    params,
  };
}

/**
 * The rows of a delivery that are not stored yet: repeats inside the batch and event_ids already in
 * user_footprint (with a footprint_time within the batch's spans) left out, order kept.
 */
export async function firstArrivals(client: ClickHouseClient, rows: readonly FootprintRow[]): Promise<FootprintRow[]> {
  const unique = uniqueByEventId(rows);
  // An id that is not a UUID cannot be stored: left to the insert, which refuses it as before.
  const ids = unique.map((r) => r.eventId.toLowerCase()).filter((id) => UUID.test(id));
  if (ids.length === 0) return unique;
  const { query, params } = storedEventIdsQuery(ids, timeSpans(unique.map((r) => r.footprintTime)));
  const rs = await client.query({ query, query_params: params, format: "TabSeparated", use_multipart_params: true });
  const text = await rs.text();
  if (text === "") return unique;
  const stored = new Set(text.split("\n"));
  return unique.filter((r) => !stored.has(r.eventId.toLowerCase()));
}
