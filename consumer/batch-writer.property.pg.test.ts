/**
 * Delivery contract, property-based and broker-free: whatever bytes sit in the topic (valid
 * footprints, fields of wrong types or lengths, NUL, invalid UTF-8, any JSON, random bytes, empty,
 * huge), every message ends stored in both stores or dead-lettered with a named code, exactly one
 * of the two; each sink commits the partition's end; the counts add up. Messages go through the
 * consumer's own parse (parseFootprintMessage), partition batches and batch writer, one writer per
 * sink as in `consume`, into the stack's real PostgreSQL AND ClickHouse (named .pg.test.ts after
 * the first). A row a store refuses for its content is dead-lettered by that store's sink and
 * stored by the other; a store error the writer would retry forever (an outage) fails the property
 * at once, naming the rows, instead of hanging. Few, larger cases:
 * a ClickHouse insert on the stack's chdb endpoint takes ~0.3 s.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { ERROR_CODES } from "../src/errors.ts";
import { parseFootprintMessage } from "../src/footprint/parse-message.ts";
import type { Store } from "../src/store/store.ts";
import { classifyStoreError } from "../src/store/store-errors.ts";
import { kafkaMessage, type MessageCase, withUniqueEventId } from "../test/support/arbitraries.ts";
import { checkProperty, createTally, propertyTimeout } from "../test/support/property.ts";
import { writePropertyReport } from "../test/support/property-report.ts";
import { createSinkWriter } from "../test/support/sink-writer.ts";
import { linkPostgresRejects } from "../test/support/store-rejections.ts";
import { openTestStore, type TestStore } from "../test/support/test-store.ts";
import type { DeadLetter } from "./dead-letter.ts";
import { createGenerations } from "./generation.ts";

const FILE = "consumer/batch-writer.property.pg.test.ts";
const TOPIC = `prop-${randomBytes(4).toString("hex")}`;

let pg: TestStore<Store>;
let ch: TestStore<Store>;

beforeAll(async () => {
  [pg, ch] = await Promise.all([openTestStore("postgres"), openTestStore("clickhouse")]);
  await Promise.all([pg.store.migrate(), ch.store.migrate()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([pg?.store.close(), ch?.store.close()]);
  await Promise.all([pg?.drop(), ch?.drop()]);
  writePropertyReport(FILE);
});

function refusedByPostgres(n: number): MessageCase {
  const link = linkPostgresRejects(String(n));
  return {
    label: "valid",
    value: Buffer.from(JSON.stringify({ method: "GET", link, footprint_time: "2025-05-19T13:45:30Z" })),
  };
}

/** Offsets run on across cases, so every batch's token is new to ClickHouse. */
let nextOffset = 0;
type SinkRun = { stored: number; committed: bigint | undefined; refused: string | undefined };

/**
 * One sink's consumer over the messages, as `consume` runs it without Kafka: parse, cut into
 * batches of `batchSize`, write, commit; what it committed last, and the first refusal of a store.
 */
async function runSink(
  store: Store,
  messages: readonly MessageCase[],
  start: number,
  batchSize: number,
  deadLetters: DeadLetter[],
): Promise<SinkRun> {
  const generations = createGenerations();
  const run: SinkRun = { stored: 0, committed: undefined, refused: undefined };
  const sink = createSinkWriter({
    store: {
      name: store.name,
      async insertFootprints(rows, batch) {
        try {
          await store.insertFootprints(rows, batch);
          run.stored += rows.length;
        } catch (err) {
          // A content error is isolated and dead-lettered by the writer; anything else would be
          // retried forever (a store outage): give up and name the rows instead.
          if (classifyStoreError(store.name, err).class === "content") throw err;
          run.refused ??= `${store.name} refused ${JSON.stringify(rows).slice(0, 800)}: ${(err as Error).message.slice(0, 300)}`;
          generations.stop(0);
          throw err;
        }
      },
    },
    topic: TOPIC,
    start,
    batchSize,
    generations,
    backoffMs: 1,
  });
  const { writer, state } = sink;
  const done = () => {
    deadLetters.push(...sink.letters);
    run.committed = sink.committed;
    return run;
  };
  for (const [i, m] of messages.entries()) {
    const offset = BigInt(start + i);
    if (!state.batcher.accepts(offset)) {
      writer.sealAndWrite(state);
      await writer.drain();
      if (run.refused) return done();
    }
    const origin = { topic: TOPIC, partition: 0, offset: String(offset) };
    const parsed = parseFootprintMessage(m.value, origin);
    const entry = parsed.ok
      ? { row: parsed.row }
      : {
          deadLetter: {
            origin,
            code: parsed.code,
            message: parsed.message,
            value: m.value,
            headers: {},
            timestamp: "0",
          } satisfies DeadLetter,
        };
    state.batcher.add(offset, entry, Date.now(), {
      offset: String(offset),
      value: m.value,
      headers: {},
      timestamp: "0",
    });
  }
  generations.stop(10_000);
  await writer.finish(() => [state]);
  return done();
}

