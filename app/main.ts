import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { AppError } from "../src/errors.ts";
import { commit, version } from "../src/version.ts";
import { runBenchCommand } from "./commands/bench.ts";
import { runConsume } from "./commands/consume.ts";
import { createRootLogger, readConfig } from "./commands/context.ts";
import { runDlq } from "./commands/dlq.ts";
import { checkServices, formatReports } from "./commands/doctor.ts";
import { runHealthcheck } from "./commands/healthcheck.ts";
import { hostSystem, runInstall, runUninstall } from "./commands/install.ts";
import { runMigrate } from "./commands/migrate.ts";
import { runServe } from "./commands/serve.ts";

const HELP: Record<string, string> = {
  main: `eft-footprint ${version}: records every request of a web service through Kafka into
PostgreSQL and ClickHouse, and shows traffic statistics from either.

Usage: eft-footprint <command> [options]

Commands:
  serve     HTTP app (footprint middleware, dashboard, health) and the consumer in one process
  consume   the consumer alone; run several with one GROUP_ID to scale out
  migrate   apply pending schema migrations to PostgreSQL and ClickHouse, then exit
  dlq       list the dead-letter topic (<TOPIC>.dlq), or replay its messages after a fix
  bench     time PostgreSQL vs ClickHouse: bulk load, dashboard queries, ingest, the old way
  doctor    check every configured service (reachable, version, topic, group, schema, TTL)
  healthcheck  exit 0 when serve on this host answers /healthz (container HEALTHCHECK)
  install   (root) install the binary, systemd units, service user, env template, directories
  uninstall (root) stop and remove what install put in place; --purge also data, env and user

Options:
  --env-file <path>  read settings from this file (default: ./.env when present);
                     the process environment wins over the file
  --version          print version and commit
  -h, --help         help for a command: eft-footprint <command> --help
`,
  serve: `Usage: eft-footprint serve [--no-consumer] [--demo | --upstream <url>] [--env-file <path>]

Serves HTTP on HOST:PORT (default 0.0.0.0:8080), records a footprint of every request to Kafka
(TOPIC) without waiting for it, and runs the consumer that stores footprints in PostgreSQL and
ClickHouse in the same process.

Our pages under PATH_PREFIX (the dashboard) need a login: DASHBOARD_TOKEN, or DASHBOARD_USER with
DASHBOARD_PASSWORD; with neither, a token is made up and a login link is logged once. SESSION_SECRET
keeps sessions valid across restarts.

  --no-consumer  do not run the consumer here (run 'eft-footprint consume' elsewhere)
  --demo         also serve a small demo site under /api/v1/ (items, quests, ...) to record
  --upstream <url>
                 reverse-proxy mode (or UPSTREAM_URL): forward every request outside PATH_PREFIX
                 and /healthz, /readyz to this site and record it; WebSocket upgrades get a 501.
                 RECORD=false proxies without recording; RECORD_QUERY=true also records query
                 strings; TRUST_PROXY=<hops> believes X-Forwarded-For from proxies in front.
                 INGEST_KEYS enables POST PATH_PREFIX/api/v1/footprints (header X-Footprint-Key)
  --env-file     read settings from this file
`,
  consume: `Usage: eft-footprint consume [--env-file <path>]

Reads footprints from Kafka (TOPIC) and writes them in batches (BATCH_SIZE messages per partition
or BATCH_FLUSH_MS, whichever first) to PostgreSQL and ClickHouse, each store through its own
consumer group (GROUP_ID-postgres, GROUP_ID-clickhouse): a store that is down pauses only its own
group, which retries and resumes by itself. An offset is committed only once its message is stored
in that store or sent to the dead-letter topic TOPIC.dlq (see 'eft-footprint dlq --help').
Serves /metrics, /healthz and /readyz on METRICS_PORT (default 9464). Stops on SIGTERM/SIGINT,
finishing its current batches within SHUTDOWN_TIMEOUT_MS.
`,
  doctor: `Usage: eft-footprint doctor [--env-file <path>]

Connects to Kafka, PostgreSQL and ClickHouse with the configured settings and says, per service,
what it found (versions, topic partitions, consumer group and lag, schema, rows, retention) and
what is wrong, in plain words. Changes nothing. Exit status 0 when everything is ready, 1 when
something is not, 2 when the settings themselves are invalid.
`,
  healthcheck: `Usage: eft-footprint healthcheck [--url <url>] [--env-file <path>]

GETs /healthz of serve on this host (HOST, PORT; a wildcard HOST means 127.0.0.1) and exits 0
when it answers 200, 1 otherwise: a HEALTHCHECK for images without curl.

  --url <url>  check this URL instead
`,
  install: `Usage: eft-footprint install [--prefix <root>]

Installs this binary as /usr/local/bin/eft-footprint, the systemd units eft-footprint.service
(serve) and eft-footprint-consume@.service (extra consumers), the system user eft-footprint,
/etc/eft-footprint/env (a template with every setting; never overwritten, env.example beside it is
refreshed), /var/lib/eft-footprint and /var/log/eft-footprint. Safe to run again (upgrades the
binary and units). Needs root; it does not start anything.

  --prefix <root>  write the files under <root> instead of /, and only print the commands a real
                   install would run (useradd, chown, systemctl): for packaging and checking
`,
  uninstall: `Usage: eft-footprint uninstall [--purge] [--prefix <root>]

Stops and disables the units (consume@ instances too), removes them and the binary. Keeps
/etc/eft-footprint/env, /var/lib/eft-footprint, /var/log/eft-footprint and the user unless --purge.

  --purge          also remove the env file, the data and log directories and the user
  --prefix <root>  as for install
`,
  migrate: `Usage: eft-footprint migrate [--env-file <path>]

Applies pending migrations to PostgreSQL (DATABASE_URL or DB_*) and ClickHouse (CLICKHOUSE_URL or
CH_*, database CLICKHOUSE_DATABASE), recording them in eft_schema_migrations. Safe to run twice.
`,
};

