import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where the stack keeps its files and which services the user already runs elsewhere. */
export type StackOptions = {
  repoRoot: string;
  /** state.json, data dirs and logs; must be readable by the `postgres` OS user (so not under /root). */
  stateDir: string;
  /** Downloads reused across runs and state dirs (the Kafka classpath). */
  cacheDir: string;
  chdbServerScript: string;
  /** Services given by the user's environment: the stack checks them but never starts them. */
  external: {
    kafkaBrokers?: string;
    databaseUrl?: string;
    clickhouseUrl?: string;
  };
  clickhouseDatabase: string;
  /** `up --brokers N`: a Kafka cluster of N brokers; undefined keeps what the stack dir has (1 at first). */
  kafkaBrokers?: number;
};

type Env = Record<string, string | undefined>;

/** The only place the stack reads its environment. */
export function loadStackOptions(env: Env, repoRoot: string): StackOptions {
  const value = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const cacheHome = value("XDG_CACHE_HOME") ?? join(value("HOME") ?? homedir(), ".cache");
  return Object.freeze({
    repoRoot,
    stateDir: resolve(value("EFT_STACK_DIR") ?? "/tmp/eft-footprint-stack"),
    cacheDir: resolve(value("EFT_CACHE_DIR") ?? join(cacheHome, "eft-footprint")),
    // Lets the stack be tried with another endpoint implementation without touching the repo.
    chdbServerScript: resolve(value("EFT_STACK_CHDB_SERVER") ?? join(repoRoot, "scripts/lib/stack/chdb-server.ts")),
    external: Object.freeze({
      kafkaBrokers: value("KAFKA_BROKERS"),
      databaseUrl: value("DATABASE_URL"),
      clickhouseUrl: value("CLICKHOUSE_URL"),
    }),
    clickhouseDatabase: value("CLICKHOUSE_DATABASE") ?? "prd",
  });
}

/** `--brokers N` (1–9), undefined without the flag, or what is wrong with it. */
export function parseBrokersFlag(args: string[]): number | undefined | string {
  const unknown = args.filter((arg, i) => arg !== "--brokers" && args[i - 1] !== "--brokers");
  if (unknown.length > 0) return `up: unknown argument ${unknown[0]}`;
  const at = args.indexOf("--brokers");
  if (at < 0) return undefined;
  const n = Number(args[at + 1]);
  return Number.isInteger(n) && n >= 1 && n <= 9 ? n : "up: --brokers needs a number of brokers from 1 to 9";
}
