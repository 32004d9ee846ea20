/**
 * How far one store is behind the other. Each store's consumer group writes its own batches, so
 * for a moment one store holds footprints the other does not have yet: their answers then differ
 * without either being wrong. Answers are compared up to the instant both stores hold.
 */
import type { ClickHouseClient } from "@clickhouse/client-web";
import type postgres from "postgres";
import type { StoreName } from "../store/store.ts";
import { type EpochMicros, formatIsoUtc, formatUtc } from "../time.ts";
import { withTimeout } from "../timeout.ts";
import type { StatsDb, StatsStore } from "./stats-db.ts";

/** The newest footprint a store holds in [from, to), or null when it holds none there. */
export function getNewestFootprint(db: StatsDb, from: EpochMicros, to: EpochMicros): Promise<EpochMicros | null> {
  return db.kind === "postgres" ? newestInPostgres(db.sql, from, to) : newestInClickhouse(db.client, from, to);
}

/** Footprints a store holds in (after, to): what the other store has yet to write. */
export function countFootprintsAfter(db: StatsDb, after: EpochMicros, to: EpochMicros): Promise<number> {
  return db.kind === "postgres" ? countInPostgres(db.sql, after, to) : countInClickhouse(db.client, after, to);
}

type Newest = { t: string | number | null };

// Both read the footprint_time index from its end (PostgreSQL's btree, ClickHouse's sort key):
// a few rows, whatever the table's size.
async function newestInPostgres(sql: postgres.Sql, from: EpochMicros, to: EpochMicros) {
  const [row] = await sql<Newest[]>`
    select (extract(epoch from footprint_time) * 1000000)::int8 as t from user_footprint
    where footprint_time >= ${formatIsoUtc(from)}::text::timestamptz
      and footprint_time < ${formatIsoUtc(to)}::text::timestamptz
    order by footprint_time desc limit 1`;
  return row?.t == null ? null : Number(row.t);
}

async function newestInClickhouse(client: ClickHouseClient, from: EpochMicros, to: EpochMicros) {
  const rs = await client.query({
    query: `SELECT toUnixTimestamp64Micro(footprint_time) AS t FROM user_footprint
            WHERE footprint_time >= {from:DateTime64(6, 'UTC')} AND footprint_time < {to:DateTime64(6, 'UTC')}
            ORDER BY footprint_time DESC LIMIT 1`,
    query_params: { from: formatUtc(from), to: formatUtc(to) },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<Newest>();
  return row?.t == null ? null : Number(row.t);
}

async function countInPostgres(sql: postgres.Sql, after: EpochMicros, to: EpochMicros) {
  const [row] = await sql<{ n: string }[]>`
    select count(*) as n from user_footprint
    where footprint_time > ${formatIsoUtc(after)}::text::timestamptz
      and footprint_time < ${formatIsoUtc(to)}::text::timestamptz`;
  return Number(row?.n ?? 0);
}

async function countInClickhouse(client: ClickHouseClient, after: EpochMicros, to: EpochMicros) {
  const rs = await client.query({
    query: `SELECT count() AS n FROM user_footprint
            WHERE footprint_time > {after:DateTime64(6, 'UTC')} AND footprint_time < {to:DateTime64(6, 'UTC')}`,
    query_params: { after: formatUtc(after), to: formatUtc(to) },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ n: string | number }>();
  return Number(row?.n ?? 0);
}

/** Each store's newest footprint in the period asked (null: none there). */
export type NewestByStore = Readonly<Partial<Record<StoreName, EpochMicros | null>>>;

/** The store that is behind, the one ahead, and by how long (null: it holds nothing of the period yet). */
export type Behind = { store: StoreName; ahead: StoreName; seconds: number | null };

/**
 * Where two stores' answers can be compared: up to and including the newest footprint of the
 * store that is behind (the instant both hold), or the whole period when neither is behind, or
 * when one holds nothing of the period yet (then its answers are empty and the lag is all of it).
 *
 * @example
 * compareUpTo(to, { postgres: t, clickhouse: t - 2_000_000 })
 * // { to: t - 2_000_000 + 1, behind: { store: "clickhouse", ahead: "postgres", seconds: 2 } }
 */
export function compareUpTo(to: EpochMicros, newest: NewestByStore): { to: EpochMicros; behind: Behind | null } {
  const known = (Object.entries(newest) as [StoreName, EpochMicros | null][]).filter(([, t]) => t !== undefined);
  if (known.length !== 2) return { to, behind: null };
  const [[a, ta], [b, tb]] = known as [[StoreName, EpochMicros | null], [StoreName, EpochMicros | null]];
  if (ta === tb) return { to, behind: null };
  if (ta === null || tb === null) {
    return { to, behind: ta === null ? { store: a, ahead: b, seconds: null } : { store: b, ahead: a, seconds: null } };
  }
  const [back, front] = ta < tb ? [a, b] : [b, a];
  const backNewest = Math.min(ta, tb);
  return {
    to: Math.min(to, backNewest + 1),
    behind: { store: back, ahead: front, seconds: (Math.max(ta, tb) - backNewest) / 1e6 },
  };
}

/** Each store's newest footprint, where answers are compared up to, and the lag in events too. */
export type Freshness = {
  newest: NewestByStore;
  /** The answers are compared up to here (exclusive): the period's end, or the instant both hold. */
  to: EpochMicros;
  /** `events`: footprints of the period the store ahead holds after the other's newest (null: not counted). */
  behind: (Behind & { events: number | null }) | null;
};

/** How long a store may take to say its newest footprint before it is left out of the comparison. */
export const FRESHNESS_TIMEOUT_MS = 3000;

/**
 * Asks both stores for their newest footprint in [from, to) and, when one is behind, how many
 * footprints the other holds after it. A store that fails to answer, or takes longer than
 * `timeoutMs`, is left out (its statistic will fail too and say why, or answer late): then
 * nothing is compared, and a store that hangs delays the answer by `timeoutMs` at most.
 */
export async function measureFreshness(
  stores: readonly StatsStore[],
  from: EpochMicros,
  to: EpochMicros,
  timeoutMs = FRESHNESS_TIMEOUT_MS,
): Promise<Freshness> {
  const newest: Partial<Record<StoreName, EpochMicros | null>> = {};
  await Promise.all(
    stores.map(async (s) => {
      newest[s.name] = await withTimeout(getNewestFootprint(s.stats, from, to), timeoutMs).catch(() => undefined);
    }),
  );
  const compared = compareUpTo(to, newest);
  const behind = compared.behind;
  const ahead = behind && stores.find((s) => s.name === behind.ahead);
  if (!behind || !ahead) return { newest, to: compared.to, behind: null };
  const after = newest[behind.store] ?? from - 1;
  const events = await withTimeout(countFootprintsAfter(ahead.stats, after, to), timeoutMs).catch(() => null);
  return { newest, to: compared.to, behind: { ...behind, events } };
}