HELP.bench = `Usage: eft-footprint bench [--sizes 10000,100000,1000000] [--reps 20] [--seed 42] [--out docs]
                          [--ingest-rates 1000,...] [--step-seconds 10] [--backlog 100000]
                          [--row-by-row-sample 500] [--env-file <path>]

Measures, on fresh databases eft_bench_<random> (PostgreSQL and ClickHouse) and a fresh topic
eft-bench-<random> beside the configured ones (DATABASE_URL, CLICKHOUSE_URL, KAFKA_BROKERS; never
the user's tables; all dropped at the end), and writes <out>/BENCHMARKS.md, benchmarks.json and
benchmarks.svg. Progress and ETA on stderr. The default run takes about 10 minutes; 10M rows is
opt-in (--sizes 10000,100000,1000000,10000000).

  --sizes        (or none: skip) rows loaded per size: synthetic footprints over 30 days, deterministic from --seed,
                 loaded with COPY (PostgreSQL) and 100k-row INSERTs (ClickHouse), rows/s reported
  --reps         warm runs of each dashboard query (top, total, time-of-day, heatmap, timeseries),
                 raw and from rollups, per store: median, p95 and the PG/CH ratio
  --seed         seed of the synthetic data (same seed, same rows)
  --out          directory for the report files (default docs)
  --ingest-rates (or none: skip) requests/s tried in turn through serve --demo (HTTP, middleware, Kafka, consumer,
                 both stores) until one is not sustained; --step-seconds each. The consumers
                 batch as configured (BATCH_SIZE, BATCH_FLUSH_MS)
  --backlog      messages in the backlog both consumers read (ours vs one INSERT per message);
                 0 skips it. The row-by-row one is timed on --row-by-row-sample messages and
                 extrapolated
`;

