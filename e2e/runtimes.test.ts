import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type PipelineBinary, startPipelineBinary } from "../test/support/binary.ts";
import { closedPort } from "../test/support/closed-port.ts";
import {
  buildLibrary,
  installRuntimes,
  prepareRuntimeApps,
  RUNTIMES,
  type RuntimeApps,
  startRuntimeApp,
} from "../test/support/runtime-app.ts";
import { waitFor } from "../test/support/wait-for.ts";

const KEY = "e2e-runtimes-key-0123456789";
const N = 50;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const run = crypto.randomUUID().slice(0, 8);

/**
 * The library as other runtimes get it (package.json `exports` → dist/lib, built by
 * scripts/build-lib) with the HTTP recorder, on the runtimes themselves (scripts/install-runtimes),
 * against the compiled `eft-footprint serve`'s ingest endpoint on the real stack: every request an
 * app answers becomes one row in each store under the id the app's runtime gave it; with the
 * ingest endpoint gone the app answers all the same and says that footprints are lost.
 */
describe("capture on Bun, Node, Deno and workerd: footprint() + httpRecorder → ingest → PostgreSQL + ClickHouse", () => {
  let pipeline: PipelineBinary | undefined;
  let apps: RuntimeApps | undefined;
  let bundle = "";

  beforeAll(async () => {
    const runtimesDir = installRuntimes();
    bundle = buildLibrary();
    apps = prepareRuntimeApps(runtimesDir);
    pipeline = await startPipelineBinary(["serve"], { INGEST_KEYS: KEY });
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
    apps?.remove();
  });

  test("the built library imports no node: module and uses no Bun global", () => {
    const code = readFileSync(bundle, "utf8");
    expect(code.match(/(?:from\s*|import\s*\(\s*)"node:[^"]+"/g) ?? []).toEqual([]);
    expect(code.match(/\bBun\.[A-Za-z]+/g) ?? []).toEqual([]);
  });

  const storedIds = async (prefix: string) => {
    const { pg, ch } = (pipeline as PipelineBinary).resources;
    const inPostgres = await waitFor(
      `${N} rows under ${prefix} in PostgreSQL`,
      async () =>
        (
          await pg.stats.sql.unsafe<{ event_id: string }[]>(
            "select event_id::text as event_id from user_footprint where link like $1",
            [`${prefix}%`],
          )
        ).map((r) => r.event_id),
      (ids) => ids.length >= N,
    );
    const inClickhouse = await waitFor(
      `${N} rows under ${prefix} in ClickHouse`,
      async () =>
        (
          await (
            await ch.stats.client.query({
              query:
                "SELECT toString(event_id) AS event_id FROM user_footprint WHERE startsWith(link, {prefix:String})",
              query_params: { prefix },
              format: "JSONEachRow",
            })
          ).json<{ event_id: string }>()
        ).map((r) => r.event_id),
      (ids) => ids.length >= N,
    );
    return { inPostgres: inPostgres.sort(), inClickhouse: inClickhouse.sort() };
  };

  for (const runtime of RUNTIMES) {
    test(`${runtime}: ${N} requests → ${N} rows in both stores, with the ids the app's recorder made`, async () => {
      const started = Date.now();
      const app = await startRuntimeApp(apps as RuntimeApps, runtime, closedPort(), {
        url: `${pipeline?.app.url}/_footprint/api/v1/footprints`,
        key: KEY,
      });
      try {
        const prefix = `/hello/${runtime}-${run}-`;
        const answers = await Promise.all(
          Array.from({ length: N }, async (_, i) => {
            const response = await fetch(`${app.url}${prefix}${i}`);
            return `${response.status} ${await response.text()}`;
          }),
        );
        expect(answers).toEqual(Array.from({ length: N }, (_, i) => `200 hello ${runtime}-${run}-${i}`));

        const stats = await waitFor(
          `${runtime}'s recorder to send ${N}`,
          () => app.stats(),
          (s) => (s?.sent ?? 0) >= N,
        );
        expect(stats).toMatchObject({ sent: N, queued: 0, dropped: 0, lost: 0 });

        const { inPostgres, inClickhouse } = await storedIds(prefix);
        expect(inPostgres).toHaveLength(N);
        expect(inClickhouse).toEqual(inPostgres);
        expect(new Set(inPostgres).size).toBe(N);
        for (const id of inPostgres) expect(id).toMatch(UUID_V7);
        // A UUIDv7 carries the milliseconds it was made at: the app made these during this test.
        const madeAt = inPostgres.map((id) => Number.parseInt(id.replace("-", "").slice(0, 12), 16));
        expect(Math.min(...madeAt)).toBeGreaterThanOrEqual(started - 1000);
        expect(Math.max(...madeAt)).toBeLessThanOrEqual(Date.now() + 1000);
        // bytes_out is the body's size, however the runtime had it measured (c.text sets no
        // Content-Length; middleware.ts measures it the cheapest way for each runtime).
        const sizes = await (pipeline as PipelineBinary).resources.pg.stats.sql.unsafe<
          { link: string; bytes_out: string }[]
        >("select link, bytes_out from user_footprint where link like $1", [`${prefix}%`]);
        expect(sizes.filter((r) => Number(r.bytes_out) !== `hello ${r.link.slice("/hello/".length)}`.length)).toEqual(
          [],
        );
      } finally {
        await app.stop();
      }
    }, 120_000);

    test(`${runtime}: with the ingest endpoint gone the app still answers every request, and the loss is counted and reported`, async () => {
      const app = await startRuntimeApp(apps as RuntimeApps, runtime, closedPort(), {
        url: `http://127.0.0.1:${closedPort()}/_footprint/api/v1/footprints`,
        key: KEY,
      });
      try {
        const statuses = await Promise.all(
          Array.from({ length: N }, async (_, i) => {
            const response = await fetch(`${app.url}/hello/dead-${i}`);
            await response.arrayBuffer();
            return response.status;
          }),
        );
        expect(statuses).toEqual(Array.from({ length: N }, () => 200));
        const stats = await waitFor(
          `${runtime}'s recorder to count failed sends`,
          () => app.stats(),
          (s) => s !== null && s.retries + s.lost + s.dropped > 0,
        );
        expect(stats?.sent).toBe(0);
        // The default error reporter: one line at once, prefixed with the library's name.
        await waitFor(
          `${runtime}'s app to report the failure`,
          async () => app.output(),
          (out) => /eft-footprint: /.test(out),
        );
      } finally {
        await app.stop();
      }
    }, 120_000);
  }
});
