import { existsSync, readFileSync } from "node:fs";
import { type Config, loadConfig } from "./config.ts";
import { AppError } from "./errors.ts";
import type { Logger } from "./log.ts";

/**
 * Configuration comes from the process environment over an env file: `--env-file <path>` when
 * given (it must exist), else `./.env` when present, as the old system did.
 */
export function readConfig(env: Record<string, string | undefined>, envFile: string | undefined): Config {
  const path = envFile ?? (existsSync(".env") ? ".env" : undefined);
  if (path === undefined) return loadConfig(env);
  if (!existsSync(path)) throw new AppError("CONFIG_INVALID", `--env-file ${path}: no such file`);
  const file = parseEnvFile(readFileSync(path, "utf8"));
  const warnings = file.ignored.map(({ line, name }) => ({
    variable: name,
    message: `${path} line ${line}: '${name}' is not a variable name, so this line is ignored (as systemd's EnvironmentFile= does)${name.startsWith("export ") ? ": remove 'export '" : ""}`,
  }));
  return loadConfig({ ...file.values, ...env }, warnings);
}

/** Logs what loadConfig found suspicious, once, when a command starts. */
export function logConfigWarnings(config: Config, logger: Logger): void {
  for (const w of config.warnings) logger.warn(w.message, { variable: w.variable });
}

export type EnvFile = {
  values: Record<string, string>;
  /** Assignments whose name is not a variable name (e.g. `export A=b`): systemd drops them too. */
  ignored: { line: number; name: string }[];
};

const WHITESPACE = " \t\n\r";
const NEWLINE = "\n\r";
// In double quotes a backslash escapes only these, as in a POSIX shell; before any other
// character both are kept.
const DOUBLE_QUOTE_ESCAPES = '"\\`$';

/**
 * Reads an env file exactly as systemd's `EnvironmentFile=` does (systemd.exec(5); the state
 * machine of systemd's env-file.c, v254+), so `doctor --env-file` and the service see the same
 * values: `#` or `;` starts a comment only at the start of a line; an unquoted value keeps its
 * inner whitespace and quotes, loses leading/trailing whitespace, and takes `\x` as `x` and a
 * trailing `\` as a line continuation; single quotes are verbatim; double quotes know `\"`, `\\`,
 * `` \` ``, `\$` and continuation. Quoted and unquoted pieces after `=` join into one value.
 *
 * Hand-written: the npm parsers (dotenv and Bun's own) follow shell or dotenv rules, which
 * differ from systemd's on inline `#`, escapes and `export`.
 */
export function parseEnvFile(text: string): EnvFile {
  const values: Record<string, string> = {};
  const ignored: EnvFile["ignored"] = [];
  let state:
    | "preKey"
    | "key"
    | "preValue"
    | "value"
    | "valueEscape"
    | "single"
    | "double"
    | "doubleEscape"
    | "comment" = "preKey";
  let key = "";
  let value = "";
  // Where trailing whitespace of the key or of an unquoted value starts (-1: none so far).
  let keyWs = -1;
  let valueWs = -1;
  let line = 1;
  let keyLine = 1;

  const push = (chompValue: boolean) => {
    const name = keyWs >= 0 ? key.slice(0, keyWs) : key;
    const v = chompValue && valueWs >= 0 ? value.slice(0, valueWs) : value;
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) values[name] = v;
    else ignored.push({ line: keyLine, name });
    key = "";
    value = "";
  };

  for (const c of text) {
    switch (state) {
      case "preKey":
        if (c === "#" || c === ";") state = "comment";
        else if (!WHITESPACE.includes(c)) {
          state = "key";
          keyWs = -1;
          keyLine = line;
          key = c;
        }
        break;
      case "key":
        if (NEWLINE.includes(c)) {
          state = "preKey";
          key = "";
        } else if (c === "=") {
          state = "preValue";
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyWs = -1;
          else if (keyWs < 0) keyWs = key.length;
          key += c;
        }
        break;
      case "preValue":
        if (NEWLINE.includes(c)) {
          state = "preKey";
          push(false);
        } else if (c === "'") state = "single";
        else if (c === '"') state = "double";
        else if (c === "\\") state = "valueEscape";
        else if (!WHITESPACE.includes(c)) {
          state = "value";
          value += c;
        }
        break;
      case "value":
        if (NEWLINE.includes(c)) {
          state = "preKey";
          push(true);
        } else if (c === "\\") {
          state = "valueEscape";
          valueWs = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueWs = -1;
          else if (valueWs < 0) valueWs = value.length;
          value += c;
        }
        break;
      case "valueEscape":
        state = "value";
        if (!NEWLINE.includes(c)) value += c;
        break;
      case "single":
        if (c === "'") state = "preValue";
        else value += c;
        break;
      case "double":
        if (c === '"') state = "preValue";
        else if (c === "\\") state = "doubleEscape";
        else value += c;
        break;
      case "doubleEscape":
        state = "double";
        if (DOUBLE_QUOTE_ESCAPES.includes(c)) value += c;
        else if (c !== "\n") value += `\\${c}`;
        break;
      case "comment":
        // Since systemd v254 a comment ending in `\` no longer swallows the next line.
        if (NEWLINE.includes(c)) state = "preKey";
        break;
    }
    if (c === "\n") line++;
  }
  if (state !== "preKey" && state !== "key" && state !== "comment") push(state === "value");
  return { values, ignored };
}
