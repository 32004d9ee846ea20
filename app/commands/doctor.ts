import { sinkGroupId } from "../../consumer/consume.ts";
import { clickhouseMigrations, type Migration, postgresMigrations } from "../../sql/index.ts";
import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { createKafka } from "../../src/kafka.ts";
import { deadLetterTopic, topicMissingMessage } from "../../src/kafka-topics.ts";
import { createLogger } from "../../src/log.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { migrationStatus } from "../../src/store/migrations.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";
import { readClickhouseTtlDays } from "../../src/store/retention.ts";
import type { Store } from "../../src/store/store.ts";
import { withTimeout } from "../../src/timeout.ts";
import { explainUnreachable, type ServiceAddress, serviceAddresses } from "../unreachable.ts";
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
  const { kafka, postgres, clickhouse } = serviceAddresses(config);
  return Promise.all([
    guarded(kafka, kafka.address, timeoutMs, (r) => checkKafka(config, r)),
    guarded(postgres, redact(config.postgres.url), timeoutMs, (r) => checkPostgres(config, r)),
    guarded(clickhouse, `${config.clickhouse.url} database ${config.clickhouse.database}`, timeoutMs, (r) =>
      checkClickhouse(config, r),
    ),
  ]);
}

/** The report for a program: one JSON document with the same facts and problems as the text. */
export function reportsAsJson(reports: readonly ServiceReport[]): string {
  const services = reports.map((r) => ({ ...r, ready: r.problems.length === 0 }));
  return JSON.stringify({ ready: services.every((s) => s.ready), services }, null, 2);
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
  service: ServiceAddress,
  target: string,
  timeoutMs: number,
  check: (report: ServiceReport) => Promise<void>,
): Promise<ServiceReport> {
  const report: ServiceReport = { service: service.service, target, facts: [], problems: [] };
  try {
    await withTimeout(check(report), timeoutMs, `no answer within ${timeoutMs / 1000} s`);
  } catch (err) {
    report.problems.push(explain(service, err));
  }
  return report;
}

async function checkKafka(config: Config, report: ServiceReport): Promise<void> {
  const { brokers, topic, groupId } = config.kafka;
  const kafka = createKafka({
    clientId: `${config.kafka.clientId}-doctor`,
    brokers,
    // The report is all doctor prints; kafkajs' own complaints are in it, explained.
    logger: createLogger({ write: () => {} }),
    // Fail fast: an operator is waiting, and nothing is lost by not retrying.
    timeouts: { connectionMs: 3000, requestMs: 5000 },
    retries: 1,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    report.facts.push(`${cluster.brokers.length} broker(s), controller ${cluster.controller ?? "unknown"}`);

    const topics = await admin.listTopics();
    if (!topics.includes(topic)) {
      report.problems.push(`${topicMissingMessage(topic, config.kafka.topicPartitions)}, or set TOPIC`);
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
  const store = createPostgresStore({ url: config.postgres.url, max: 1, connectTimeoutSeconds: 5 });
  try {
    const { serverVersion: version, footprintRows } = await store.describe();
    report.facts.push(`version ${version}`);
    if (Number.parseInt(version, 10) < 14) {
      report.problems.push(`PostgreSQL ${version} is too old: eft-footprint needs 14 or newer (it is built on 17)`);
    }
    const applied = await checkMigrations(store, postgresMigrations, report);
    if (applied.length > 0) report.facts.push(`user_footprint: about ${footprintRows ?? 0} rows`);
    report.facts.push(
      config.retention.days === undefined
        ? "retention: keep forever (RETENTION_DAYS unset)"
        : `retention: rows older than ${config.retention.days} days are deleted hourly by serve/consume`,
    );
  } finally {
    await store.close().catch(() => {});
  }
}

async function checkClickhouse(config: Config, report: ServiceReport): Promise<void> {
  const { database } = config.clickhouse;
  const store = createClickhouseStore({ ...config.clickhouse, requestTimeoutMs: 5000 });
  try {
    const { serverVersion: version, databaseExists, footprintRows } = await store.describe();
    report.facts.push(`version ${version}`);
    if (Number.parseInt(version, 10) < 23) {
      report.problems.push(
        `ClickHouse ${version} is too old: eft-footprint needs 23 or newer (DateTime64, query parameters; built on 25)`,
      );
    }
    if (!databaseExists) {
      report.problems.push(`database ${database} does not exist: run eft-footprint migrate (it creates it)`);
      return;
    }
    const applied = await checkMigrations(store, clickhouseMigrations, report);
    if (applied.length === 0) return;

    report.facts.push(`user_footprint: ${footprintRows ?? 0} rows`);
    const ttl = (await readClickhouseTtlDays(store.stats.client, database)).get("user_footprint");
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
    await store.close().catch(() => {});
  }
}

/** Reports the store's schema against the migrations this binary ships; returns the versions applied. */
async function checkMigrations(
  store: Pick<Store, "appliedMigrations">,
  shipped: readonly Migration[],
  report: ServiceReport,
): Promise<string[]> {
  const applied = await store.appliedMigrations();
  const { pending, unknown } = migrationStatus(shipped, applied);
  if (applied.length === 0) {
    report.problems.push(
      "schema not created yet: run eft-footprint migrate (serve and consume also migrate at start-up)",
    );
  } else if (pending.length > 0) {
    report.problems.push(
      `migrations not applied: ${pending.map((m) => `${m.version} ${m.name}`).join(", ")}: run eft-footprint migrate`,
    );
  } else {
    report.facts.push(`schema up to date (${shipped.length} migrations)`);
  }
  if (unknown.length > 0) {
    report.problems.push(
      `the database has migrations this binary does not know (${unknown.join(", ")}): a newer eft-footprint migrated it; upgrade this one`,
    );
  }
  return applied;
}
/** Turns a client error into what an operator can act on. */
function explain(target: ServiceAddress, err: unknown): string {
  const unreachable = explainUnreachable(target, err);
  if (unreachable) return unreachable;
  const e = err as { message?: string; cause?: unknown };
  const cause = (e.cause as Error | undefined)?.message;
  const message = (cause && !e.message?.includes(cause) ? `${e.message}: ${cause}` : e.message) || String(err);
  if (
    /password authentication|authentication failed|Authentication failed|AUTHENTICATION_FAILED|no pg_hba/i.test(message)
  ) {
    return `the login was refused (${message}): check the user and password in ${target.setting}`;
  }
  if (/does not exist/.test(message) && target.service === "PostgreSQL") {
    return `${message}: create the database (createdb) or fix ${target.setting}`;
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
  help: `Usage: eft-footprint doctor [--json] [--env-file <path>]

Connects to Kafka, PostgreSQL and ClickHouse with the configured settings and says, per service,
what it found (versions, topic partitions, consumer group and lag, schema, rows, retention) and
what is wrong, in plain words. Changes nothing. Exit status 0 when everything is ready, 1 when
something is not, 2 when the settings themselves are invalid.

  --json  one JSON document instead: {"ready": bool, "services": [{"service", "target", "ready",
          "facts": [...], "problems": [...]}]}, the same facts and problems as the text
`,
  options: { json: { type: "boolean" } },
  // No logger, so nothing is written to LOG_DIR (a root-owned consumer.log there would lock the
  // service user out of it).
  async run({ values, env, envFile }) {
    const reports = await checkServices(readConfig(env, envFile));
    console.log(values.json ? reportsAsJson(reports) : formatReports(reports));
    return reports.some((r) => r.problems.length > 0) ? 1 : 0;
  },
});
