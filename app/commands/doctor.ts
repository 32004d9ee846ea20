import { createClient } from "@clickhouse/client-web";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { sinkGroupId } from "../../consumer/consume.ts";
import { deadLetterTopic } from "../../consumer/dead-letter.ts";
import { clickhouseMigrations, type Migration, postgresMigrations } from "../../sql/index.ts";
import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { readClickhouseTtlDays } from "../../src/store/retention.ts";
import { defineCommand } from "./command.ts";

/** One service's verdict: what was found, and what is wrong in plain words (empty: all good). */
export type ServiceReport = { service: string; target: string; facts: string[]; problems: string[] };

export type DoctorOptions = { timeoutMs?: number };

/**
 * `eft-footprint doctor`: connects to every configured service the way serve and consume do and
 * says, per service, what it found and what is wrong: unreachable, wrong credentials, topic
 * missing, schema not migrated (or migrated by a newer version), TTL not matching RETENTION_DAYS.
 * Read-only: it creates, migrates and changes nothing.
 */
export async function checkServices(config: Config, options: DoctorOptions = {}): Promise<ServiceReport[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return Promise.all([
    guarded("Kafka", config.kafka.brokers.join(","), timeoutMs, (r) => checkKafka(config, r)),
    guarded("PostgreSQL", redact(config.postgres.url), timeoutMs, (r) => checkPostgres(config, r)),
    guarded("ClickHouse", `${config.clickhouse.url} database ${config.clickhouse.database}`, timeoutMs, (r) =>
      checkClickhouse(config, r),
    ),
  ]);
}