/** A sink that neither stores nor fails its batches in 30 s fails the case, never hangs the run. */
async function withinDeadline<T>(sink: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the ${sink} sink did not finish its batches within 30 s`)), 30_000);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe("the consumer over random and corrupted messages, into both real stores", () => {
  test(
    "every message ends stored in both stores or dead-lettered with a named code; the counts add up",
    async () => {
      const tally = createTally();
      const property = fc.asyncProperty(
        fc.array(
          fc.oneof(
            { weight: 19, arbitrary: kafkaMessage() },
            // A valid footprint PostgreSQL refuses (54000, a long link): dead-lettered by its sink only.
            { weight: 1, arbitrary: fc.nat().map((n) => refusedByPostgres(n)) },
          ),
          { minLength: 5, maxLength: 40, size: "medium" },
        ),
        fc.integer({ min: 8, max: 40 }),
        async (generated, batchSize) => {
          const messages = generated.map(withUniqueEventId);
          const start = nextOffset;
          nextOffset += messages.length;
          const end = BigInt(start + messages.length);
          const before = { pg: await pg.store.countFootprints(), ch: await ch.store.countFootprints() };
          const pgLetters: DeadLetter[] = [];
          const chLetters: DeadLetter[] = [];
          const pgRun = await withinDeadline("postgres", runSink(pg.store, messages, start, batchSize, pgLetters));
          const chRun = await withinDeadline("clickhouse", runSink(ch.store, messages, start, batchSize, chLetters));
          const refused = pgRun.refused ?? chRun.refused;
          if (refused) throw new Error(`a store error would block the partition: ${refused}`);

          const refusedBy = (sink: string, letters: DeadLetter[]) => {
            const mine = letters.filter((l) => l.rejectedBy !== undefined);
            for (const l of mine) {
              if (l.rejectedBy !== sink || l.code !== "MESSAGE_REJECTED_BY_STORE") {
                throw new Error(`the ${sink} sink wrote ${l.code} for ${l.rejectedBy}`);
              }
              tally.add(`refused by ${sink} ${l.storeCode}`);
            }
            return new Set(mine.map((l) => Number(l.origin.offset) - start));
          };
          const pgRefused = refusedBy("postgres", pgLetters);
          const chRefused = refusedBy("clickhouse", chLetters);
          const letters = pgLetters.filter((l) => l.rejectedBy === undefined);
          const parsedOut = (ls: DeadLetter[]) =>
            ls
              .filter((l) => l.rejectedBy === undefined)
              .map((l) => l.origin.offset)
              .join(",");
          if (parsedOut(chLetters) !== parsedOut(pgLetters)) {
            throw new Error("the sinks dead-lettered different messages for parse errors");
          }
          const dead = new Set(letters.map((l) => Number(l.origin.offset) - start));
          for (const l of letters) {
            if (!(l.code in ERROR_CODES) || !l.code.startsWith("MESSAGE_"))
              throw new Error(`dead letter code ${l.code}`);
            tally.add(`dead-lettered ${l.code}`);
          }
          const validDead = messages.findIndex((m, i) => m.label === "valid" && dead.has(i));
          if (validDead >= 0) {
            throw new Error(
              `a valid footprint was dead-lettered: ${messages[validDead]?.value?.toString().slice(0, 500)}`,
            );
          }
          const stored = messages.length - dead.size;
          const after = { pg: await pg.store.countFootprints(), ch: await ch.store.countFootprints() };
          const counts = { pg: after.pg - before.pg, ch: after.ch - before.ch, stored, dead: dead.size };
          if (letters.length !== dead.size) throw new Error(`a message dead-lettered twice: ${JSON.stringify(counts)}`);
          const inPg = stored - pgRefused.size;
          const inCh = stored - chRefused.size;
          if (counts.pg !== inPg || counts.ch !== inCh || pgRun.stored !== inPg || chRun.stored !== inCh) {
            throw new Error(`counts do not add up: ${JSON.stringify(counts)}`);
          }
          if (pgRun.committed !== end || chRun.committed !== end) {
            throw new Error(`committed ${pgRun.committed} / ${chRun.committed}, not the end ${end}`);
          }
          totals.sent += messages.length;
          totals.stored += stored;
          totals.dead += dead.size;
          totals.refused += pgRefused.size + chRefused.size;
        },
      );
      const totals = { sent: 0, stored: 0, dead: 0, refused: 0 };
      await checkProperty(
        {
          name: "consumer: parse, batch, write (broker-free), both stores",
          file: FILE,
          baseRuns: 12,
          outcome: () =>
            `messages ${totals.sent}: valid ${totals.stored} (refused by one store and dead-lettered by its sink ${totals.refused}), dead-lettered ${totals.dead} (${tally})`,
        },
        property,
      );
      expect(totals.sent).toBe(totals.stored + totals.dead);
    },
    propertyTimeout(180_000),
  );
});
