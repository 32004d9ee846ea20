/**
 * The store error classifiers over real error objects: each error is provoked on the stack's real
 * PostgreSQL or ClickHouse (or a real client against a closed port, a silent or a 503 server), then
 * classified. A content error must be one the same rows get again; everything else is an outage.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { closedPort } from "../../test/support/closed-port.ts";
import {
  addClickhouseRejection,
  CLICKHOUSE_REJECTED_PREFIX,
  linkPostgresRejects,
  monthTime,
} from "../../test/support/store-rejections.ts";
import { openTestStore, useTestStore } from "../../test/support/test-store.ts";
import { parseTimestamp } from "../time.ts";
import { createClickhouseStore } from "./clickhouse.ts";
import { createPostgresStore } from "./postgres.ts";
import { type FootprintRow, NO_RICH_FIELDS, type Store } from "./store.ts";
import { classifyClickhouseError, classifyPostgresError, type StoreError } from "./store-errors.ts";

const row = (link: string, time = "2025-05-19T13:45:30.123456+09:00"): FootprintRow => ({
  ...NO_RICH_FIELDS,
  eventId: randomUUID(),
  method: "GET",
  link,
  footprintTime: parseTimestamp(time) as number,
});

/** The error `work` fails with (the test fails when it does not). */
async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

const classOf = (e: StoreError) => ({ class: e.class, code: e.code });

const servers: { stop(force: boolean): void }[] = [];
afterAll(() => {
  for (const s of servers) s.stop(true);
});

describe("PostgreSQL errors", () => {
  const pg = useTestStore("postgres");

  test("a valid link of 8 KiB that does not compress: 54000 (rollup key index row too big), content", async () => {
    const e = classifyPostgresError(await failure(() => pg.store.insertFootprints([row(linkPostgresRejects("a"))])));
    expect(classOf(e)).toEqual({ class: "content", code: "54000" });
    expect(e.message).toMatch(/index row/);
  });

  test("NUL in text (a row that bypassed the validator): class 22, content", async () => {
    const e = classifyPostgresError(await failure(() => pg.store.insertFootprints([row("/a\u0000b")])));
    expect(e.class).toBe("content");
    expect(e.code).toMatch(/^22/);
  });

  test("a CHECK constraint: 23514, content", async () => {
    await pg.store.stats.sql`alter table user_footprint add constraint no_forbidden check (link <> '/forbidden')`;
    try {
      const e = classifyPostgresError(await failure(() => pg.store.insertFootprints([row("/forbidden")])));
      expect(classOf(e)).toEqual({ class: "content", code: "23514" });
    } finally {
      await pg.store.stats.sql`alter table user_footprint drop constraint no_forbidden`;
    }
  });

  test("a statement cancelled by its timeout: 57014, outage", async () => {
    const err = await failure(() =>
      pg.store.stats.sql.begin((tx) => [tx`set local statement_timeout = 10`, tx`select pg_sleep(1)`]),
    );
    expect(classOf(classifyPostgresError(err))).toEqual({ class: "outage", code: "57014" });
  });

  test("a database not migrated (no table): 42P01, outage", async () => {
    const fresh = await openTestStore("postgres");
    try {
      const e = classifyPostgresError(await failure(() => fresh.store.insertFootprints([row("/x")])));
      expect(classOf(e)).toEqual({ class: "outage", code: "42P01" });
    } finally {
      await fresh.store.close();
      await fresh.drop();
    }
  });

  test("connection refused: outage", async () => {
    const store = createPostgresStore({ url: `postgres://x:y@127.0.0.1:${closedPort()}/db`, connectTimeoutSeconds: 2 });
    try {
      const e = classifyPostgresError(await failure(() => store.insertFootprints([row("/x")])));
      expect(classOf(e)).toEqual({ class: "outage", code: "ECONNREFUSED" });
    } finally {
      await store.close();
    }
  });
});