/** The report as an operator reads it; the last line sums up. */
export function formatReports(reports: readonly ServiceReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.problems.length ? "FAIL" : "ok  "}  ${r.service.padEnd(10)}  ${r.target}`);
    for (const fact of r.facts) lines.push(`        ${fact}`);
    for (const problem of r.problems) lines.push(`      ! ${problem}`);
  }
  const failed = reports.filter((r) => r.problems.length > 0).map((r) => r.service);
  lines.push("");
  lines.push(failed.length ? `Not ready: ${failed.join(", ")} (see "!" above).` : "All services are ready.");
  return lines.join("\n");
}

async function guarded(
  service: string,
  target: string,
  timeoutMs: number,
  check: (report: ServiceReport) => Promise<void>,
): Promise<ServiceReport> {
  const report: ServiceReport = { service, target, facts: [], problems: [] };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(report),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    report.problems.push(explain(service, err));
  } finally {
    clearTimeout(timer);
  }
  return report;
}

async function checkKafka(config: Config, report: ServiceReport): Promise<void> {
  const { brokers, topic, groupId } = config.kafka;
  const kafka = new Kafka({
    clientId: `${config.kafka.clientId}-doctor`,
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 1, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    report.facts.push(`${cluster.brokers.length} broker(s), controller ${cluster.controller ?? "unknown"}`);

    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      report.problems.push(
        `topic ${topic} does not exist: create it (e.g. kafka-topics.sh --create --topic ${topic} --partitions 3), or set TOPIC; eft-footprint never creates topics`,
      );
      return;
    }
    const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const partitions = meta?.partitions.length ?? 0;
    const ends = await admin.fetchTopicOffsets(topic);
    const total = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    report.facts.push(`topic ${topic}: ${partitions} partition(s), ${total} message(s) held`);

    const dlq = deadLetterTopic(topic);
    if (topics.includes(dlq)) {
      const held = (await admin.fetchTopicOffsets(dlq)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      report.facts.push(`dead letters: ${held} message(s) in ${dlq}`);
    }

    // Each store is fed by its own group (consumer/consume.ts), so each has its own lag.
    const high = new Map(ends.map((p) => [p.partition, Number(p.high)]));
    for (const store of ["postgres", "clickhouse"] as const) {
      const group = sinkGroupId(groupId, { name: store });
      const [described] = (await admin.describeGroups([group])).groups;
      const members = described?.members.length ?? 0;
      const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
      if (committed.every((p) => Number(p.offset) < 0)) {
        report.facts.push(
          `group ${group}: ${members} consumer(s), nothing committed yet (starts ${config.kafka.fromBeginning ? "at the earliest message" : "at the latest message"}, or where group ${groupId} stopped)`,
        );
      } else {
        const lag = committed.reduce(
          (sum, p) => sum + Math.max(0, (high.get(p.partition) ?? 0) - Math.max(0, Number(p.offset))),
          0,
        );
        report.facts.push(
          `group ${group}: ${described?.state ?? "unknown"}, ${members} consumer(s), lag ${lag} message(s)`,
        );
      }
      if (members > partitions && partitions > 0) {
        report.facts.push(
          `note: ${members} consumers share ${partitions} partition(s) in ${group}: ${members - partitions} idle`,
        );
      }
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function checkPostgres(config: Config, report: ServiceReport): Promise<void> {
  const sql = postgres(config.postgres.url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [row] = await sql<{ server_version: string }[]>`show server_version`;
    const version = row?.server_version ?? "unknown";
    report.facts.push(`version ${version}`);
    if (Number.parseInt(version, 10) < 14) {
      report.problems.push(`PostgreSQL ${version} is too old: eft-footprint needs 14 or newer (it is built on 17)`);
    }
    const [table] = await sql<{ exists: boolean }[]>`select to_regclass('eft_schema_migrations') is not null as exists`;
    const applied = table?.exists
      ? (await sql<{ version: string }[]>`select version from eft_schema_migrations`).map((r) => r.version)
      : [];
    checkMigrations(postgresMigrations, applied, report);
    if (applied.length > 0) {
      const [estimate] = await sql<{ n: number }[]>`
        select greatest(reltuples, 0)::float8 as n from pg_class where oid = to_regclass('user_footprint')`;
      report.facts.push(`user_footprint: about ${Math.round(estimate?.n ?? 0)} rows`);
    }
    report.facts.push(
      config.retention.days === undefined
        ? "retention: keep forever (RETENTION_DAYS unset)"
        : `retention: rows older than ${config.retention.days} days are deleted hourly by serve/consume`,
    );
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
}

async function checkClickhouse(config: Config, report: ServiceReport): Promise<void> {
  const { url, username, password, database } = config.clickhouse;
  const client = createClient({ url, username, password, request_timeout: 5000 });
  const query = async <T>(text: string, params: Record<string, unknown> = {}) =>
    (await client.query({ query: text, query_params: params, format: "JSONEachRow" })).json<T>();
  try {
    const [row] = await query<{ v: string }>("SELECT version() AS v");
    const version = row?.v ?? "unknown";
    report.facts.push(`version ${version}`);
    if (Number.parseInt(version, 10) < 23) {
      report.problems.push(
        `ClickHouse ${version} is too old: eft-footprint needs 23 or newer (DateTime64, query parameters; built on 25)`,
      );
    }
    const [db] = await query<{ n: number | string }>(
      "SELECT count() AS n FROM system.databases WHERE name = {d:String}",
      {
        d: database,
      },
    );
    if (Number(db?.n) === 0) {
      report.problems.push(`database ${database} does not exist: run eft-footprint migrate (it creates it)`);
      return;
    }
    const [table] = await query<{ n: number | string }>(
      "SELECT count() AS n FROM system.tables WHERE database = {d:String} AND name = 'eft_schema_migrations'",
      { d: database },
    );
    const applied =
      Number(table?.n) > 0
        ? (await query<{ version: string }>(`SELECT DISTINCT version FROM \`${database}\`.eft_schema_migrations`)).map(
            (r) => r.version,
          )
        : [];
    checkMigrations(clickhouseMigrations, applied, report);
    if (applied.length === 0) return;

    const [rows] = await query<{ n: number | string | null }>(
      "SELECT total_rows AS n FROM system.tables WHERE database = {d:String} AND name = 'user_footprint'",
      { d: database },
    );
    report.facts.push(`user_footprint: ${Number(rows?.n ?? 0)} rows`);
    const ttl = (await readClickhouseTtlDays(client, database)).get("user_footprint");
    const wanted = config.retention.days;
    if (ttl === wanted) {
      report.facts.push(wanted === undefined ? "TTL: none (RETENTION_DAYS unset)" : `TTL: ${wanted} days`);
    } else {
      const has = ttl === undefined ? "no TTL" : ttl === -1 ? "a TTL set by hand" : `a TTL of ${ttl} days`;
      const want = wanted === undefined ? "none (RETENTION_DAYS unset)" : `${wanted} days (RETENTION_DAYS)`;
      report.problems.push(
        `user_footprint has ${has} but the setting says ${want}: run eft-footprint migrate (serve and consume apply it at start-up too)`,
      );
    }
  } finally {
    await client.close().catch(() => {});
  }
}

