/**
 * Rows a store refuses for their content (issue 16, item 2), on the stack's real PostgreSQL and
 * ClickHouse, through the consumer's parse, partition batches and batch writer (no broker): the
 * refused row is dead-lettered by that store's sink with the store's code and message, the rest
 * of the batch is stored in both, the row itself in the other store; an outage never dead-letters;
 * a crash in the middle of isolating the row stores nothing twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes, randomUUID } from "node:crypto";
import { parseFootprintMessage } from "../src/footprint/parse-message.ts";
import { createPostgresStore } from "../src/store/postgres.ts";
import type { ClickhouseStore, PostgresStore, Store } from "../src/store/store.ts";
import { closedPort } from "../test/support/closed-port.ts";
import { createSinkWriter } from "../test/support/sink-writer.ts";
import {
  addClickhouseRejection,
  CLICKHOUSE_REJECTED_PREFIX,
  linkPostgresRejects,
  monthTime,
} from "../test/support/store-rejections.ts";
import { openTestStore, type TestStore } from "../test/support/test-store.ts";
import type { DeadLetter } from "./dead-letter.ts";
import { createGenerations } from "./generation.ts";

const TOPIC = `refused-${randomBytes(4).toString("hex")}`;

let pg: TestStore<PostgresStore>;
let ch: TestStore<ClickhouseStore>;

beforeAll(async () => {
  [pg, ch] = await Promise.all([openTestStore("postgres"), openTestStore("clickhouse")]);
  await Promise.all([pg.store.migrate(), ch.store.migrate()]);
  await addClickhouseRejection(ch.store.stats.client);
}, 60_000);

afterAll(async () => {
  await Promise.all([pg?.store.close(), ch?.store.close()]);
  await Promise.all([pg?.drop(), ch?.drop()]);
});

/** A footprint message as a producer sends it. */
const message = (link: string, time = "2025-05-19T13:45:30.123456+09:00") =>
  Buffer.from(JSON.stringify({ method: "GET", link, footprint_time: time, event_id: randomUUID() }));

/** Offsets run on across tests, so every batch's token is new to ClickHouse. */
let nextOffset = 0;
const take = (n: number) => {
  const start = nextOffset;
  nextOffset += n;
  return start;
};

type Run = { letters: DeadLetter[]; committed: bigint | undefined; inserts: string[] };

/**
 * One sink's writer over `values` from offset `start`, as one batch (as `consume` runs it without
 * Kafka). `insert` wraps the store's insert (to fail or crash on cue); `stopAfterMs` ends the run.
 */
async function writeBatch(
  store: Pick<Store, "name" | "insertFootprints">,
  values: readonly Buffer[],
  start: number,
  insert?: (inserts: string[], stop: () => void, next: () => Promise<void>) => Promise<void>,
): Promise<Run> {
  const generations = createGenerations();
  const inserts: string[] = [];
  const sink = createSinkWriter({
    store: {
      name: store.name,
      async insertFootprints(rows, batch) {
        const next = async () => {
          await store.insertFootprints(rows, batch);
          inserts.push(batch?.token ?? "");
        };
        await (insert ? insert(inserts, () => generations.stop(0), next) : next());
      },
    },
    topic: TOPIC,
    start,
    batchSize: 1000,
    generations,
    backoffMs: 20,
  });
  const { writer, state } = sink;
  for (const [i, value] of values.entries()) {
    const offset = String(start + i);
    const parsed = parseFootprintMessage(value, { topic: TOPIC, partition: 0, offset });
    if (!parsed.ok) throw new Error(`the validator refuses test message ${i}: ${parsed.message}`);
    state.batcher.add(BigInt(offset), { row: parsed.row }, Date.now(), { offset, value, headers: {}, timestamp: "7" });
  }
  writer.sealAndWrite(state);
  await writer.drain();
  if (!generations.stopping) {
    generations.stop(10_000);
    await writer.finish(() => [state]);
  }
  return { letters: sink.letters, committed: sink.committed, inserts };
}

