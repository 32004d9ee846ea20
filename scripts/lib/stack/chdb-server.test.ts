// Drives scripts/lib/stack/chdb-server.ts as a child process through the same client
// the product uses (@clickhouse/client-web), so it checks the wire contract, not chdb.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClickHouseClient, ClickHouseError, createClient, type ResponseJSON } from "@clickhouse/client-web";

const SCRIPT = join(import.meta.dir, "chdb-server.ts");
const T = 60_000;

type Endpoint = {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  stdout: () => string;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function start(dataDir: string, auth?: { username: string; password: string }): Promise<Endpoint> {
  const port = await freePort();
  const creds = auth ? ["--user", auth.username, "--password", auth.password] : [];
  const proc = Bun.spawn(["bun", SCRIPT, "--port", String(port), "--data-dir", dataDir, ...creds], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const decoder = new TextDecoder();
  void proc.stdout.pipeTo(
    new WritableStream({
      write: (chunk) => {
        out += decoder.decode(chunk, { stream: true });
      },
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  const probe = createClient({ url, ...auth });
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`endpoint exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
    if ((await probe.ping()).success) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error("endpoint not ready in 30s");
    }
    await Bun.sleep(20);
  }
  return { proc, url, stdout: () => out };
}

async function stop(ep: Endpoint, signal: NodeJS.Signals): Promise<number> {
  ep.proc.kill(signal);
  return await ep.proc.exited;
}

async function rejection(p: Promise<unknown>): Promise<ClickHouseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClickHouseError);
  return err as ClickHouseError;
}

const rows = async <R>(c: ClickHouseClient, query: string, query_params?: Record<string, unknown>) =>
  (await c.query({ query, query_params, format: "JSONEachRow" })).json<R>();

const ROWS = 100_000;
const SERVICES = ["api", "auth", "billing", "search", "static"];
const DDL = `CREATE TABLE eft.events (
  id UUID,
  ts DateTime64(6, 'UTC'),
  service LowCardinality(String),
  path String,
  status UInt16,
  note String DEFAULT 'none',
  path_len UInt32 DEFAULT length(path)
) ENGINE = MergeTree ORDER BY (service, ts)`;

describe("chdb-server", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "chdb-server-test-"));
  let ep: Endpoint;
  let client: ClickHouseClient; // no database, no settings
  let eft: ClickHouseClient; // database: 'eft'
  let bestEffort: ClickHouseClient; // client-wide settings, sent on every request

  beforeAll(async () => {
    ep = await start(dataDir);
    client = createClient({ url: ep.url });
    eft = createClient({ url: ep.url, database: "eft" });
    bestEffort = createClient({
      url: ep.url,
      clickhouse_settings: { date_time_input_format: "best_effort" },
    });
  }, T);

  afterAll(async () => {
    if (ep && ep.proc.exitCode === null) await stop(ep, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("logs a ready line and answers ping through the engine", async () => {
    const ready = JSON.parse(ep.stdout().split("\n")[0] ?? "");
    const v = (await rows<{ v: string }>(client, "SELECT version() AS v"))[0]?.v;
    expect(ready).toMatchObject({
      msg: "chdb endpoint ready",
      port: Number(new URL(ep.url).port),
      version: v,
    });
    expect(v).toMatch(/^2\d\.\d+/);
    expect(await client.ping()).toEqual({ success: true });
  });

  test("DDL via command(); client-wide settings do not become table settings", async () => {
    // async_insert is also a MergeTree setting name: appended as `SETTINGS …` to
    // the CREATE it would be stored with the table.
    const ddl = createClient({
      url: ep.url,
      clickhouse_settings: {
        date_time_input_format: "best_effort",
        async_insert: 1,
      },
    });
    await ddl.command({ query: "CREATE DATABASE eft" });
    await ddl.command({ query: DDL });
    const statement = (await rows<{ statement: string }>(client, "SHOW CREATE TABLE eft.events"))[0]?.statement;
    expect(statement).toContain("`ts` DateTime64(6, 'UTC')");
    expect(statement).toContain("`service` LowCardinality(String)");
    expect(statement).toContain("`id` UUID");
    expect(statement).not.toContain("date_time_input_format");
    expect(statement).not.toContain("async_insert");
  });

  test(
    "inserts 100k JSONEachRow rows",
    async () => {
      const values = Array.from({ length: ROWS }, (_, i) => ({
        id: crypto.randomUUID(),
        ts: `2025-05-19 00:00:00.${String(i).padStart(6, "0")}`,
        service: SERVICES[i % SERVICES.length],
        path: `/r/${i}`,
        status: 200 + (i % 5),
        note: `n${i}`,
        path_len: 0,
      }));
      const t0 = performance.now();
      await client.insert({
        table: "eft.events",
        values,
        format: "JSONEachRow",
      });
      console.log(`100k-row insert: ${Math.round(performance.now() - t0)} ms`);
      const [agg] = await rows<{
        n: string;
        ids: string;
        st: string;
        svc: string;
        max_ts: string;
      }>(
        client,
        `SELECT toString(count()) n, toString(uniqExact(id)) ids, toString(sum(status)) st,
              toString(uniqExact(service)) svc, max(ts) max_ts FROM eft.events`,
      );
      expect(agg).toEqual({
        n: String(ROWS),
        ids: String(ROWS),
        st: String(values.reduce((s, v) => s + v.status, 0)),
        svc: String(SERVICES.length),
        max_ts: "2025-05-19 00:00:00.099999",
      });
      const pick = values[12_345];
      const [row] = await rows<Record<string, unknown>>(client, "SELECT * FROM eft.events WHERE id = {id:UUID}", {
        id: pick?.id,
      });
      expect(row).toEqual({ ...pick, status: pick?.status });
    },
    T,
  );

  test("insert without a column list stores DEFAULT values for omitted fields", async () => {
    const id = crypto.randomUUID();
    await client.insert({
      table: "eft.events",
      values: [
        {
          id,
          ts: "2025-05-20 01:02:03.000004",
          service: "api",
          path: "/defaults",
          status: 201,
        },
      ],
      format: "JSONEachRow",
    });
    const [row] = await rows<{ note: string; path_len: number }>(
      client,
      "SELECT note, path_len FROM eft.events WHERE id = {id:UUID}",
      { id },
    );
    expect(row).toEqual({ note: "none", path_len: "/defaults".length });
  });

  const TRICKY = [
    "it's",
    "back\\slash",
    "\\'",
    "\\n is not a newline",
    "line1\nline2\r\n",
    "tab\there",
    'quote"double',
    "'; DROP TABLE eft.events; --",
    "üñïçødé ✓ 日本語 🦆",
    "",
    "{x:String}",
  ];

  test("query_params round-trip strings exactly (no double escaping)", async () => {
    for (const s of TRICKY) {
      const [row] = await rows<{ s: string; n: number }>(client, "SELECT {s:String} AS s, length({s:String}) AS n", {
        s,
      });
      expect(row).toEqual({ s, n: new TextEncoder().encode(s).length });
    }
    const [arr] = await rows<{ a: string[] }>(client, "SELECT {a:Array(String)} AS a", { a: TRICKY });
    expect(arr?.a).toEqual(TRICKY);
    const [typed] = await rows<Record<string, unknown>>(
      client,
      "SELECT {u:UUID} AS u, toString({n:UInt64}) AS n, {t:DateTime64(6, 'UTC')} AS t",
      {
        u: "9b2c6a4e-0000-4000-8000-00000000abcd",
        n: "18446744073709551615",
        t: "2025-05-19 04:45:30.123456",
      },
    );
    expect(typed).toEqual({
      u: "9b2c6a4e-0000-4000-8000-00000000abcd",
      n: "18446744073709551615",
      t: "2025-05-19 04:45:30.123456",
    });
  });

  test("query_params filter stored data", async () => {
    const values = TRICKY.map((path, i) => ({
      id: crypto.randomUUID(),
      ts: "2025-05-21 00:00:00",
      service: "odd",
      path,
      status: i,
    }));
    await client.insert({ table: "eft.events", values, format: "JSONEachRow" });
    for (const [i, path] of TRICKY.entries()) {
      const found = await rows<{ status: number }>(
        client,
        "SELECT status FROM eft.events WHERE service = {svc:String} AND path = {p:String}",
        { svc: "odd", p: path },
      );
      expect(found).toEqual([{ status: i }]);
    }
  });

  test("multipart query params (use_multipart_params) work too", async () => {
    const mp = createClient({ url: ep.url, use_multipart_params: true });
    const [row] = await rows<{ s: string }>(mp, "SELECT {s:String} AS s", {
      s: TRICKY.join("|"),
    });
    expect(row?.s).toBe(TRICKY.join("|"));
  });

  test("default JSON format and JSONEachRow", async () => {
    const rs = await client.query({
      query: "SELECT toUInt8(1) AS a, 'x' AS b",
    });
    expect(rs.response_headers["x-clickhouse-format"]).toBe("JSON");
    const json = (await rs.json()) as ResponseJSON<{ a: number; b: string }>;
    expect(json.meta).toEqual([
      { name: "a", type: "UInt8" },
      { name: "b", type: "String" },
    ]);
    expect(json.data).toEqual([{ a: 1, b: "x" }]);
    expect(json.rows).toBe(1);

    const each = await client.query({
      query: "SELECT toString(number) AS n FROM numbers(3)",
      format: "JSONEachRow",
    });
    expect(each.response_headers["x-clickhouse-format"]).toBe("JSONEachRow");
    expect(await each.text()).toBe('{"n":"0"}\n{"n":"1"}\n{"n":"2"}\n');
  });

  test("the query summary says only what the engine measured: its own elapsed time, the result's size", async () => {
    const rs = await client.query({ query: "SELECT count() AS c FROM numbers(1000000)", format: "JSONEachRow" });
    expect(await rs.json()).toEqual([{ c: 1000000 }]);
    const summary = JSON.parse(String(rs.response_headers["x-clickhouse-summary"]));
    // No read_rows: chdb does not say how many rows it scanned (a million here), only the result's.
    expect(Object.keys(summary).sort()).toEqual(["elapsed_ns", "result_bytes", "result_rows"]);
    expect(summary.result_rows).toBe("1");
    expect(Number(summary.elapsed_ns)).toBeGreaterThan(0);
  });

  test("raw HTTP: no FORMAT means TabSeparated, default_format is honoured", async () => {
    const tsv = await fetch(`${ep.url}/`, {
      method: "POST",
      body: "SELECT 1, 'a\\tb'",
    });
    expect(tsv.status).toBe(200);
    expect(tsv.headers.get("x-clickhouse-format")).toBe("TabSeparated");
    expect(await tsv.text()).toBe("1\ta\\tb\n");
    const csv = await fetch(`${ep.url}/?default_format=CSV`, {
      method: "POST",
      body: "SELECT 1, 'a'",
    });
    expect(await csv.text()).toBe('1,"a"\n');
  });

  test("a RowBinary insert in the POST body is stored byte for byte, empty lines ('\\n\\n') in the data too", async () => {
    await client.command({
      query: "CREATE TABLE IF NOT EXISTS default.rb (n UInt64, s String) ENGINE = MergeTree ORDER BY n",
    });
    // Rows (n UInt64 little-endian, s as length + bytes); 0x0a0a and "\n\n" inside both columns.
    const body = Buffer.concat([
      Buffer.from("0a0a000000000000", "hex"),
      Buffer.from([4]),
      Buffer.from("a\n\nb"),
      Buffer.from("0100000000000000", "hex"),
      Buffer.from([0]),
    ]);
    const query = encodeURIComponent("INSERT INTO default.rb (n, s) FORMAT RowBinary");
    const res = await fetch(`${ep.url}/?query=${query}`, { method: "POST", body });
    expect([res.status, await res.text()]).toEqual([200, ""]);
    const rs = await client.query({
      query: "SELECT toString(n) AS n, s FROM default.rb ORDER BY n",
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([
      { n: "1", s: "" },
      { n: String(0x0a0a), s: "a\n\nb" },
    ]);
  });

  test("database in client config resolves tables there, and does not leak", async () => {
    const [r] = await rows<{ db: string; n: string }>(
      eft,
      "SELECT currentDatabase() AS db, toString(count()) AS n FROM events WHERE service = 'odd'",
    );
    expect(r).toEqual({ db: "eft", n: String(TRICKY.length) });
    // the next request without `database` is back in default
    const [d] = await rows<{ db: string }>(client, "SELECT currentDatabase() AS db");
    expect(d?.db).toBe("default");
    expect((await rejection(client.query({ query: "SELECT count() FROM events" }))).code).toBe("60");
  });

  test("client clickhouse_settings reach the engine per request and are reset afterwards", async () => {
    const iso = "2025-05-19T13:45:30.123456+09:00";
    const id = crypto.randomUUID();
    const row = { id, ts: iso, service: "tz", path: "/tz", status: 200 };
    await bestEffort.insert({
      table: "eft.events",
      values: [row],
      format: "JSONEachRow",
    });
    const [got] = await rows<{ ts: string; us: string }>(
      client,
      "SELECT ts, toString(toUnixTimestamp64Micro(ts)) AS us FROM eft.events WHERE id = {id:UUID}",
      { id },
    );
    expect(got).toEqual({
      ts: "2025-05-19 04:45:30.123456",
      us: String(Date.parse(iso) * 1000 + 456),
    });

    // This engine's default is already best_effort, so prove the value is really
    // applied: 'basic' must reject the same row...
    const basic = createClient({
      url: ep.url,
      clickhouse_settings: { date_time_input_format: "basic" },
    });
    const [s] = await rows<{ v: string }>(basic, "SELECT getSetting('date_time_input_format') AS v");
    expect(s?.v).toBe("basic");
    const err = await rejection(
      basic.insert({
        table: "eft.events",
        values: [row],
        format: "JSONEachRow",
      }),
    );
    expect(err.code).toBe("27");
    // ...and must not stick to the session for the next request.
    const [after] = await rows<{ v: string }>(client, "SELECT getSetting('date_time_input_format') AS v");
    expect(after?.v).not.toBe("basic");
    // per-query settings too
    const rs = await client.query({
      query: "SELECT toString(getSetting('max_threads')) AS v",
      format: "JSONEachRow",
      clickhouse_settings: { max_threads: 1 },
    });
    expect(await rs.json()).toEqual([{ v: "1" }]);
  });

  test("errors reject with ClickHouseError carrying the ClickHouse code and type", async () => {
    // Not "SELEC 1": the message echoes "(SELEC)", which the client's parser takes for the type.
    const syntax = await rejection(client.query({ query: "SELECT 1 1 1" }));
    expect([syntax.code, syntax.type]).toEqual(["62", "SYNTAX_ERROR"]);
    const unknown = await rejection(client.query({ query: "SELECT * FROM eft.nope" }));
    expect([unknown.code, unknown.type]).toEqual(["60", "UNKNOWN_TABLE"]);
    expect(unknown.message).toContain("nope");
    const cmd = await rejection(client.command({ query: "CREATE DATABASE eft" }));
    expect([cmd.code, cmd.type]).toEqual(["82", "DATABASE_ALREADY_EXISTS"]);
    const bad = await rejection(
      client.insert({
        table: "eft.events",
        values: [{ id: "not-a-uuid" }],
        format: "JSONEachRow",
      }),
    );
    expect(bad.type).toMatch(/^CANNOT_PARSE/);
    const setting = await rejection(
      client.query({
        query: "SELECT 1",
        clickhouse_settings: { no_such_setting_x: 1 } as never,
      }),
    );
    expect([setting.code, setting.type]).toEqual(["115", "UNKNOWN_SETTING"]);

    const raw = await fetch(`${ep.url}/?query=SELECT%20*%20FROM%20eft.nope`);
    expect(raw.status).toBe(404);
    expect(raw.headers.get("x-clickhouse-exception-code")).toBe("60");
    expect(await raw.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\) \(version 2\d\./s);
    // still healthy after errors (the request lock is released)
    expect(await rows(client, "SELECT 1 AS x")).toEqual([{ x: 1 }]);
  });

  test("concurrent requests keep their own params, database and settings", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const c = i % 2 ? eft : client;
        const rs = await c.query({
          query:
            "SELECT {i:UInt32} AS i, {s:String} AS s, currentDatabase() AS db, toString(getSetting('max_threads')) AS mt",
          query_params: { i, s: `v'${i}\\` },
          format: "JSONEachRow",
          clickhouse_settings: { max_threads: (i % 3) + 1 },
        });
        return rs.json();
      }),
    );
    results.forEach((r, i) => {
      expect(r).toEqual([
        {
          i,
          s: `v'${i}\\`,
          db: i % 2 ? "eft" : "default",
          mt: String((i % 3) + 1),
        },
      ]);
    });
  });

  test("a query is fast", async () => {
    const t0 = performance.now();
    const [r] = await rows<{ n: string }>(client, "SELECT count() AS n FROM eft.events WHERE service = {s:String}", {
      s: "api",
    });
    console.log(`count query: ${Math.round(performance.now() - t0)} ms`);
    expect(Number(r?.n)).toBe(ROWS / SERVICES.length + 1);
  });

  test(
    "SIGTERM exits 0, SIGKILL loses nothing committed; data survives restarts",
    async () => {
      const count = async () =>
        (await rows<{ n: string }>(client, "SELECT toString(count()) AS n FROM eft.events"))[0]?.n;
      const before = await count();
      expect(Number(before)).toBeGreaterThan(ROWS);

      expect(await stop(ep, "SIGTERM")).toBe(0);
      expect(ep.stdout()).toContain('"msg":"chdb endpoint stopped"');
      ep = await start(dataDir);
      client = createClient({ url: ep.url });
      expect(await count()).toBe(before);

      await client.insert({
        table: "eft.events",
        values: [
          {
            id: crypto.randomUUID(),
            ts: "2025-06-01 00:00:00",
            service: "late",
            path: "/",
            status: 1,
          },
        ],
        format: "JSONEachRow",
      });
      await stop(ep, "SIGKILL");
      ep = await start(dataDir);
      client = createClient({ url: ep.url });
      expect(await count()).toBe(String(Number(before) + 1));
      const statement = (await rows<{ statement: string }>(client, "SHOW CREATE TABLE eft.events"))[0]?.statement;
      expect(statement).toContain("DateTime64(6, 'UTC')");
    },
    T,
  );
});

test(
  "with --user/--password, only matching credentials are accepted",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "chdb-server-auth-"));
    const auth = { username: "eft", password: "s3:cret" };
    let ep: Endpoint | undefined;
    try {
      ep = await start(dir, auth);
      const ok = createClient({ url: ep.url, ...auth });
      expect(await rows(ok, "SELECT 1 AS x")).toEqual([{ x: 1 }]);
      const wrong = createClient({ url: ep.url, ...auth, password: "nope" });
      const err = await rejection(wrong.query({ query: "SELECT 1" }));
      expect([err.code, err.type]).toEqual(["516", "AUTHENTICATION_FAILED"]);
      expect((await wrong.ping()).success).toBe(false);
    } finally {
      if (ep) await stop(ep, "SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  },
  T,
);
