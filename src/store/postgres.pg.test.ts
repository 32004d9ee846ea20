import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { postgresMigrations } from "../../sql/index.ts";
import { sampleRows } from "../../test/fixtures/store-rows.ts";
import { createTestPostgresDatabase } from "../../test/support/stack.ts";
import { createPostgresStore } from "./postgres.ts";

const ALL_VERSIONS = postgresMigrations.map((m) => m.version);

describe("PostgreSQL store (real server)", () => {
  let db: Awaited<ReturnType<typeof createTestPostgresDatabase>>;
  let store: ReturnType<typeof createPostgresStore>;

  beforeAll(async () => {
    db = await createTestPostgresDatabase();
    store = createPostgresStore({ url: db.url });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  test("migrations apply once, then are a no-op", async () => {
    expect(await store.migrate()).toEqual(ALL_VERSIONS);
    expect(await store.migrate()).toEqual([]);
    const versions = await store.stats.sql`select version from eft_schema_migrations order by version`;
    expect(versions.map((r) => r.version)).toEqual(ALL_VERSIONS);
  });

  test("the seed's table keeps its columns, and every column has a comment", async () => {
    const cols = await store.stats.sql<{ column_name: string; comment: string | null }[]>`
      select column_name, col_description('user_footprint'::regclass, ordinal_position) as comment
      from information_schema.columns where table_name = 'user_footprint' order by ordinal_position`;
    expect(cols.map((c) => c.column_name)).toEqual([
      "id",
      "link",
      "request",
      "footprint_time",
      "execute_time",
      "event_id",
      "route",
      "status",
      "duration_ms",
      "query",
      "host",
      "user_agent",
      "referrer",
      "ip_hash",
      "is_bot",
      "bytes_out",
    ]);
    expect(cols.filter((c) => !c.comment)).toEqual([]);
  });

  test("a batch lands with the right values and the exact instants", async () => {
    const rows = sampleRows();
    await store.insertFootprints(rows);
    const stored = await store.stats.sql`
      select event_id::text as event_id, request, link, route, status, duration_ms,
             query, host, user_agent, referrer, ip_hash, is_bot, bytes_out::text as bytes_out,
             (extract(epoch from footprint_time) * 1000000)::bigint::text as micros,
             to_char(footprint_time at time zone 'Asia/Seoul', 'YYYY-MM-DD"T"HH24:MI:SS.US') as kst,
             execute_time > now() - interval '1 minute' as fresh
      from user_footprint order by event_id`;
    expect(stored.map((r) => ({ ...r }))).toEqual(
      rows.map((r) => ({
        event_id: r.eventId,
        request: r.method,
        link: r.link,
        route: r.route,
        status: r.status,
        duration_ms: r.durationMs,
        query: r.query,
        host: r.host,
        user_agent: r.userAgent,
        referrer: r.referrer,
        ip_hash: r.ipHash,
        is_bot: r.isBot,
        bytes_out: r.bytesOut === null ? null : String(r.bytesOut),
        micros: String(r.footprintTime),
        kst: expect.any(String),
        fresh: true,
      })),
    );
    expect(stored[0]?.kst).toBe("2025-05-19T13:45:30.123456");
    expect(stored[1]?.kst).toBe("2025-05-19T00:00:00.000001");
  });

  test("redelivered rows are stored once", async () => {
    const before = await store.countFootprints();
    await store.insertFootprints([...sampleRows(), ...sampleRows()]);
    expect(await store.countFootprints()).toBe(before);
  });

  test("migrations run concurrently by several processes converge", async () => {
    const fresh = await createTestPostgresDatabase();
    const stores = Array.from({ length: 3 }, () => createPostgresStore({ url: fresh.url }));
    try {
      const applied = await Promise.all(stores.map((s) => s.migrate()));
      expect(applied.flat()).toEqual(ALL_VERSIONS);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    }
  });
});

test("pendingMigrations: all before migrate, none after", async () => {
  const fresh = await createTestPostgresDatabase();
  const store = createPostgresStore({ url: fresh.url });
  try {
    expect(await store.pendingMigrations()).toEqual(postgresMigrations.map((m) => m.version));
    await store.migrate();
    expect(await store.pendingMigrations()).toEqual([]);
  } finally {
    await store.close();
    await fresh.drop();
  }
});