const linksIn = async (store: Store, prefix: string): Promise<string[]> => {
  if (store.name === "postgres") {
    const rows = await pg.store.stats.sql<{ link: string }[]>`
      select link from user_footprint where starts_with(link, ${prefix}) order by link`;
    return rows.map((r) => r.link);
  }
  const rs = await ch.store.stats.client.query({
    query: "SELECT link FROM user_footprint WHERE startsWith(link, {p:String}) ORDER BY link",
    query_params: { p: prefix },
    format: "JSONEachRow",
  });
  return (await rs.json<{ link: string }>()).map((r) => r.link);
};

describe("a row one store refuses for its content", () => {
  test("PostgreSQL refuses a valid 8 KiB link: its sink dead-letters it with SQLSTATE and message; ClickHouse stores it", async () => {
    const tag = randomBytes(4).toString("hex");
    const long = linkPostgresRejects(tag);
    const values = [0, 1, 2, 3, 4, 5].map((i) => message(i === 4 ? long : `/pg-case/${tag}/${i}`));
    const start = take(values.length);
    const pgRun = await writeBatch(pg.store, values, start);
    const chRun = await writeBatch(ch.store, values, start);

    expect(pgRun.letters.map((l) => ({ ...l, message: l.message.slice(0, 10) }))).toEqual([
      {
        origin: { topic: TOPIC, partition: 0, offset: String(start + 4) },
        rejectedBy: "postgres",
        storeCode: "54000",
        code: "MESSAGE_REJECTED_BY_STORE",
        message: "index row ",
        value: values[4] as Buffer,
        headers: {},
        timestamp: "7",
      },
    ]);
    expect(pgRun.letters[0]?.message).toMatch(/^index row (requires|size) \d+/);
    expect(chRun.letters).toEqual([]);
    const end = BigInt(start + values.length);
    expect([pgRun.committed, chRun.committed]).toEqual([end, end]);
    const good = [0, 1, 2, 3, 5].map((i) => `/pg-case/${tag}/${i}`);
    expect(await linksIn(pg.store, `/pg-case/${tag}/`)).toEqual(good);
    expect(await linksIn(ch.store, `/pg-case/${tag}/`)).toEqual(good);
    expect(await linksIn(ch.store, `/pg-rejects/${tag}/`)).toEqual([long]);
    expect(await linksIn(pg.store, `/pg-rejects/${tag}/`)).toEqual([]);
  });

  test("ClickHouse refuses a row (a CHECK constraint): its sink dead-letters it with code and message; PostgreSQL stores it", async () => {
    const tag = randomBytes(4).toString("hex");
    const refused = `${CLICKHOUSE_REJECTED_PREFIX}${tag}`;
    const values = [0, 1, 2, 3, 4].map((i) => message(i === 1 ? refused : `/ch-case/${tag}/${i}`));
    const start = take(values.length);
    const pgRun = await writeBatch(pg.store, values, start);
    const chRun = await writeBatch(ch.store, values, start);

    expect(chRun.letters).toHaveLength(1);
    expect(chRun.letters[0]).toMatchObject({
      origin: { topic: TOPIC, partition: 0, offset: String(start + 1) },
      rejectedBy: "clickhouse",
      storeCode: "469 VIOLATED_CONSTRAINT",
      code: "MESSAGE_REJECTED_BY_STORE",
      value: values[1],
    });
    expect(chRun.letters[0]?.message).toMatch(/Constraint `eft_test_rejects`/);
    expect(pgRun.letters).toEqual([]);
    const good = [0, 2, 3, 4].map((i) => `/ch-case/${tag}/${i}`);
    expect(await linksIn(ch.store, `/ch-case/${tag}/`)).toEqual(good);
    expect(await linksIn(pg.store, `/ch-case/${tag}/`)).toEqual(good);
    expect(await linksIn(pg.store, refused)).toEqual([refused]);
    expect(await linksIn(ch.store, refused)).toEqual([]);
    expect(chRun.committed).toBe(BigInt(start + values.length));
  });

  test("a batch over 101 months ClickHouse refuses whole: split, every row stored, nothing dead-lettered", async () => {
    const tag = randomBytes(4).toString("hex");
    const values = Array.from({ length: 101 }, (_, i) =>
      message(`/months/${tag}/${String(i).padStart(3, "0")}`, monthTime(i)),
    );
    const start = take(values.length);
    const run = await writeBatch(ch.store, values, start);
    expect(run.letters).toEqual([]);
    expect(run.inserts.length).toBeGreaterThanOrEqual(2);
    expect(await linksIn(ch.store, `/months/${tag}/`)).toHaveLength(101);
  });
});

