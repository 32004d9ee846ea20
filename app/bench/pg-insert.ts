#!/usr/bin/env bun
/**
 * Dev bench: PostgreSQL's side of the consumer, alone. Inserts `rows` seed-format footprints (the
 * hot-path bench's backlog: synthetic traffic over 30 days, method + link + time, the id derived
 * from a Kafka position) in batches of `batch`, one batch at a time as the consumer's PostgreSQL
 * lane does, each variant into a fresh database:
 *
 * - `store`: the store's insertFootprints (raw rows and every rollup, one transaction);
 * - `raw`: the same raw insert without any rollup, to split the store's time;
 * - `again`: insertFootprints of batches already stored (a redelivery: nothing to count).
 *
 * Prints per variant: rows/s (wall), and CPU µs per row of this process (the client's share of
 * `consume`), of the PostgreSQL backend that ran the statements, and of every PostgreSQL process
 * (WAL writer, checkpointer, other work on a shared server: an upper bound).
 *
 *   bun app/bench/pg-insert.ts [--rows 200000] [--batch 5000] [--rounds 1] [--variants store,raw,again]
 *
 * Uses the configured DATABASE_URL (e.g. `eval "$(./scripts/stack env)"`), on fresh databases
 * eft_bench_<random> it drops at the end.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config.ts";
import { eventIdFromOrigin } from "../../src/footprint/parse-message.ts";
import { insertRawFootprints } from "../../src/store/postgres.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "../../src/store/store.ts";
import { createBenchPostgres } from "./bench-databases.ts";
import { cpuMicros, localServiceTargets } from "./cpu.ts";
import { round } from "./summary.ts";
import { syntheticFootprints } from "./synthetic-footprints.ts";

const VARIANTS = ["store", "raw", "again"] as const;
type Variant = (typeof VARIANTS)[number];

type Figures = { rowsPerSecond: number; clientMicros: number; backendMicros: number; postgresMicros: number };

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rows: { type: "string", default: "200000" },
    batch: { type: "string", default: "5000" },
    rounds: { type: "string", default: "1" },
    variants: { type: "string", default: VARIANTS.join(",") },
  },
});
const rows = Number(values.rows);
const batchSize = Number(values.batch);
const variants = values.variants.split(",") as Variant[];
const unknown = variants.filter((v) => !VARIANTS.includes(v));
if (unknown.length > 0 || !(rows > 0) || !(batchSize > 0)) {
  console.error(`usage: bun app/bench/pg-insert.ts [--rows N] [--batch N] [--rounds N] [--variants ${VARIANTS}]`);
  process.exit(2);
}

const config = loadConfig(process.env);
const postgresTree = localServiceTargets({ postgres: config.postgres.url }).postgres;

/** The backlog as the consumer decodes it: seed-format rows, ids from their Kafka position. */
function seedBatches(): FootprintRow[][] {
  const batches: FootprintRow[][] = [];
  let offset = 0;
  for (const chunk of syntheticFootprints({ count: rows, days: 30, end: Date.now(), seed: 7 }, batchSize)) {
    batches.push(
      chunk.map((r) => ({
        ...NO_RICH_FIELDS,
        eventId: eventIdFromOrigin({ topic: "pg-insert", partition: 0, offset: String(offset++) }),
        method: r.method,
        link: r.link,
        footprintTime: r.footprintTime,
      })),
    );
  }
  return batches;
}

async function run(variant: Variant, batches: FootprintRow[][]): Promise<Figures> {
  // One connection, as the consumer's PostgreSQL lane writes one batch at a time.
  const db = await createBenchPostgres(config, undefined, 1);
  try {
    await db.pg.migrate();
    const { sql } = db.pg.stats;
    const write = variant === "raw" ? (b: FootprintRow[]) => insertRawFootprints(sql, b) : db.pg.insertFootprints;
    if (variant === "again") for (const b of batches) await write(b);
    const [backend] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const sample = () => ({
      wall: performance.now(),
      client: process.cpuUsage(),
      backend: cpuMicros({ pid: backend?.pid ?? 0 }),
      postgres: postgresTree ? cpuMicros(postgresTree) : Number.NaN,
    });
    const before = sample();
    for (const b of batches) await write(b);
    const after = sample();
    const n = batches.reduce((s, b) => s + b.length, 0);
    const client = process.cpuUsage(before.client);
    return {
      rowsPerSecond: Math.round(n / ((after.wall - before.wall) / 1000)),
      clientMicros: round((client.user + client.system) / n, 1),
      backendMicros: round((after.backend - before.backend) / n, 1),
      postgresMicros: round((after.postgres - before.postgres) / n, 1),
    };
  } finally {
    await db.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const batches = seedBatches();
const results: Record<string, Figures[]> = {};
for (let r = 0; r < Number(values.rounds); r++) {
  for (const v of variants) {
    const figures = await run(v, batches);
    results[v] = [...(results[v] ?? []), figures];
  }
}
console.log(
  `${rows.toLocaleString("en-US")} seed-format rows in batches of ${batchSize.toLocaleString("en-US")}, ` +
    `median of ${values.rounds} round(s), one connection; CPU µs per row`,
);
console.log("| variant | rows/s | client µs/row | backend µs/row | all PostgreSQL µs/row |");
console.log("|---|---:|---:|---:|---:|");
for (const [v, figures] of Object.entries(results)) {
  const m = (k: keyof Figures) => median(figures.map((f) => f[k]));
  console.log(
    `| ${v} | ${m("rowsPerSecond").toLocaleString("en-US")} | ${m("clientMicros")} | ${m("backendMicros")} | ${m("postgresMicros")} |`,
  );
}
