import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Kafka, logLevel } from "kafkajs";
import {
  type PipelineBinary,
  type PipelineResources,
  type RunningBinary,
  startBinary,
  startPipelineBinary,
} from "../test/support/binary.ts";
import { waitFor } from "../test/support/wait-for.ts";

/**
 * The whole pipeline on the real stack: the compiled binary serves requests, produces to Kafka,
 * consumes and stores into PostgreSQL and ClickHouse.
 */
describe("end to end: request → Kafka → PostgreSQL + ClickHouse (compiled binary)", () => {
  let pipeline: PipelineBinary | undefined;
  let resources: PipelineResources;
  let topic: PipelineResources["topic"];
  let pg: PipelineResources["pg"];
  let ch: PipelineResources["ch"];
  let app: RunningBinary | undefined;
  const env = () => resources.env;

  beforeAll(async () => {
    pipeline = await startPipelineBinary(["serve", "--demo"]);
    ({ app, resources } = pipeline);
    ({ topic, pg, ch } = resources);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  test("1,000 requests become exactly 1,000 rows in each store", async () => {
    const a = app as RunningBinary;
    const paths = ["/api/v1/items", "/api/v1/items/ledx", "/api/v1/items/unknown", "/api/v1/quests/7", "/nowhere"];
    const statuses: number[] = [];
    for (let i = 0; i < 1000; i += 50) {
      const chunk = Array.from({ length: 50 }, (_, j) => fetch(`${a.url}${paths[(i + j) % paths.length]}?n=${i + j}`));
      for (const res of await Promise.all(chunk)) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    expect(statuses.filter((s) => s === 200).length).toBe(600);
    expect(statuses.filter((s) => s === 404).length).toBe(400);

    const countPg = () =>
      pg.stats.sql<{ n: string }[]>`select count(*) as n from user_footprint`.then((r) => Number(r[0]?.n));
    await waitFor("1,000 rows in PostgreSQL", countPg, (n) => n >= 1000);
    await waitFor(
      "1,000 rows in ClickHouse",
      () => ch.countFootprints(),
      (n) => n >= 1000,
    );

    const pgRows = await pg.stats.sql`
      select request, link, route, status, count(*)::int as n from user_footprint
      group by 1, 2, 3, 4 order by link`;
    expect(pgRows.map((r) => ({ ...r }))).toEqual([
      { request: "GET", link: "/api/v1/items", route: "/api/v1/items", status: 200, n: 200 },
      { request: "GET", link: "/api/v1/items/ledx", route: "/api/v1/items/:id", status: 200, n: 200 },
      { request: "GET", link: "/api/v1/items/unknown", route: "/api/v1/items/:id", status: 404, n: 200 },
      { request: "GET", link: "/api/v1/quests/7", route: "/api/v1/quests/:id", status: 200, n: 200 },
      { request: "GET", link: "/nowhere", route: null, status: 404, n: 200 },
    ]);
    const chRows = await ch.stats.client.query({
      query:
        "SELECT request, link, route, status, toUInt32(count()) AS n FROM user_footprint GROUP BY ALL ORDER BY link",
      format: "JSONEachRow",
    });
    expect(await chRows.json()).toEqual(pgRows.map((r) => ({ ...r })));

    // The same events, one row each, in both stores.
    const pgIds = await pg.stats.sql`select count(distinct event_id)::int as n from user_footprint`;
    expect(pgIds[0]?.n).toBe(1000);
    const chIds = await ch.stats.client.query({
      query: "SELECT toUInt32(uniqExact(event_id)) AS n FROM user_footprint",
      format: "JSONEachRow",
    });
    expect(await chIds.json()).toEqual([{ n: 1000 }]);
  }, 120_000);

  test("seed-format messages from another producer are stored with the right method, path and time; garbage does not stop them", async () => {
    const kafka = new Kafka({ brokers: topic.brokers, clientId: "python-like-producer", logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topic.topic,
      messages: [
        {
          value: JSON.stringify({
            method: "GET",
            link: "/legacy/kst",
            footprint_time: "2025-05-19T13:45:30.123456+09:00",
          }),
        },
        { value: "this is not json" },
        {
          value: JSON.stringify({ method: "PUT", link: "/legacy/zulu", footprint_time: "2025-05-19T04:45:31.000001Z" }),
        },
      ],
    });
    await producer.disconnect();

    const legacy = () =>
      pg.stats
        .sql`select request, link, (extract(epoch from footprint_time) * 1000000)::bigint::text as micros, route, status
             from user_footprint where link like '/legacy/%' order by link`;
    const pgRows = await waitFor("legacy rows in PostgreSQL", legacy, (r) => r.length === 2);
    const expected = [
      {
        request: "GET",
        link: "/legacy/kst",
        micros: String(Date.UTC(2025, 4, 19, 4, 45, 30, 123) * 1000 + 456),
        route: null,
        status: null,
      },
      {
        request: "PUT",
        link: "/legacy/zulu",
        micros: String(Date.UTC(2025, 4, 19, 4, 45, 31) * 1000 + 1),
        route: null,
        status: null,
      },
    ];
    expect(pgRows.map((r) => ({ ...r }))).toEqual(expected);
    const chRows = await waitFor(
      "legacy rows in ClickHouse",
      async () =>
        (
          await ch.stats.client.query({
            query: `SELECT request, link, toString(toUnixTimestamp64Micro(footprint_time)) AS micros, route, status
                  FROM user_footprint WHERE startsWith(link, '/legacy/') ORDER BY link`,
            format: "JSONEachRow",
          })
        ).json(),
      (r) => r.length === 2,
    );
    expect(chRows).toEqual(expected);
    await waitFor(
      "the garbage dead-lettered",
      async () => app?.lines.some((l) => l.msg === "invalid message dead-lettered" && l.code === "MESSAGE_NOT_JSON"),
      (seen) => seen === true,
    );
  }, 120_000);

  test("SIGTERM flushes what requests produced and exits 0; a consumer started later stores it all", async () => {
    const a = app as RunningBinary;
    for (let i = 0; i < 20; i++) await (await fetch(`${a.url}/api/v1/quests`)).arrayBuffer();
    expect(await a.stop()).toBe(0);
    app = undefined;
    const admin = new Kafka({ brokers: topic.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      // 1,000 requests + 3 foreign messages + these 20: the producer queue was drained on stop.
      const [end] = await admin.fetchTopicOffsets(topic.topic);
      expect(end?.offset).toBe("1023");

      const consumer = await startBinary(["consume"], env(), "consumer started");
      try {
        await waitFor(
          "1,022 rows in PostgreSQL",
          () => pg.countFootprints(),
          (n) => n >= 1022,
        );
        await waitFor(
          "1,022 rows in ClickHouse",
          () => ch.countFootprints(),
          (n) => n >= 1022,
        );
      } finally {
        expect(await consumer.stop()).toBe(0);
      }
      expect(await pg.countFootprints()).toBe(1022);
      expect(await ch.countFootprints()).toBe(1022);
      // One consumer group per store, each committed to the end.
      for (const sink of ["postgres", "clickhouse"]) {
        const [committed] = await admin.fetchOffsets({ groupId: `${topic.groupId}-${sink}`, topics: [topic.topic] });
        expect(committed?.partitions[0]?.offset).toBe("1023");
      }
    } finally {
      await admin.disconnect();
    }
  }, 120_000);
});