function checkMigrations(shipped: readonly Migration[], applied: readonly string[], report: ServiceReport): void {
  const known = new Set(shipped.map((m) => m.version));
  const missing = shipped.filter((m) => !applied.includes(m.version)).map((m) => `${m.version} ${m.name}`);
  const unknown = applied.filter((v) => !known.has(v)).sort();
  if (applied.length === 0) {
    report.problems.push(
      "schema not created yet: run eft-footprint migrate (serve and consume also migrate at start-up)",
    );
  } else if (missing.length > 0) {
    report.problems.push(`migrations not applied: ${missing.join(", ")}: run eft-footprint migrate`);
  } else {
    report.facts.push(`schema up to date (${shipped.length} migrations)`);
  }
  if (unknown.length > 0) {
    report.problems.push(
      `the database has migrations this binary does not know (${unknown.join(", ")}): a newer eft-footprint migrated it; upgrade this one`,
    );
  }
}

/** Turns a client error into what an operator can act on. */
function explain(service: string, err: unknown): string {
  const e = err as { message?: string; code?: string; cause?: unknown; name?: string };
  const cause = (e.cause as Error | undefined)?.message;
  const message = (cause && !e.message?.includes(cause) ? `${e.message}: ${cause}` : e.message) || String(err);
  const setting = {
    Kafka: "KAFKA_BROKERS",
    PostgreSQL: "DATABASE_URL (or DB_HOST, DB_PORT)",
    ClickHouse: "CLICKHOUSE_URL (or CH_HOST, CH_PORT)",
  }[service];
  if (/ECONNREFUSED|Connection error|connect(ion)? refused|Unable to connect|ConnectionRefused/i.test(message)) {
    return `cannot connect (${message}): is ${service} running there, and is ${setting} right?`;
  }
  if (/ENOTFOUND|getaddrinfo|EAI_AGAIN/i.test(message)) {
    return `the host name does not resolve (${message}): check ${setting}`;
  }
  if (
    /password authentication|authentication failed|Authentication failed|AUTHENTICATION_FAILED|no pg_hba/i.test(message)
  ) {
    return `the login was refused (${message}): check the user and password in ${setting}`;
  }
  if (/does not exist/.test(message) && service === "PostgreSQL") {
    return `${message}: create the database (createdb) or fix ${setting}`;
  }
  if (/no answer within|timeout|timed out/i.test(message)) {
    return `no answer (${message}): a firewall, a wrong port, or an overloaded ${service}? check ${setting}`;
  }
  return message;
}

/** The URL without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export const doctorCommand = defineCommand({
  name: "doctor",
  summary: "check every configured service (reachable, version, topic, group, schema, TTL)",
  help: `Usage: eft-footprint doctor [--env-file <path>]

Connects to Kafka, PostgreSQL and ClickHouse with the configured settings and says, per service,
what it found (versions, topic partitions, consumer group and lag, schema, rows, retention) and
what is wrong, in plain words. Changes nothing. Exit status 0 when everything is ready, 1 when
something is not, 2 when the settings themselves are invalid.
`,
  options: {},
  // No logger, so nothing is written to LOG_DIR (a root-owned consumer.log there would lock the
  // service user out of it).
  async run({ env, envFile }) {
    const reports = await checkServices(readConfig(env, envFile));
    console.log(formatReports(reports));
    return reports.some((r) => r.problems.length > 0) ? 1 : 0;
  },
});
