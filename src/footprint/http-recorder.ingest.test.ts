import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { type PipelineBinary, startPipelineBinary } from "../../test/support/binary.ts";
import { closedPort } from "../../test/support/closed-port.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { footprint, httpRecorder } from "./index.ts";

const KEY = "http-recorder-ingest-key-0123456789";

/**
 * The library's HTTP recorder against the compiled `eft-footprint serve` on the shared stack:
 * what a Hono app records arrives in both stores with the app's own event ids, a batch sent twice
 * (its 202 lost on the way back) is stored once, and a dead endpoint never reaches the app.
 */
describe("httpRecorder → ingest endpoint → Kafka → PostgreSQL + ClickHouse", () => {
  let pipeline: PipelineBinary | undefined;

  beforeAll(async () => {
    pipeline = await startPipelineBinary(["serve"], {
      INGEST_KEYS: KEY,
      INGEST_MAX_EVENTS: "20",
      DASHBOARD_TOKEN: "http-recorder-dashboard-token-0123456789",
    });
  }, 120_000);
  afterAll(async () => {
    await pipeline?.stop();
  });

  const idsIn = async (prefix: string) => {
    const { pg, ch } = (pipeline as PipelineBinary).resources;
    const inPg: { event_id: string }[] = await pg.stats.sql.unsafe(
      "select event_id::text as event_id from user_footprint where starts_with(link, $1)",
      [prefix],
    );
    const inCh = await (
      await ch.stats.client.query({
        query: "SELECT toString(event_id) AS event_id FROM user_footprint WHERE startsWith(link, {prefix:String})",
        query_params: { prefix },
        format: "JSONEachRow",
      })
    ).json<{ event_id: string }>();
    return { pg: inPg.map((r) => r.event_id).sort(), ch: inCh.map((r) => r.event_id).sort() };
  };

  test("N requests → N rows in both stores with the recorder's ids; a batch resent after a lost 202 is stored once", async () => {
    const url = `${pipeline?.app.url}/_footprint/api/v1/footprints`;
    const reports: string[] = [];
    let posts = 0;
    const recorder = httpRecorder({
      url,
      key: KEY,
      batchMax: 30, // over INGEST_MAX_EVENTS: the service answers 413 and the recorder splits
      lingerMs: 5,
      // The second POST reaches the service, but its answer is "lost": the recorder resends it.
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (++posts === 2 && res.status === 202) throw new TypeError("connection reset after the request was sent");
        return res;
      },
      onError: (message) => reports.push(message),
    });
    const recorded: string[] = [];
    const app = new Hono()
      .use(
        footprint({
          record: (event, c) => {
            recorded.push(event.event_id);
            return recorder.record(event, c);
          },
        }),
      )
      .get("/http-recorder/:n", (c) => c.text(c.req.param("n")));
    const n = 75;
    for (let i = 0; i < n; i++) expect(await (await app.request(`/http-recorder/${i}`)).text()).toBe(String(i));
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ queued: 0, sent: n, dropped: 0, lost: 0 });
    expect(recorder.stats().retries).toBeGreaterThanOrEqual(1);
    // One partition: once this later event is stored, the resent batch has been consumed too.
    await (await app.request("/http-recorder-last/0")).text();
    await recorder.stop();
    await waitFor(
      "the last event in both stores",
      () => idsIn("/http-recorder-last/"),
      (ids) => ids.pg.length === 1 && ids.ch.length === 1,
    );
    const stored = await idsIn("/http-recorder/");
    expect(stored.pg).toEqual(recorded.slice(0, n).sort());
    expect(stored.ch).toEqual(stored.pg);
    expect(reports.some((m) => m.includes("retrying"))).toBe(true);
  }, 120_000);

  test("a dead ingest endpoint: the app still answers at once, the loss is counted and reported", async () => {
    const reports: string[] = [];
    const recorder = httpRecorder({
      url: `http://127.0.0.1:${closedPort()}/_footprint/api/v1/footprints`,
      key: KEY,
      lingerMs: 0,
      retryMaxMs: 500,
      onError: (message) => reports.push(message),
    });
    const app = new Hono().use(footprint({ record: recorder.record })).get("/", (c) => c.text("up"));
    for (let i = 0; i < 5; i++) expect(await (await app.request("/")).text()).toBe("up");
    await recorder.flush();
    expect(recorder.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 0 });
    expect(recorder.stats().lost).toBe(5);
    expect(reports.at(-1)).toMatch(/footprints lost: not accepted within 500 ms; last: /);
  });
});