HELP.dlq = `Usage: eft-footprint dlq list [--limit <n>] [--json] | dlq replay [--dry-run] [--env-file <path>]

Messages the consumer could not store (not JSON, not UTF-8, empty, too large, invalid fields) are
never retried: they go to the topic <TOPIC>.dlq with headers eft-error-code, eft-error-message,
eft-source-topic, eft-source-partition, eft-source-offset, eft-source-timestamp and
eft-dead-lettered-at.

  list      one line per dead letter: dlq partition:offset, when, error code, source
            topic/partition/offset, reason, start of the value; a summary per code on stderr.
            A letter written twice (a crash before its commit) is shown once.
  --limit   only the last <n>
  --json    one JSON object per line instead (the value in base64)
  replay    send every dead letter not replayed before back to its source topic, unchanged, with
            header eft-origin (its first position: a message without event_id keeps the event id
            it would have had). Progress is kept as consumer group <GROUP_ID>-dlq-replay, so each
            is sent once; one still invalid comes back to the dead-letter topic.
  --dry-run count what replay would send, send nothing
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
      "env-file": { type: "string" },
      "no-consumer": { type: "boolean" },
      demo: { type: "boolean" },
      upstream: { type: "string" },
      prefix: { type: "string" },
      purge: { type: "boolean" },
      url: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
      "dry-run": { type: "boolean" },
      seed: { type: "string" },
      sizes: { type: "string" },
      reps: { type: "string" },
      out: { type: "string" },
      "ingest-rates": { type: "string" },
      "step-seconds": { type: "string" },
      backlog: { type: "string" },
      "row-by-row-sample": { type: "string" },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    console.log(`eft-footprint ${version} (${commit})`);
    return 0;
  }
  // `dlq` takes its action as a second word.
  const action = command === "dlq" ? rest.shift() : undefined;
  if (rest.length > 0) throw new AppError("USAGE", `unexpected argument: ${rest[0]}`);
  if (!command || values.help) {
    console.log(HELP[command ?? "main"] ?? HELP.main);
    return command && !HELP[command] ? 2 : 0;
  }
  if (!HELP[command] || command === "main") throw new AppError("USAGE", `unknown command: ${command}`);
  if (command !== "serve" && (values["no-consumer"] || values.demo || values.upstream !== undefined)) {
    throw new AppError("USAGE", `--no-consumer, --demo and --upstream are options of serve, not ${command}`);
  }

  if ((values.limit !== undefined || values.json || values["dry-run"]) && command !== "dlq") {
    throw new AppError("USAGE", `--limit, --json and --dry-run are options of dlq, not ${command}`);
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new AppError("USAGE", `--limit must be a whole number above 0, not ${values.limit}`);
  }
  const benchFlags = {
    seed: values.seed,
    sizes: values.sizes,
    reps: values.reps,
    out: values.out,
    "ingest-rates": values["ingest-rates"],
    "step-seconds": values["step-seconds"],
    backlog: values.backlog,
    "row-by-row-sample": values["row-by-row-sample"],
  };
  if (command !== "bench" && Object.values(benchFlags).some((v) => v !== undefined)) {
    throw new AppError(
      "USAGE",
      `--sizes, --reps, --seed, --out, --ingest-rates, --step-seconds, --backlog and --row-by-row-sample are options of bench, not ${command}`,
    );
  }
  if (values.url !== undefined && command !== "healthcheck") {
    throw new AppError("USAGE", `--url is an option of healthcheck, not ${command}`);
  }
  if ((values.prefix !== undefined || values.purge) && command !== "install" && command !== "uninstall") {
    throw new AppError("USAGE", `--prefix and --purge are options of install and uninstall, not ${command}`);
  }
  if (command === "install" || command === "uninstall") {
    if (!Bun.main.startsWith("/$bunfs/")) {
      throw new AppError("USAGE", `${command} works from the compiled binary only: build it with ./compile.sh`);
    }
    const root = resolve(values.prefix ?? "/");
    const target = { root, live: root === "/", system: hostSystem(), print: (line: string) => console.log(line) };
    if (command === "install") runInstall({ ...target, binary: process.execPath });
    else runUninstall({ ...target, purge: Boolean(values.purge) });
    return 0;
  }

  // --upstream is UPSTREAM_URL given on the command line, validated the same way.
  const env = values.upstream === undefined ? process.env : { ...process.env, UPSTREAM_URL: values.upstream };
  const config = readConfig(env, values["env-file"]);
  if (values.demo && config.capture.upstream) {
    throw new AppError("USAGE", "--demo and --upstream (UPSTREAM_URL) are exclusive: the demo site is not proxied");
  }
  // Before any logger exists: these two write nothing to LOG_DIR (a root-owned consumer.log
  // there would lock the service user out of it).
  if (command === "doctor") {
    const reports = await checkServices(config);
    console.log(formatReports(reports));
    return reports.some((r) => r.problems.length > 0) ? 1 : 0;
  }
  if (command === "healthcheck") return runHealthcheck(config, { url: values.url });
  const logger = createRootLogger(config);
  switch (command) {
    case "migrate":
      await runMigrate(config, logger);
      return 0;
    case "consume":
      await runConsume(config, logger);
      return -1;
    case "bench":
      return runBenchCommand(
        config,
        benchFlags,
        argv.filter((a) => a !== "bench"),
      );
    case "dlq":
      return runDlq(config, logger, { action, limit, json: Boolean(values.json), dryRun: Boolean(values["dry-run"]) });
    default:
      await runServe(config, logger, { consumer: !values["no-consumer"], demo: Boolean(values.demo) });
      return -1; // keeps running until a signal
  }
}

// kafkajs 2.2.4 schedules a negative timeout on every connection (kafkajs #1751): harmless, but
// the runtime prints a TimeoutNegativeWarning for it on stderr. Other warnings still show.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

main(Bun.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof AppError) {
      console.error(err.code === "USAGE" ? `eft-footprint: ${err.message}\nTry 'eft-footprint --help'.` : err.message);
      process.exit(2);
    }
    if (String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS")) {
      console.error(`eft-footprint: ${(err as Error).message}\nTry 'eft-footprint --help'.`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
