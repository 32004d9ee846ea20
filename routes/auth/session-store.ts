import { createHash } from "node:crypto";
import type { Sql } from "postgres";
import { AppError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import { withTimeout } from "../../src/timeout.ts";

/**
 * The sessions that are still valid, by session id (the random part of the signed cookie). A
 * signed cookie alone is not enough: its session must be here too, so a logout (`remove`) or a
 * revocation of all (`removeAll`) ends it in every process that shares the store.
 */
export type SessionStore = {
  /** Records a session valid until `expiresAt` (epoch ms). */
  add(id: string, expiresAt: number): Promise<void>;
  /** True while the session is recorded (its expiry is checked from the signed cookie). */
  has(id: string): Promise<boolean>;
  remove(id: string): Promise<void>;
  /** Ends every session; returns how many had not expired yet. */
  removeAll(): Promise<number>;
};

/**
 * Sessions in this process's memory: for tests and a single process only. A second `serve`
 * process would refuse every session the first started (and its logouts would not reach the
 * first), so `serve` keeps them in PostgreSQL (createPostgresSessionStore).
 */
export function createMemorySessionStore(now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, number>();
  return {
    async add(id, expiresAt) {
      for (const [key, expiry] of sessions) if (expiry <= now()) sessions.delete(key);
      sessions.set(hashId(id), expiresAt);
    },
    async has(id) {
      return sessions.has(hashId(id));
    },
    async remove(id) {
      sessions.delete(hashId(id));
    },
    async removeAll() {
      const n = [...sessions.values()].filter((expiry) => expiry > now()).length;
      sessions.clear();
      return n;
    },
  };
}

export type PostgresSessionStoreOptions = {
  /** How long one lookup may take before the request is answered 503 (2 s by default). */
  timeoutMs?: number;
  /** Where a failed lookup is logged (the answer to the client does not carry PostgreSQL's words). */
  logger?: Logger;
};

/**
 * Sessions in PostgreSQL (table eft_dashboard_sessions, migration 0009), shared by every `serve`
 * process and kept across restarts. One primary-key lookup per request that carries a session
 * cookie (a Bearer token needs none). When PostgreSQL does not answer, the lookup fails with
 * SESSION_STORE_UNAVAILABLE (503): a session that may have been revoked is never let in.
 */
export function createPostgresSessionStore(sql: Sql, options: PostgresSessionStoreOptions = {}): SessionStore {
  const run = <T>(what: string, query: () => Promise<T>) => askSessionDatabase(what, query, options);
  return {
    add: (id, expiresAt) =>
      run("record the session", async () => {
        // Expired rows go as new ones come: the table holds about one row per login of the last TTL.
        await sql`with expired as (delete from eft_dashboard_sessions where expires_at < now() - interval '1 hour')
          insert into eft_dashboard_sessions (id_hash, expires_at)
          values (${hashId(id)}, ${new Date(expiresAt)})`;
      }),
    has: (id) =>
      run("check the session", async () => {
        const rows = await sql`select 1 from eft_dashboard_sessions where id_hash = ${hashId(id)}`;
        return rows.length > 0;
      }),
    remove: (id) =>
      run("end the session", async () => {
        await sql`delete from eft_dashboard_sessions where id_hash = ${hashId(id)}`;
      }),
    removeAll: () =>
      run("end the sessions", async () => {
        const [row] = await sql<{ n: number }[]>`with ended as (delete from eft_dashboard_sessions returning expires_at)
          select count(*) filter (where expires_at > now())::int as n from ended`;
        return row?.n ?? 0;
      }),
  };
}

/** What is stored of a session id: a copy of the store lets nobody log in. */
function hashId(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

/**
 * Runs one query of the dashboard's session tables (sessions, failed logins) within the timeout;
 * any failure is logged and becomes SESSION_STORE_UNAVAILABLE, without PostgreSQL's own words.
 */
export async function askSessionDatabase<T>(
  what: string,
  query: () => Promise<T>,
  options: PostgresSessionStoreOptions,
): Promise<T> {
  try {
    return await withTimeout(query(), options.timeoutMs ?? 2000);
  } catch (err) {
    options.logger?.warn("session store unavailable", { err, action: what });
    // undefined_table: serve started before the first migration (consume or migrate applies it).
    const missing = (err as { code?: unknown }).code === "42P01";
    throw new AppError(
      "SESSION_STORE_UNAVAILABLE",
      missing
        ? `the sessions table is missing in PostgreSQL: run \`eft-footprint migrate\`; could not ${what}`
        : `PostgreSQL, which keeps the dashboard sessions, did not answer; could not ${what} (the Bearer token works meanwhile)`,
      undefined,
      { cause: err },
    );
  }
}
