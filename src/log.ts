import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

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
  /** consumer.log is rotated before it would grow past this many bytes (10 MiB by default). */
  maxBytes?: number;
  /** Rotated files kept: consumer.log.1 (newest) … consumer.log.N (5 by default). */
  maxFiles?: number;
  /** Where lines go; stdout by default (journald and containers collect it there). */
  write?: (line: string) => void;
};

/**
 * One JSON object per line; created once in main and passed down. Hand-written rather than pino:
 * the old system's rotated `consumer.log` needs pino's file transport, a worker thread that pino
 * loads by file path, which a bundled single binary only has with a bundler plugin; the rest is
 * a few dozen lines of formatting.
 */
export function createLogger(options: LoggerOptions = {}, bindings: LogFields = {}): Logger {
  const min = rank[options.level ?? "info"];
  const write = options.write ?? writerFor(options);
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

/** A logger that writes nothing: a second watcher whose findings another one already logs. */
export function silentLogger(): Logger {
  return createLogger({ level: "error", write: () => {} });
}

/** A line a logger wrote, taken apart, for another thread's logger to write again (Workers). */
export function parseLogLine(line: string): { level: LogLevel; msg: string; fields: LogFields } {
  const { time: _time, level, msg, ...fields } = JSON.parse(line) as LogFields & { level: LogLevel; msg: string };
  return { level, msg, fields };
}

/** A logger that keeps lines in memory, for tests. */
export function createMemoryLogger(): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) });
  return Object.assign(logger, { lines });
}

function writerFor(options: LoggerOptions): (line: string) => void {
  if (!options.dir) return (line) => process.stdout.write(line);
  const toFile = createRotatingFileWriter(join(options.dir, "consumer.log"), {
    maxBytes: options.maxBytes ?? 10 * 1024 * 1024,
    maxFiles: options.maxFiles ?? 5,
  });
  return (line) => {
    process.stdout.write(line);
    toFile(line);
  };
}

export type RotationOptions = { maxBytes: number; maxFiles: number };

/**
 * Appends lines to `file`, rotating it by size as Python's RotatingFileHandler did for the old
 * consumer: `file` → `file.1` → … → `file.<maxFiles>`, the oldest dropped. A failing disk never
 * stops the process: the first failure is reported on stderr, stdout keeps every line anyway.
 *
 * @example
 * const write = createRotatingFileWriter("/var/log/eft-footprint/consumer.log", { maxBytes: 1 << 20, maxFiles: 3 });
 * write('{"msg":"hello"}\n');
 */
export function createRotatingFileWriter(file: string, options: RotationOptions): (line: string) => void {
  mkdirSync(dirname(file), { recursive: true });
  let size = sizeOf(file);
  let failed = false;
  return (line) => {
    try {
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > options.maxBytes) {
        // Another process logging to the same directory may have rotated the file already.
        size = sizeOf(file);
        if (size > 0 && size + bytes > options.maxBytes) {
          rotate(file, options.maxFiles);
          size = 0;
        }
      }
      appendFileSync(file, line);
      size += bytes;
      failed = false;
    } catch (err) {
      if (!failed) process.stderr.write(`eft-footprint: cannot write ${file}: ${(err as Error).message}\n`);
      failed = true;
    }
  };
}

function rotate(file: string, maxFiles: number): void {
  rmSync(`${file}.${maxFiles}`, { force: true });
  for (let i = maxFiles - 1; i >= 1; i--) {
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  renameSync(file, `${file}.1`);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function serialize(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v;
  }
  return out;
}
