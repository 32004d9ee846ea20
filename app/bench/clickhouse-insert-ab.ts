/**
 * The ClickHouse store's inserts alone, of two checkouts, alternately in one run: consumer-shaped
 * batches (seed-format rows, each batch with its token, so with the first-arrivals lookup) into a
 * fresh database of each, with the CPU per row of this process (the store's encoding and HTTP) and
 * of the ClickHouse endpoint (found listening on CLICKHOUSE_URL's port), and rows/s.
 *
 *   bun app/bench/clickhouse-insert-ab.ts [--rows 200000] [--batch-size 5000] [--rounds 3] <src/store/clickhouse.ts> …
 *
 * e.g. `bun app/bench/clickhouse-insert-ab.ts /work/main/src/store/clickhouse.ts src/store/clickhouse.ts`.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { ClickhouseStoreOptions } from "../../src/store/clickhouse.ts";
import type { ClickhouseStore, FootprintRow } from "../../src/store/store.ts";
import { NO_RICH_FIELDS } from "../../src/store/store.ts";
import { localServiceTargets, perUnit, startCpuSample } from "./cpu.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: "string", default: "200000" },
    "batch-size": { type: "string", default: "5000" },
    rounds: { type: "string", default: "3" },
  },
});
if (positionals.length === 0) {
  console.error(
    "usage: bun app/bench/clickhouse-insert-ab.ts [--rows N] [--batch-size N] [--rounds N] <clickhouse.ts> …",
  );
  process.exit(2);
}
const url = process.env.CLICKHOUSE_URL ?? "http://127.0.0.1:8123";
const count = Number(values.rows);
const batchSize = Number(values["batch-size"]);
const endpoint = localServiceTargets({ clickhouse: url }).clickhouse;
type Create = (o: ClickhouseStoreOptions) => ClickhouseStore;
const stores = await Promise.all(
  positionals.map(async (p) => ({ path: p, create: (await import(resolve(p))).createClickhouseStore as Create })),
);

/** A UUID-shaped id from a hash of the text, as seed-format messages get theirs (random bytes). */
function uuidOf(text: string): string {
  const h = new Bun.CryptoHasher("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Seed-format rows as the consumer makes them: ids from a hash, a backlog in time order. */
function backlog(tag: string): FootprintRow[] {
  const start = Date.now() * 1000 - 3_600_000_000;
  return Array.from({ length: count }, (_, i) => ({
    ...NO_RICH_FIELDS,
    eventId:
      Bun.hash(`${tag}/${i}`)
        .toString(16)
        .padStart(16, "0")
        .replace(/^(.{8})(.{4})(.{4})$/, "$1-$2-$3") + `-8000-${i.toString(16).padStart(12, "0")}`,
    method: "GET",
    link: `/api/v1/items/${i % 5000}`,
    footprintTime: start + i * 1000,
  }));
}

for (let round = 0; round < Number(values.rounds); round++) {
  const order = round % 2 === 0 ? stores : [...stores].reverse();
  for (const s of order) {
    const database = `eft_insert_ab_${process.pid}_${round}_${stores.indexOf(s)}`;
    const store = s.create({ url, username: "default", password: "", database });
    await store.migrate();
    const rows = backlog(database);
    const started = performance.now();
    const cpu = startCpuSample({ bench: { pid: process.pid }, clickhouse: endpoint });
    for (let at = 0; at < rows.length; at += batchSize) {
      await store.insertFootprints(rows.slice(at, at + batchSize), { token: `${database}/${at}` });
    }
    const used = cpu.stop();
    const seconds = (performance.now() - started) / 1000;
    const stored = await store.countFootprints();
    if (stored !== count) console.error(`${s.path}: stored ${stored} of ${count}`);
    await store.stats.client.command({ query: `DROP DATABASE ${database}` });
    await store.close();
    const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
    console.log(
      JSON.stringify({
        round,
        store: s.path,
        rowsPerSecond: Math.round(count / seconds),
        ...perUnit(used, count),
        load,
      }),
    );
  }
}