describe("outages are retried, never dead-lettered", () => {
  test("PostgreSQL unreachable: the batch is retried until shutdown gives up, no dead letter, no commit", async () => {
    const down = createPostgresStore({ url: `postgres://x:y@127.0.0.1:${closedPort()}/db`, connectTimeoutSeconds: 1 });
    try {
      const start = take(3);
      let attempts = 0;
      const run = await writeBatch(
        down,
        [message("/a"), message("/b"), message("/c")],
        start,
        async (_run, stop, next) => {
          attempts++;
          if (attempts === 4) stop();
          await next();
        },
      );
      expect(attempts).toBe(4);
      expect(run.letters).toEqual([]);
      expect(run.committed).toBeUndefined();
    } finally {
      await down.close();
    }
  });
});

describe("a crash in the middle of isolating a refused row stores nothing twice", () => {
  for (const kind of ["clickhouse", "postgres"] as const) {
    test(`${kind}: killed after two parts were stored, the batch redelivered whole`, async () => {
      const store = kind === "postgres" ? pg.store : ch.store;
      const tag = randomBytes(4).toString("hex");
      const bad = kind === "postgres" ? linkPostgresRejects(tag) : `${CLICKHOUSE_REJECTED_PREFIX}${tag}/x`;
      const values = Array.from({ length: 8 }, (_, i) => message(i === 6 ? bad : `/crash/${tag}/${i}`));
      const start = take(values.length);
      const rollupsBefore = await rollupTotal(kind);
      // The first consumer dies (its writer abandons the batch uncommitted) once two parts are in.
      const first = await writeBatch(store, values, start, async (inserts, stop, next) => {
        await next();
        if (inserts.length === 2) {
          stop();
          throw new Error("killed");
        }
      });
      expect(first.inserts).toHaveLength(2);
      expect(first.committed).toBeUndefined();
      // Redelivered: the same messages, the same offsets, so the same tokens part by part.
      const second = await writeBatch(store, values, start);
      expect(second.letters.map((l) => l.origin.offset)).toEqual([String(start + 6)]);
      expect(second.committed).toBe(BigInt(start + values.length));
      const stored = await linksIn(store, `/crash/${tag}/`);
      expect(stored).toEqual([0, 1, 2, 3, 4, 5, 7].map((i) => `/crash/${tag}/${i}`));
      // The rollups count each row once too.
      expect((await rollupTotal(kind)) - rollupsBefore).toBe(7);
    });
  }
});

/** Footprints counted by the per-minute rollup of `kind` (sum of n). */
async function rollupTotal(kind: "postgres" | "clickhouse"): Promise<number> {
  if (kind === "postgres") {
    const [r] = await pg.store.stats.sql<
      { n: string }[]
    >`select coalesce(sum(n), 0)::text as n from user_footprint_minute`;
    return Number(r?.n ?? 0);
  }
  const rs = await ch.store.stats.client.query({
    query: "SELECT toUInt64(sum(n)) AS n FROM user_footprint_minute",
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string }>())[0]?.n ?? 0);
}
