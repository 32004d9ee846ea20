import type { Sql } from "postgres";
import { createFailureLimit } from "./failure-limit.ts";
import { askSessionDatabase, type PostgresSessionStoreOptions } from "./session-store.ts";

/** Failed password logins allowed for the user, from all addresses together, in the window. */
export const ACCOUNT_FAILURE_LIMIT = { max: 20, windowMs: 10 * 60_000 } as const;

/**
 * The per-account (per-user) failed-login limit. Asynchronous: it may live in PostgreSQL, shared
 * by every serve process, so N processes do not give a guesser N times the tries.
 */
export type AccountFailures = {
  /** Milliseconds until `account` may try again, or 0 when it may now. */
  retryAfterMs(account: string): Promise<number>;
  recordFailure(account: string): Promise<void>;
};

/** In this process's memory: for tests and a single process (each process counts on its own). */
export function createMemoryAccountFailures(now: () => number = Date.now): AccountFailures {
  const limit = createFailureLimit(ACCOUNT_FAILURE_LIMIT.max, ACCOUNT_FAILURE_LIMIT.windowMs, now);
  return {
    retryAfterMs: async (account) => limit.retryAfterMs(account),
    recordFailure: async (account) => limit.recordFailure(account),
  };
}

/**
 * In PostgreSQL (table eft_dashboard_login_failures, migration 0009), on PostgreSQL's clock: the
 * same sliding window as the memory limit, counted over every serve process. Only password
 * logins ask it; when PostgreSQL does not answer they could not start a session anyway, and the
 * answer is SESSION_STORE_UNAVAILABLE.
 */
export function createPostgresAccountFailures(sql: Sql, options: PostgresSessionStoreOptions = {}): AccountFailures {
  const window = `${ACCOUNT_FAILURE_LIMIT.windowMs} milliseconds`;
  return {
    retryAfterMs: (account) =>
      askSessionDatabase(
        "check the failed logins",
        async () => {
          // The max-th most recent failure in the window: the limit holds until it ages out.
          const [row] = await sql<{ wait: number }[]>`
            select greatest(1, ceil(extract(epoch from (failed_at + ${window}::interval - now())) * 1000))::int as wait
            from eft_dashboard_login_failures
            where account = ${account} and failed_at > now() - ${window}::interval
            order by failed_at desc
            offset ${ACCOUNT_FAILURE_LIMIT.max - 1} limit 1`;
          return row?.wait ?? 0;
        },
        options,
      ),
    recordFailure: (account) =>
      askSessionDatabase(
        "count the failed login",
        async () => {
          await sql`with aged as (delete from eft_dashboard_login_failures where failed_at < now() - ${window}::interval)
            insert into eft_dashboard_login_failures (account) values (${account})`;
        },
        options,
      ),
  };
}
