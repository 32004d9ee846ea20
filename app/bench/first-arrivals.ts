/**
 * What ClickHouse's first-arrivals lookup costs (issue 16, src/store/clickhouse-first-arrivals.ts):
 * consumer-shaped inserts (batches of BATCH_SIZE rows in time order, each with its token) into a
 * table that already holds a backlog, with the lookup and without it, alternating per round so that
 * both see the same table size and the same background load; and the lookup alone, timed on the
 * batches of a third share before they are inserted. Prints rows/s of each, the ratio, and the
 * lookup's milliseconds per batch.
 *
 *   bun app/bench/first-arrivals.ts [--base 1000000] [--batch-size 5000] [--batches 8] [--rounds 6]
 *
 * CLICKHOUSE_URL (default http://127.0.0.1:8123) names the server; a database of its own is created
 * and dropped.
 */
import { parseArgs } from "node:util";
import { createClient } from "@clickhouse/client-web";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { firstArrivals } from "../../src/store/clickhouse-first-arrivals.ts";
import type { ClickhouseStore, FootprintRow } from "../../src/store/store.ts";
import { summarize } from "./summary.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

type Options = { base: number; batchSize: number; batches: number; rounds: number; url: string };
type Mode = "with lookup" | "without";
type Timings = Record<Mode | "lookup alone", number[]>;

function options(): Options {
  const { values } = parseArgs({
    options: {
      base: { type: "string", default: "1000000" },
      "batch-size": { type: "string", default: "5000" },
      batches: { type: "string", default: "8" },
      rounds: { type: "string", default: "6" },
    },
  });
  return {
    base: Number(values.base),
    batchSize: Number(values["batch-size"]),
    batches: Number(values.batches),
    rounds: Number(values.rounds),
    url: process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123",
  };
}

/** Writes `batches` batches of the rows, each under a token of its own; the seconds it took. */
async function timedInserts(store: ClickhouseStore, batches: FootprintRow[][], tag: string): Promise<number> {
  const started = performance.now();
  for (const [i, rows] of batches.entries()) await store.insertFootprints(rows, { token: `bench/${tag}/${i}` });
  return (performance.now() - started) / 1000;
}

/** The lookup alone on each batch (then inserted without it, so the table grows as in the other modes). */
async function timedLookups(store: ClickhouseStore, batches: FootprintRow[][], tag: string): Promise<number> {
  let seconds = 0;
  for (const [i, rows] of batches.entries()) {
    const started = performance.now();
    await firstArrivals(store.stats.client, rows);
    seconds += (performance.now() - started) / 1000;
    await store.insertFootprints(rows, { token: `bench/${tag}/${i}` });
  }
  return seconds;
}

async function run(o: Options): Promise<Timings> {
  const database = `eft_bench_first_${crypto.randomUUID().slice(0, 8)}`;
  const connection = { url: o.url, username: "default", password: "", database };
  const stores: Record<Mode, ClickhouseStore> = {
    "with lookup": createClickhouseStore(connection),
    without: createClickhouseStore({ ...connection, firstArrivals: false }),
  };
  const perRound = o.batches * o.batchSize;
  const total = o.base + o.rounds * 3 * perRound;
  // One day of traffic in time order: the backlog first, then what the rounds insert, as it arrives.
  const chunks = syntheticFootprints({ count: total, days: 1, end: Date.now(), seed: 16 }, o.batchSize);
  const take = (n: number) => Array.from({ length: n }, () => chunks.next().value as FootprintRow[]);
  const seconds: Timings = { "with lookup": [], without: [], "lookup alone": [] };
  try {
    await stores["with lookup"].migrate();
    for (const chunk of take(Math.ceil(o.base / o.batchSize))) await stores.without.insertFootprints(chunk);
    for (let round = 0; round < o.rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ["with lookup", "without"] : ["without", "with lookup"];
      for (const mode of order) {
        seconds[mode].push(await timedInserts(stores[mode], take(o.batches), `${round}/${mode}`));
      }
      seconds["lookup alone"].push(await timedLookups(stores.without, take(o.batches), `${round}/lookup`));
    }
  } finally {
    await Promise.all(Object.values(stores).map((s) => s.close()));
    const server = createClient({ url: o.url });
    await server.command({ query: `DROP DATABASE IF EXISTS ${database}` });
    await server.close();
  }
  return seconds;
}

if (import.meta.main) {
  const o = options();
  const seconds = await run(o);
  const rows = o.batches * o.batchSize;
  const rate = (mode: Mode) => Math.round(rows / summarize(seconds[mode]).median);
  console.log(
    `base ${o.base.toLocaleString("en-US")} rows; ${o.rounds} rounds of ${o.batches} batches of ` +
      `${o.batchSize.toLocaleString("en-US")} per mode (median round)`,
  );
  for (const mode of ["without", "with lookup"] as const) {
    const perBatchMs = (summarize(seconds[mode]).median / o.batches) * 1000;
    console.log(
      `${mode.padEnd(12)} ${rate(mode).toLocaleString("en-US").padStart(9)} rows/s  ${perBatchMs.toFixed(1)} ms/batch`,
    );
  }
  console.log(`with / without: ${(rate("with lookup") / rate("without")).toFixed(2)}`);
  const lookupMs = (summarize(seconds["lookup alone"]).median / o.batches) * 1000;
  console.log(`the lookup alone: ${lookupMs.toFixed(1)} ms/batch`);
}
