import { resolve } from "node:path";
import { down } from "./down.ts";
import { printEnv } from "./env.ts";
import { loadStackOptions, parseBrokersFlag } from "./options.ts";
import { SERVICE_NAMES, type ServiceName } from "./state.ts";
import { status } from "./status.ts";
import { up } from "./up.ts";

const USAGE = `usage: ./scripts/stack up [--brokers N] | down [--purge] | status | env | stop <service> | start <service>

Local Kafka, PostgreSQL and ClickHouse (chdb) for development, tests and the demo.
  up       start what is not running yet and wait until it answers (idempotent)
           --brokers N: Kafka as a KRaft cluster of N brokers (replication min(N, 3),
           min.insync.replicas 2 from 3 brokers on), fixed for the stack dir until down --purge
  down     stop what up started; data is kept unless --purge (removes the state dir)
  status   one line per service; exit 0 when all answer, else 3
  env      export lines for: eval "$(./scripts/stack env)"
  stop     stop one service (kafka, postgres or clickhouse), keeping its data and port
  start    start one service again, on the port it had (fault tests)

Environment:
  EFT_STACK_DIR          state, data and logs (default /tmp/eft-footprint-stack)
  EFT_CACHE_DIR          downloads (default \${XDG_CACHE_HOME:-~/.cache}/eft-footprint)
  KAFKA_BROKERS, DATABASE_URL, CLICKHOUSE_URL
                         use these services instead of starting them (only checked)
  EFT_STACK_CHDB_SERVER  another ClickHouse HTTP endpoint script to run
`;

async function main(argv: string[]): Promise<number> {
  const repoRoot = resolve(import.meta.dir, "../../..");
  const options = loadStackOptions(process.env, repoRoot);
  const [command, ...rest] = argv;
  switch (command) {
    case "up": {
      const brokers = parseBrokersFlag(rest);
      if (typeof brokers === "string") {
        process.stderr.write(`${brokers}\n`);
        return 2;
      }
      return up(brokers === undefined ? options : { ...options, kafkaBrokers: brokers });
    }
    case "down":
      return down(options, { purge: rest.includes("--purge") });
    case "status":
      return status(options);
    case "env":
      return printEnv(options);
    case "stop":
    case "start": {
      const names = rest.filter((name): name is ServiceName => (SERVICE_NAMES as readonly string[]).includes(name));
      if (names.length === 0 || names.length !== rest.length) {
        process.stderr.write(`${command} needs service names: ${SERVICE_NAMES.join(", ")}\n`);
        return 2;
      }
      return command === "stop" ? down(options, { purge: false, only: names }) : up(options, names);
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

// kafkajs 2.2.4 schedules a negative timeout on every connection (kafkajs #1751): harmless, but
// Bun prints a TimeoutNegativeWarning for it. Other warnings still show.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

process.exit(await main(process.argv.slice(2)));
