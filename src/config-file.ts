import { existsSync, readFileSync } from "node:fs";
import { type Config, loadConfig, parseEnvFile } from "./config.ts";
import { AppError } from "./errors.ts";

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
