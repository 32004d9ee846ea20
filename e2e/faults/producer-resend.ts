/**
 * Fault scenario "producer resend / ingest retry" (issue 16): every way our producers send an
 * event again, at once, on a 3-partition topic read by two `consume` processes —
 *
 * - ingest clients retrying every POST with the same event_ids (as after a 503, which the API
 *   answers with the ids for exactly this);
 * - batches of messages produced twice through the producer's own sender (keyed by event_id), as
 *   a resend of a batch whose acknowledgement was lost, or a spool sent again after a crash
 *   between Kafka's acknowledgement and the spool's cursor;
 * - and ordinary site traffic beside them.
 *
 * Sent = distinct events; both stores must hold each once, and every ClickHouse rollup must count
 * each once.
 */
import { expect } from "bun:test";
import { createKafka, createKafkaSender } from "../../src/kafka.ts";
import { createMemoryLogger } from "../../src/log.ts";
import type { RunningBinary } from "../../test/support/binary.ts";
import type { ScenarioResult } from "../../test/support/fault-report.ts";
import type { Load, World } from "../../test/support/fault-stack.ts";

export const PRODUCER_RESEND_INGEST_KEY = "fault-ingest-key-0123456789abcdef";
const INGEST_POSTS = 20;
const EVENTS_PER_POST = 100;
const RESENT_BATCHES = 10;
const EVENTS_PER_BATCH = 200;

export type ResendDeps = {
  site(env: Record<string, string>): Promise<RunningBinary>;
  consumer(): Promise<RunningBinary>;
  load(url: string): Load;
  /** Until both stores hold `n` events, then the end checks (nothing late). */
  finish(row: ScenarioResult, l: Load, extra: number): Promise<void>;
};

const event = (tag: string, i: number) => ({
  method: i % 5 === 0 ? "POST" : "GET",
  link: `/api/v1/${tag}/${i}`,
  route: `/api/v1/${tag}/:id`,
  status: i % 7 === 0 ? 404 : 200,
  footprint_time: new Date(Date.now() - 1000 + (i % 1000)).toISOString(),
  event_id: crypto.randomUUID(),
});

/** Each POST twice with the same events (the retry); both must be answered 202. */
async function ingestTwice(url: string): Promise<number> {
  const post = async (events: unknown[]) => {
    const res = await fetch(`${url}/_footprint/api/v1/footprints`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-footprint-key": PRODUCER_RESEND_INGEST_KEY },
      body: JSON.stringify(events),
    });
    const body = (await res.json()) as { accepted?: number };
    expect({ status: res.status, accepted: body.accepted }).toEqual({ status: 202, accepted: events.length });
  };
  for (let p = 0; p < INGEST_POSTS; p++) {
    const events = Array.from({ length: EVENTS_PER_POST }, (_, i) => event(`ingest${p}`, i));
    await post(events);
    await post(events);
  }
  return INGEST_POSTS * EVENTS_PER_POST;
}

/** Batches sent twice through the producer's own sender: the resend of a batch the broker had kept. */
async function produceTwice(world: World): Promise<number> {
  const kafka = createKafka({
    brokers: world.env.KAFKA_BROKERS?.split(",") ?? [],
    clientId: "eft-fault-resend",
    logger: createMemoryLogger(),
  });
  const send = createKafkaSender(kafka, world.topic);
  try {
    for (let b = 0; b < RESENT_BATCHES; b++) {
      const values = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => JSON.stringify(event(`resent${b}`, i)));
      await send(values);
      // The resend takes the batch as it was, in two requests, after later events went out.
      await send(values.slice(EVENTS_PER_BATCH / 2));
      await send(values.slice(0, EVENTS_PER_BATCH / 2));
    }
  } finally {
    await send.disconnect();
  }
  return RESENT_BATCHES * EVENTS_PER_BATCH;
}

export async function producerResendScenario(world: World, row: ScenarioResult, deps: ResendDeps): Promise<void> {
  const s = await deps.site({ INGEST_KEYS: PRODUCER_RESEND_INGEST_KEY });
  await deps.consumer();
  await deps.consumer();
  const l = deps.load(s.url);
  const [ingested, resent] = await Promise.all([ingestTwice(s.url), produceTwice(world)]);
  await deps.finish(row, l, ingested + resent);
  const totals = await world.rollupTotals();
  expect(Object.values(totals).length).toBeGreaterThan(0);
  expect(Object.entries(totals).filter(([, n]) => n !== row.sent)).toEqual([]);
  row.notes =
    `${ingested.toLocaleString("en-US")} ingest events each POSTed twice, ${resent.toLocaleString("en-US")} events ` +
    `produced twice (keyed by event_id), ${l.sent.toLocaleString("en-US")} site requests; 3 partitions, ` +
    `2 \`consume\`; every rollup counts ${row.sent.toLocaleString("en-US")}`;
}
