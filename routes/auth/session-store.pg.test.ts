import { describe, expect, test } from "bun:test";
import postgres from "postgres";
import { createMemoryLogger } from "../../src/log.ts";
import { closedPort } from "../../test/support/closed-port.ts";
import { createTestPostgresDatabase } from "../../test/support/stack.ts";
import { useTestStore } from "../../test/support/test-store.ts";
import { ACCOUNT_FAILURE_LIMIT, createPostgresAccountFailures } from "./account-failures.ts";
import { createPostgresSessionStore } from "./session-store.ts";

/**
 * The PostgreSQL session store on a migrated test database (migration 0009). Two stores on two
 * connections stand for two serve processes: what one ends, the other refuses at once.
 */
describe("createPostgresSessionStore", () => {
  const pg = useTestStore("postgres");
  const open = () => {
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    return { sql, store: createPostgresSessionStore(sql) };
  };
  const hour = 60 * 60 * 1000;

  test("a session added by one process is known to another; removed by the second, the first refuses it", async () => {
    const a = open();
    const b = open();
    try {
      await a.store.add("session-one", Date.now() + hour);
      await a.store.add("session-two", Date.now() + hour);
      expect(await b.store.has("session-one")).toBe(true);
      await b.store.remove("session-one");
      expect(await a.store.has("session-one")).toBe(false);
      expect(await a.store.has("session-two")).toBe(true);
      expect(await a.store.has("never-added")).toBe(false);
    } finally {
      await a.sql.end();
      await b.sql.end();
    }
  });

  test("only a hash of the session id is stored", async () => {
    const { sql, store } = open();
    try {
      await store.add("the-secret-session-id", Date.now() + hour);
      const rows = await sql<{ id_hash: string }[]>`select id_hash from eft_dashboard_sessions`;
      expect(rows.map((r) => r.id_hash)).toContainEqual(
        new Bun.CryptoHasher("sha256").update("the-secret-session-id").digest("hex"),
      );
      expect(rows.some((r) => r.id_hash.includes("secret"))).toBe(false);
    } finally {
      await sql.end();
    }
  });

  test("removeAll ends every session and counts the unexpired ones; expired rows go as new sessions start", async () => {
    const { sql, store } = open();
    try {
      await store.removeAll();
      await store.add("live-1", Date.now() + hour);
      await store.add("live-2", Date.now() + hour);
      await sql`insert into eft_dashboard_sessions (id_hash, expires_at) values ('old', now() - interval '2 hours')`;
      expect(await store.removeAll()).toBe(2);
      expect(await store.has("live-1")).toBe(false);
      await sql`insert into eft_dashboard_sessions (id_hash, expires_at) values ('old', now() - interval '2 hours')`;
      await store.add("new", Date.now() + hour);
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from eft_dashboard_sessions`;
      expect(row?.n).toBe(1);
    } finally {
      await sql.end();
    }
  });

  test("PostgreSQL unreachable: SESSION_STORE_UNAVAILABLE, logged, without the driver's words in the message", async () => {
    const sql = postgres(`postgres://nobody@127.0.0.1:${closedPort()}/none`, { max: 1, connect_timeout: 2 });
    const logger = createMemoryLogger();
    const store = createPostgresSessionStore(sql, { logger, timeoutMs: 5000 });
    try {
      const err = await store.has("x").catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "SESSION_STORE_UNAVAILABLE", status: 503 });
      expect((err as Error).message).not.toContain("127.0.0.1");
      expect(logger.lines.map((l) => l.msg)).toEqual(["session store unavailable"]);
    } finally {
      await sql.end({ timeout: 0 });
    }
  });

  test("a database not migrated yet: SESSION_STORE_UNAVAILABLE naming the fix", async () => {
    const db = await createTestPostgresDatabase();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const err = await createPostgresSessionStore(sql)
        .has("x")
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "SESSION_STORE_UNAVAILABLE" });
      expect((err as Error).message).toContain("run `eft-footprint migrate`");
    } finally {
      await sql.end();
      await db.drop();
    }
  });
});

describe("createPostgresAccountFailures", () => {
  const pg = useTestStore("postgres");

  test("failures recorded by two processes count together; the 20th closes the account until it ages out", async () => {
    const a = postgres(pg.url, { max: 1, onnotice: () => {} });
    const b = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const [first, second] = [createPostgresAccountFailures(a), createPostgresAccountFailures(b)];
      for (let i = 0; i < ACCOUNT_FAILURE_LIMIT.max - 1; i++) await (i % 2 ? first : second).recordFailure("user");
      expect(await first.retryAfterMs("user")).toBe(0);
      await second.recordFailure("user");
      for (const process of [first, second]) {
        const wait = await process.retryAfterMs("user");
        expect(wait).toBeGreaterThan(ACCOUNT_FAILURE_LIMIT.windowMs - 60_000);
        expect(wait).toBeLessThanOrEqual(ACCOUNT_FAILURE_LIMIT.windowMs);
      }
      expect(await first.retryAfterMs("someone-else")).toBe(0);
      // The oldest failures age out of the window: then the account is open again.
      await a`update eft_dashboard_login_failures set failed_at = failed_at - interval '9 minutes 59 seconds'`;
      await a`update eft_dashboard_login_failures set failed_at = now() - interval '11 minutes'
        where ctid = (select ctid from eft_dashboard_login_failures order by failed_at limit 1)`;
      expect(await first.retryAfterMs("user")).toBe(0);
      // A new failure deletes the rows older than the window.
      await first.recordFailure("user");
      const [row] = await a<{ n: number }[]>`select count(*)::int as n from eft_dashboard_login_failures`;
      expect(row?.n).toBe(ACCOUNT_FAILURE_LIMIT.max);
    } finally {
      await a.end();
      await b.end();
    }
  });
});
