import { describe, expect, test } from "bun:test";
import { postgresMigrations } from "../../sql/index.ts";
import { sampleRows } from "../../test/fixtures/store-rows.ts";
import { createTestPostgresDatabase } from "../../test/support/stack.ts";
import { describeStoreContract } from "../../test/support/store-contract.ts";
import { openTestStore, useTestStore } from "../../test/support/test-store.ts";
import { createPostgresStore } from "./postgres.ts";
import { NO_RICH_FIELDS } from "./store.ts";

const ALL_VERSIONS = postgresMigrations.map((m) => m.version);

describeStoreContract("PostgreSQL store", {
  shipped: postgresMigrations,
  fresh: () => openTestStore("postgres"),
  unreachable: () => createPostgresStore({ url: "postgres://eft@127.0.0.1:9/eft", connectTimeoutSeconds: 2 }),
  async readRows(store) {
    const rows = await store.stats.sql`
      select event_id::text as event_id, request, link, route, status, duration_ms,
             query, host, user_agent, referrer, ip_hash, is_bot, bytes_out::text as bytes_out,
             (extract(epoch from footprint_time) * 1000000)::bigint::text as micros,
             to_char(footprint_time at time zone 'Asia/Seoul', 'YYYY-MM-DD"T"HH24:MI:SS.US') as kst,
             execute_time > now() - interval '1 minute' as fresh,
             id is not null as has_id
      from user_footprint order by event_id`;
    return rows.map((r) => ({ ...r }));
  },
});

describe("PostgreSQL store (real server)", () => {
  const pg = useTestStore("postgres");

  test("the seed's table keeps its columns, and every column has a comment", async () => {
    const cols = await pg.store.stats.sql<{ column_name: string; comment: string | null }[]>`
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

  test("redelivered rows are stored once, even without the batch's identity (event_id is unique)", async () => {
    await pg.store.insertFootprints(sampleRows());
    const before = await pg.store.countFootprints();
    await pg.store.insertFootprints([...sampleRows(), ...sampleRows()]);
    expect(await pg.store.countFootprints()).toBe(before);
  });

  test("text that array syntax would read otherwise is stored as it is", async () => {
    // Columns travel as array literals (insertFootprints): quoting must keep every element whole.
    const texts = ["NULL", "", "{a,b}", 'say "hi", \\ \\" ,}{', " padded ", "null"];
    const rows = texts.map((text, i) => ({
      ...NO_RICH_FIELDS,
      eventId: `0190b2f8-0000-7000-8000-0000000001${String(i).padStart(2, "0")}`,
      method: "GET",
      link: `/odd/${i}`,
      footprintTime: 1_700_000_000_000_000 + i,
      query: text,
      referrer: i % 2 ? text : null,
    }));
    await pg.store.insertFootprints(rows);
    const stored = await pg.store.stats.sql<{ query: string | null; referrer: string | null; route: string | null }[]>`
      select query, referrer, route from user_footprint where link like '/odd/%' order by event_id`;
    expect([...stored]).toEqual(texts.map((text, i) => ({ query: text, referrer: i % 2 ? text : null, route: null })));
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
