import { parseArgs } from "node:util";
import { runConsume } from "./commands/consume.ts";
import { createRootLogger, readConfig } from "./commands/context.ts";
import { runMigrate } from "./commands/migrate.ts";
import { runServe } from "./commands/serve.ts";
import { AppError } from "./errors.ts";
import { commit, version } from "./version.ts";

const HELP: Record<string, string> = {
  main: `eft-footprint ${version}: records every request of a web service through Kafka into
PostgreSQL and ClickHouse, and shows traffic statistics from either.

Usage: eft-footprint <command> [options]

Commands:
  serve     HTTP app (footprint middleware, overview, health) and the consumer in one process
  consume   the consumer alone; run several with one GROUP_ID to scale out
  migrate   apply pending schema migrations to PostgreSQL and ClickHouse, then exit

Options:
  --env-file <path>  read settings from this file (default: ./.env when present);
                     the process environment wins over the file
  --version          print version and commit
  -h, --help         help for a command: eft-footprint <command> --help
`,
  serve: `Usage: eft-footprint serve [--no-consumer] [--demo] [--env-file <path>]

Serves HTTP on HOST:PORT (default 0.0.0.0:8080), records a footprint of every request to Kafka
(TOPIC) without waiting for it, and runs the consumer that stores footprints in PostgreSQL and
ClickHouse in the same process.

Our pages under PATH_PREFIX (the dashboard) need a login: DASHBOARD_TOKEN, or DASHBOARD_USER with
DASHBOARD_PASSWORD; with neither, a token is made up and a login link is logged once. SESSION_SECRET
keeps sessions valid across restarts.

  --no-consumer  do not run the consumer here (run 'eft-footprint consume' elsewhere)
  --demo         also serve a small demo site under /api/v1/ (items, quests, ...) to record
  --env-file     read settings from this file
`,
  consume: `Usage: eft-footprint consume [--env-file <path>]

Reads footprints from Kafka (TOPIC, GROUP_ID) and writes them in batches (BATCH_SIZE rows or
BATCH_FLUSH_MS, whichever first) to PostgreSQL and ClickHouse. Offsets are committed only after
both stores hold a batch. Stops cleanly on SIGTERM/SIGINT.
`,
  migrate: `Usage: eft-footprint migrate [--env-file <path>]

Applies pending migrations to PostgreSQL (DATABASE_URL or DB_*) and ClickHouse (CLICKHOUSE_URL or
CH_*, database CLICKHOUSE_DATABASE), recording them in eft_schema_migrations. Safe to run twice.
`,
};

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
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    console.log(`eft-footprint ${version} (${commit})`);
    return 0;
  }
  if (rest.length > 0) throw new AppError("USAGE", `unexpected argument: ${rest[0]}`);
  if (!command || values.help) {
    console.log(HELP[command ?? "main"] ?? HELP.main);
    return command && !HELP[command] ? 2 : 0;
  }
  if (!HELP[command] || command === "main") throw new AppError("USAGE", `unknown command: ${command}`);
  if (command !== "serve" && (values["no-consumer"] || values.demo)) {
    throw new AppError("USAGE", `--no-consumer and --demo are options of serve, not ${command}`);
  }

  const config = readConfig(process.env, values["env-file"]);
  const logger = createRootLogger(config);
  switch (command) {
    case "migrate":
      await runMigrate(config, logger);
      return 0;
    case "consume":
      await runConsume(config, logger);
      return -1;
    default:
      await runServe(config, logger, { consumer: !values["no-consumer"], demo: Boolean(values.demo) });
      return -1; // keeps running until a signal
  }
}

main(Bun.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof AppError) {
      console.error(err.code === "USAGE" ? `eft-footprint: ${err.message}\nTry 'eft-footprint --help'.` : err.message);
      process.exit(2);
    }
    if ((err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`eft-footprint: ${(err as Error).message}\nTry 'eft-footprint --help'.`);
      process.exit(2);
    }
    console.error(err);
    process.exit(1);
  },
);
