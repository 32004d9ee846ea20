/** What the bench reports it ran on, asked of the stack's real PostgreSQL and ClickHouse endpoint. */
import { expect, test } from "bun:test";
import { createClient } from "@clickhouse/client-web";
import postgres from "postgres";
import { stackEnv } from "../../test/support/stack.ts";
import { describeBenchServers, POSTGRES_SETTINGS } from "./servers.ts";

test("the servers say their versions and settings, and the development endpoint is told from a server", async () => {
  const stack = await stackEnv();
  const sql = postgres(stack.databaseUrl, { max: 1 });
  const client = createClient({ url: stack.clickhouseUrl });
  try {
    const servers = await describeBenchServers(sql, client, {
      postgres: stack.databaseUrl,
      clickhouse: stack.clickhouseUrl,
    });
    const [pg] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    expect(servers.postgres.version).toBe(pg?.v as string);
    expect(Object.keys(servers.postgres.settings).sort()).toEqual([...POSTGRES_SETTINGS].sort());
    expect(servers.postgres.settings.jit).toMatch(/^(on|off)$/);
    expect(servers.postgres.host).toBe(new URL(stack.databaseUrl).host);

    const [ch] = await (await client.query({ query: "SELECT version() AS v", format: "JSONEachRow" })).json<{
      v: string;
    }>();
    expect(servers.clickhouse.version).toBe(ch?.v as string);
    expect(servers.clickhouse.maxThreads).toMatch(/^\d+$/);
    // The stack's endpoint is chdb behind HTTP (scripts/lib/stack/chdb-server.ts); a real server,
    // which says "server", always names itself in X-ClickHouse-Server-Display-Name.
    const answer = await fetch(new URL("/?query=SELECT%201", stack.clickhouseUrl));
    const realServer = answer.headers.has("x-clickhouse-server-display-name");
    expect(servers.clickhouse.kind).toBe(realServer ? "server" : "chdb");
  } finally {
    await sql.end();
    await client.close();
  }
});