describe("ClickHouse errors", () => {
  const ch = useTestStore("clickhouse");
  const insertRaw = (text: string) =>
    ch.store.stats.client.exec({ query: `INSERT INTO user_footprint FORMAT JSONEachRow ${text}` });

  test("a value the column cannot parse: 376 CANNOT_PARSE_UUID, 41 CANNOT_PARSE_DATETIME, 27; content", async () => {
    const valid = { event_id: randomUUID(), request: "GET", link: "/x", footprint_time: "2025-01-01 00:00:00" };
    const cases = [
      { ...valid, event_id: "nope" },
      { ...valid, footprint_time: "garbage" },
      { ...valid, status: "abc" },
    ];
    const codes = [];
    for (const c of cases)
      codes.push(classOf(classifyClickhouseError(await failure(() => insertRaw(JSON.stringify(c))))));
    expect(codes).toEqual([
      { class: "content", code: "376 CANNOT_PARSE_UUID" },
      { class: "content", code: "41 CANNOT_PARSE_DATETIME" },
      { class: "content", code: "27 CANNOT_PARSE_INPUT_ASSERTION_FAILED" },
    ]);
  });

  test("a CHECK constraint: 469 VIOLATED_CONSTRAINT, content", async () => {
    await addClickhouseRejection(ch.store.stats.client);
    const rows = [row("/fine"), row(`${CLICKHOUSE_REJECTED_PREFIX}1`), row("/fine/too")];
    const e = classifyClickhouseError(await failure(() => ch.store.insertFootprints(rows)));
    expect(classOf(e)).toEqual({ class: "content", code: "469 VIOLATED_CONSTRAINT" });
    // The row ClickHouse names ("is violated at row 2"): where the writer splits first.
    expect(e.row).toBe(2);
  });

  test("a batch over more than 100 months: 252 'Too many partitions for single INSERT block', content", async () => {
    const rows = Array.from({ length: 101 }, (_, i) => row(`/month/${i}`, monthTime(i)));
    const e = classifyClickhouseError(await failure(() => ch.store.insertFootprints(rows)));
    expect(classOf(e)).toEqual({ class: "content", code: "252 TOO_MANY_PARTS" });
    // Split, each part goes in.
    await ch.store.insertFootprints(rows.slice(0, 50));
    await ch.store.insertFootprints(rows.slice(50));
  });

  test("'Too many parts … merges are processing significantly slower than inserts', the same 252: outage", async () => {
    const opened = await openTestStore("clickhouse");
    try {
      await opened.store.migrate();
      await opened.store.stats.client.command({
        query: "ALTER TABLE user_footprint MODIFY SETTING parts_to_throw_insert = 1, parts_to_delay_insert = 0",
      });
      await opened.store.insertFootprints([row("/one")]);
      const e = classifyClickhouseError(await failure(() => opened.store.insertFootprints([row("/two")])));
      expect(classOf(e)).toEqual({ class: "outage", code: "252 TOO_MANY_PARTS" });
      expect(e.message).toMatch(/Merges are processing significantly slower/);
    } finally {
      await opened.store.close();
      await opened.drop();
    }
  });

  test("a database not migrated (no table): outage", async () => {
    const opened = await openTestStore("clickhouse");
    try {
      await opened.store.stats.client.command({ query: "SELECT 1" });
      const e = classifyClickhouseError(await failure(() => opened.store.insertFootprints([row("/x")])));
      expect(e.class).toBe("outage");
      expect(e.code).toMatch(/UNKNOWN_(TABLE|DATABASE)/);
    } finally {
      await opened.store.close();
      await opened.drop();
    }
  });

  const storeAt = (url: string, requestTimeoutMs = 5000): Store =>
    createClickhouseStore({ url, username: "default", password: "", database: "x", requestTimeoutMs });

  test("connection refused, a timeout, a 503 without a ClickHouse code: outage", async () => {
    const silent = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    const unavailable = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => new Response("Service Unavailable", { status: 503 }),
    });
    servers.push(silent, unavailable);
    const stores = [
      storeAt(`http://127.0.0.1:${closedPort()}`),
      storeAt(`http://127.0.0.1:${silent.port}`, 200),
      storeAt(`http://127.0.0.1:${unavailable.port}`),
    ];
    const verdicts = [];
    for (const s of stores) {
      const e = classifyClickhouseError(await failure(() => s.insertFootprints([row("/x")])));
      verdicts.push({ class: e.class, message: e.message.slice(0, 40) });
      await s.close();
    }
    expect(verdicts.map((v) => v.class)).toEqual(["outage", "outage", "outage"]);
    expect(verdicts[1]?.message).toBe("Timeout error.");
    expect(verdicts[2]?.message).toBe("Service Unavailable");
  });
});
