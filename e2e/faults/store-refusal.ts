/**
 * Fault scenario "a row refused by one store" (issue 16, item 2), for e2e/faults.test.ts: under
 * load, valid footprints that one store refuses for their content are produced among the good
 * ones — links PostgreSQL refuses (54000, a rollup key over the index row limit), links ClickHouse
 * refuses (a CHECK constraint added to the world's table), and a burst over 120 months that
 * ClickHouse refuses as one block (252, too many partitions) though every row of it is fine. Each
 * refused row must be dead-lettered by the refusing store's group, with the store's code, and
 * stored by the other; every good one stored in both; nothing blocked; nothing twice.
 */
import { expect } from "bun:test";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { repoRoot } from "../../test/support/binary.ts";
import type { ScenarioResult } from "../../test/support/fault-report.ts";
import type { Load, World } from "../../test/support/fault-stack.ts";
import {
  addClickhouseRejection,
  CLICKHOUSE_REJECTED_PREFIX,
  linkPostgresRejects,
  monthTime,
} from "../../test/support/store-rejections.ts";
import { waitFor } from "../../test/support/wait-for.ts";

/**
 * Refused messages per store, one of each (and a good one) every 300 ms among the load: about one
 * per batch, as refusals come in practice. Isolating one costs ClickHouse three inserts, each a
 * few tenths of a second on the stack's chdb endpoint.
 */
const REFUSED_PER_STORE = 30;
const MONTHS = 120;

export type StoreRefusalDeps = {
  /** A site under load with a consumer behind it, traffic flowing. */
  startTraffic(world: World): Promise<{ l: Load }>;
};

export async function storeRefusalScenario(world: World, row: ScenarioResult, deps: StoreRefusalDeps): Promise<void> {
  const { l } = await deps.startTraffic(world);
  // The consumer migrated the world's stores before it started.
  await addClickhouseRejection(world.ch);
  const producer = world.kafka.producer();
  await producer.connect();
  const started = Date.now();
  const footprint = (link: string, time = new Date().toISOString()) => ({
    value: JSON.stringify({ method: "GET", link, footprint_time: time, event_id: randomUUID() }),
  });
  let produced = 0;
  try {
    for (let n = 0; n < REFUSED_PER_STORE; n++) {
      const messages = [
        footprint(linkPostgresRejects(String(n))),
        footprint(`${CLICKHOUSE_REJECTED_PREFIX}${n}`),
        footprint(`/good/${n}`),
      ];
      await producer.send({ topic: world.topic, messages });
      produced += messages.length;
      await Bun.sleep(300);
    }
    // One request, one batch most likely: over 100 months, which ClickHouse refuses as one block.
    const months = Array.from({ length: MONTHS }, (_, i) => footprint(`/months/${i}`, monthTime(i)));
    await producer.send({ topic: world.topic, messages: months });
    produced += months.length;
  } finally {
    await producer.disconnect();
  }
  await l.stop();
  expect(l.failures).toEqual([]);
  row.sent = l.sent + produced;
  row.refusedBy = { postgres: REFUSED_PER_STORE, clickhouse: REFUSED_PER_STORE };
  const want = { postgres: row.sent - REFUSED_PER_STORE, clickhouse: row.sent - REFUSED_PER_STORE };
  await waitFor(
    `PostgreSQL holding ${want.postgres} and ClickHouse ${want.clickhouse} events`,
    () => world.counts(),
    (c) => c.postgres >= want.postgres && c.clickhouse >= want.clickhouse,
    180_000,
    250,
  );
  row.recoveryMs = Date.now() - started;
  // Anything late (a duplicate) would land within a flush or two.
  await Bun.sleep(1500);

  const refusedIn = async () => ({
    postgresHoldsChRefused: Number(
      (
        await world.pg<{ n: number }[]>`
        select count(*)::int as n from user_footprint where starts_with(link, ${CLICKHOUSE_REJECTED_PREFIX})`
      )[0]?.n,
    ),
    postgresHoldsPgRefused: Number(
      (
        await world.pg<{ n: number }[]>`
        select count(*)::int as n from user_footprint where starts_with(link, '/pg-rejects/')`
      )[0]?.n,
    ),
    clickhouseHoldsPgRefused: await chCount(world, "/pg-rejects/"),
    clickhouseHoldsChRefused: await chCount(world, CLICKHOUSE_REJECTED_PREFIX),
    monthsInClickhouse: await chCount(world, "/months/"),
  });
  expect(await refusedIn()).toEqual({
    postgresHoldsChRefused: REFUSED_PER_STORE,
    postgresHoldsPgRefused: 0,
    clickhouseHoldsPgRefused: REFUSED_PER_STORE,
    clickhouseHoldsChRefused: 0,
    monthsInClickhouse: MONTHS,
  });
  const { count, byCode } = await deadLetterSummary(world);
  row.deadLetters = count;
  expect(row.deadLetters).toBe(2 * REFUSED_PER_STORE);
  row.notes =
    `${REFUSED_PER_STORE} links PostgreSQL refuses (54000) and ${REFUSED_PER_STORE} ClickHouse refuses (469, a CHECK ` +
    `constraint) among ${l.sent.toLocaleString("en-US")} requests and ${REFUSED_PER_STORE + MONTHS} good messages ` +
    `(${MONTHS} over ${MONTHS} months: one block ClickHouse refuses, split and stored); each refused row ` +
    `dead-lettered by its store's group (${byCode}) and stored by the other; "recovery" = time to store them all`;
}

async function chCount(world: World, prefix: string): Promise<number> {
  const rs = await world.ch.query({
    query: "SELECT toUInt64(count()) AS n FROM user_footprint WHERE startsWith(link, {p:String})",
    query_params: { p: prefix },
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string | number }>())[0]?.n ?? 0);
}

/** `eft-footprint dlq list`: dead letters counted once per source and refusing store, by code. */
export async function deadLetterSummary(world: World): Promise<{ count: number; byCode: string }> {
  const dlq = Bun.spawn([join(repoRoot, "eft-footprint"), "dlq", "list", "--limit", "1"], {
    env: { PATH: process.env.PATH ?? "", ...world.env, LOG_LEVEL: "warn" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stderr = await new Response(dlq.stderr).text();
  const summary = stderr.split("\n").find((line) => /dead letter\(s\)/.test(line)) ?? stderr;
  expect(await dlq.exited).toBe(0);
  return {
    count: Number(/(\d+) dead letter\(s\)/.exec(summary)?.[1] ?? -1),
    byCode: /\.dlq \(([^)]*)\)/.exec(summary)?.[1] ?? summary.trim(),
  };
}
