#!/usr/bin/env bun
/**
 * Dev bench: what a dashboard round costs each store, and what its times say, asked three ways
 * of the stats API (statsRoutes, in process): every panel at once (as the dashboard did), one
 * panel at a time with both stores at once (as it does now), and one query at a time. Prints,
 * per way and store, the sum over the panels of the database's own time (`query_ms`) and of the
 * wall time (`ms`), medians of the rounds, the ways alternated within each round.
 *
 *   bun app/bench/dashboard-rounds.ts [rows=1000000] [period=7d] [rounds=7]
 *
 * Uses the configured DATABASE_URL and CLICKHOUSE_URL (e.g. `eval "$(./scripts/stack env)"`), on
 * fresh databases eft_bench_<random> it drops at the end.
 */
import { statsRoutes } from "../../routes/stats.ts";
import { loadConfig } from "../../src/config.ts";
import { createMemoryLogger } from "../../src/log.ts";
import { createBenchStores } from "./bench-databases.ts";
import { copyIntoPostgres, insertIntoClickhouse } from "./load.ts";
import { summarize } from "./summary.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

const [rows = "1000000", period = "7d", rounds = "7"] = Bun.argv.slice(2);
// The dashboard's panels (latency, raw only and seconds long on PostgreSQL, is left out).
const PANELS = ["total", "top", "timeseries", "heatmap", "time-of-day", "status"];
type Result = { store: string; ms: number; query_ms: number | null };

const config = loadConfig(process.env);
const stores = await createBenchStores(config);
try {
  const end = Date.now();
  const chunks = [...syntheticFootprints({ count: Number(rows), days: 30, end, seed: 42 }, 100_000)];
  await copyIntoPostgres(stores.pg.stats.sql, chunks, () => {});
  await insertIntoClickhouse(
    (c) => stores.ch.insertFootprints(c),
    stores.ch.stats.client,
    chunks,
    () => {},
  );
  const app = statsRoutes({
    stores: [stores.pg, stores.ch],
    timeZone: config.timeZone,
    logger: createMemoryLogger(),
    now: () => end + 1000,
  });
  const ask = async (panel: string, store: string) =>
    ((await (await app.request(`/${panel}?from=${period}&store=${store}`)).json()) as { results: Result[] }).results;
  const inTurn = async (asks: (() => Promise<Result[]>)[]) => {
    const out: Result[] = [];
    for (const a of asks) out.push(...(await a()));
    return out;
  };
  const ways: Record<string, () => Promise<Result[]>> = {
    "every panel at once": async () => (await Promise.all(PANELS.map((p) => ask(p, "both")))).flat(),
    "one panel at a time, stores at once": () => inTurn(PANELS.map((p) => () => ask(p, "both"))),
    "one query at a time": () => inTurn(PANELS.flatMap((p) => [() => ask(p, "postgres"), () => ask(p, "clickhouse")])),
  };
  const sums: Record<string, { query: number[]; wall: number[] }> = {};
  for (let round = 0; round <= Number(rounds); round++) {
    for (const [way, run] of Object.entries(ways)) {
      const results = await run();
      if (round === 0) continue; // warm-up
      for (const store of ["postgres", "clickhouse"]) {
        const mine = results.filter((r) => r.store === store);
        const key = `${way}|${store}`;
        sums[key] ??= { query: [], wall: [] };
        const s = sums[key];
        s.query.push(mine.reduce((t, r) => t + (r.query_ms ?? Number.NaN), 0));
        s.wall.push(mine.reduce((t, r) => t + r.ms, 0));
      }
    }
  }
  console.log(`${rows} rows, from=${period}, ${PANELS.length} panels; ms summed over the panels`);
  for (const [key, s] of Object.entries(sums)) {
    const [way, store] = key.split("|");
    console.log(
      `${way?.padEnd(36)} ${store?.padEnd(10)} query ${summarize(s.query).median}  wall ${summarize(s.wall).median}`,
    );
  }
} finally {
  await stores.drop();
}
