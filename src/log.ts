import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export type Logger = {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
};

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LoggerOptions = {
  level?: LogLevel;
  /** When set, lines are also appended to `<dir>/consumer.log`, the old system's file name. */
  dir?: string | undefined;
  /** Where lines go; stdout by default (journald and containers collect it there). */
  write?: (line: string) => void;
};

/** One JSON object per line; created once in main and passed down. */
export function createLogger(options: LoggerOptions = {}, bindings: LogFields = {}): Logger {
  const min = rank[options.level ?? "info"];
  const write = options.write ?? writerFor(options.dir);
  const log = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[level] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...bindings, ...serialize(fields) })}\n`);
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    child: (more) => createLogger({ ...options, write }, { ...bindings, ...more }),
  };
}

/** A logger that keeps lines in memory, for tests. */
export function createMemoryLogger(): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  return Object.assign(logger, { lines });
}

function writerFor(dir: string | undefined): (line: string) => void {
  if (!dir) return (line) => process.stdout.write(line);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "consumer.log");
  return (line) => {
    process.stdout.write(line);
    appendFileSync(file, line);
  };
}

function serialize(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}
