import { loadConfig } from "./src/config.ts";
import { createBenchStores } from "./app/bench/bench-databases.ts";
import { copyIntoPostgres, insertIntoClickhouse } from "./app/bench/load.ts";
import { syntheticFootprints } from "./app/bench/synthetic-footprints.ts";
import { statsRoutes } from "./routes/stats.ts";
import { createMemoryLogger } from "./src/log.ts";
import { measureFreshness } from "./src/stats/store-freshness.ts";
import { summarize } from "./app/bench/summary.ts";

const ROWS = Number(process.argv[2] ?? 1_000_000);
const config = loadConfig(process.env);
const stores = await createBenchStores(config);
try {
  const end = Date.now();
  const chunks = [...syntheticFootprints({ count: ROWS, days: 30, end, seed: 42 }, 100_000)];
  await copyIntoPostgres(stores.pg.stats.sql, chunks, () => {});
  await insertIntoClickhouse((c) => stores.ch.insertFootprints(c), stores.ch.stats.client, chunks, () => {});
  console.log("loaded", await stores.pg.countFootprints(), await stores.ch.countFootprints());
  const app = statsRoutes({ stores: [stores.pg, stores.ch], timeZone: "Asia/Seoul", logger: createMemoryLogger(), now: () => end + 1000 });
  const PANELS = ["total", "top", "timeseries", "heatmap", "time-of-day", "status", "latency"];
  type R = { store: string; ms: number; query_ms: number | null };
  const ask = async (p: string) => ((await (await app.request(`/${p}?from=30d`)).json()) as { results: R[] }).results;
  const rounds = async (concurrent: boolean) => {
    const sums: Record<string, { wall: number[]; query: number[] }> = { postgres: { wall: [], query: [] }, clickhouse: { wall: [], query: [] } };
    for (let i = 0; i < 6; i++) {
      let results: R[][];
      if (concurrent) results = await Promise.all(PANELS.map(ask));
      else { results = []; for (const p of PANELS) results.push(await ask(p)); }
      if (i === 0) continue; // warm-up
      for (const s of ["postgres", "clickhouse"]) {
        const rs = results.map((r) => r.find((x) => x.store === s) as R);
        sums[s]!.wall.push(rs.reduce((a, r) => a + r.ms, 0));
        sums[s]!.query.push(rs.reduce((a, r) => a + (r.query_ms ?? Number.NaN), 0));
      }
    }
    return Object.fromEntries(Object.entries(sums).map(([s, v]) => [s, { wall: summarize(v.wall).median, query: summarize(v.query).median }]));
  };
  console.log("7 panels at once (sum over panels, median of 5 rounds):", JSON.stringify(await rounds(true)));
  console.log("one panel at a time                                   :", JSON.stringify(await rounds(false)));
  const fr: number[] = [];
  for (let i = 0; i < 21; i++) { const t = performance.now(); await measureFreshness([stores.pg, stores.ch], (end - 30 * 86400_000) * 1000, (end + 1000) * 1000); fr.push(performance.now() - t); }
  const per: Record<string, number[]> = {};
  for (let i = 0; i < 4; i++) for (const p of PANELS) for (const r of await ask(p)) if (i) (per[`${p} ${r.store}`] ??= []).push(r.query_ms ?? Number.NaN), (per[`${p} ${r.store} wall`] ??= []).push(r.ms);
  for (const [k, v] of Object.entries(per)) console.log(k, summarize(v).median);
  console.log("freshness (newest in both + none behind), wall ms:", JSON.stringify(summarize(fr.slice(1))));
  // one store behind: pretend CH's newest is 5 s back by asking up to then... measure the count-after query
  const { countFootprintsAfter, getNewestFootprint } = await import("./src/stats/store-freshness.ts");
  const newest = (await getNewestFootprint(stores.pg.stats, 0, (end + 1000) * 1000)) as number;
  for (const [name, s] of [["postgres", stores.pg], ["clickhouse", stores.ch]] as const) {
    const c: number[] = []; let n = 0;
    for (let i = 0; i < 11; i++) { const t = performance.now(); n = await countFootprintsAfter(s.stats, newest - 5_000_000, (end + 1000) * 1000); c.push(performance.now() - t); }
    console.log(`count of the last 5 s (${n} events) in ${name}, wall ms:`, JSON.stringify(summarize(c.slice(1))));
  }
} finally {
  await stores.drop();
}
