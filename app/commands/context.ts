import { existsSync, readFileSync } from "node:fs";
import { type Config, loadConfig, parseEnvFile } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import type { Backoff } from "../../src/retry.ts";
import { createBackoff, sleep } from "../../src/retry.ts";
import { createClickhouseStore } from "../../src/store/clickhouse.ts";
import { createPostgresStore } from "../../src/store/postgres.ts";
import type { Store } from "../../src/store/store.ts";

/**
 * Configuration comes from the process environment over an env file: `--env-file <path>` when
 * given (it must exist), else `./.env` when present, as the old system did.
 */
export function readConfig(env: Record<string, string | undefined>, envFile: string | undefined): Config {
  let fromFile: Record<string, string> = {};
  if (envFile !== undefined) {
    if (!existsSync(envFile)) throw new AppError("CONFIG_INVALID", `--env-file ${envFile}: no such file`);
    fromFile = parseEnvFile(readFileSync(envFile, "utf8"));
  } else if (existsSync(".env")) {
    fromFile = parseEnvFile(readFileSync(".env", "utf8"));
  }
  return loadConfig({ ...fromFile, ...env });
}

export function createRootLogger(config: Config): Logger {
  return createLogger({
    level: config.log.level,
    dir: config.log.dir,
    maxBytes: config.log.maxBytes,
    maxFiles: config.log.maxFiles,
  });
}

export function openStores(config: Config): Store[] {
  return [createPostgresStore({ url: config.postgres.url }), createClickhouseStore(config.clickhouse)];
}

export async function migrateStores(stores: readonly Store[], logger: Logger): Promise<void> {
  for (const store of stores) {
    const applied = await store.migrate();
    logger.info(applied.length ? "migrations applied" : "schema up to date", { store: store.name, applied });
  }
}

/**
 * Retries `task` with capped backoff until it succeeds or `signal` aborts: dependencies that are
 * down at start-up are waited for, not crashed on, so a restart loop never starts.
 */
export async function retryUntil<T>(
  what: string,
  task: () => Promise<T>,
  logger: Logger,
  signal: AbortSignal,
  backoff: Backoff = createBackoff({ initialMs: 500, maxMs: 30_000 }),
): Promise<T | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      return await task();
    } catch (err) {
      if (attempt === 1 || attempt % 10 === 0) logger.error(`${what} failed; retrying`, { err, attempt });
      await sleep(backoff(attempt));
    }
  }
  return undefined;
}

/**
 * Runs `shutdown` once on SIGTERM or SIGINT; a second signal exits at once, and so does a shutdown
 * still running after `timeoutMs` (exit status 1; what was not committed is consumed again).
 */
export function onShutdownSignal(
  shutdown: (signal: string) => Promise<void>,
  logger: Logger,
  timeoutMs?: number,
): void {
  let started = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (started) {
        logger.warn("second signal: exiting without finishing shutdown", { signal });
        process.exit(1);
      }
      started = true;
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          logger.error("shutdown took too long: exiting", { timeoutMs });
          process.exit(1);
        }, timeoutMs).unref?.();
      }
      shutdown(signal).then(
        () => process.exit(0),
        (err) => {
          logger.error("shutdown failed", { err });
          process.exit(1);
        },
      );
    });
  }
}
