import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, createMemoryLogger, createRotatingFileWriter } from "./log.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "eft-log-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const line = (n: number) => `${JSON.stringify({ n: String(n).padStart(3, "0") })}\n`; // 12 bytes

describe("createRotatingFileWriter", () => {
  test("rotates before the file would pass maxBytes and keeps maxFiles old files, newest first", () => {
    const dir = tempDir();
    const file = join(dir, "consumer.log");
    const write = createRotatingFileWriter(file, { maxBytes: 30, maxFiles: 2 });
    for (let n = 1; n <= 9; n++) write(line(n)); // two lines per file: 1-2, 3-4, 5-6, 7-8, 9

    expect(readdirSync(dir).sort()).toEqual(["consumer.log", "consumer.log.1", "consumer.log.2"]);
    expect(readFileSync(file, "utf8")).toBe(line(9));
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line(7) + line(8));
    expect(readFileSync(`${file}.2`, "utf8")).toBe(line(5) + line(6));
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).size).toBeLessThanOrEqual(30);
  });

  test("continues an existing file across restarts and counts what is already in it", () => {
    const dir = tempDir();
    const file = join(dir, "consumer.log");
    createRotatingFileWriter(file, { maxBytes: 30, maxFiles: 3 })(line(1) + line(2));
    const again = createRotatingFileWriter(file, { maxBytes: 30, maxFiles: 3 });
    again(line(3));
    expect(readFileSync(file, "utf8")).toBe(line(3));
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line(1) + line(2));
  });

  test("does not rotate again what another process just rotated", () => {
    const dir = tempDir();
    const file = join(dir, "consumer.log");
    const a = createRotatingFileWriter(file, { maxBytes: 30, maxFiles: 3 });
    a(line(1));
    a(line(2));
    const b = createRotatingFileWriter(file, { maxBytes: 30, maxFiles: 3 }); // sees 24 bytes
    a(line(3)); // a rotates: .1 = 1,2
    b(line(4)); // b expects 36 bytes, finds 12: appends without rotating
    expect(readFileSync(file, "utf8")).toBe(line(3) + line(4));
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line(1) + line(2));
    expect(readdirSync(dir).sort()).toEqual(["consumer.log", "consumer.log.1"]);
  });

  test("a line larger than maxBytes is still written whole", () => {
    const dir = tempDir();
    const file = join(dir, "consumer.log");
    const write = createRotatingFileWriter(file, { maxBytes: 5, maxFiles: 1 });
    write(line(1));
    write(line(2));
    expect(readFileSync(file, "utf8")).toBe(line(2));
    expect(readFileSync(`${file}.1`, "utf8")).toBe(line(1));
  });

  test("a file that cannot be written does not throw", () => {
    const dir = tempDir();
    const write = createRotatingFileWriter(join(dir, "consumer.log"), { maxBytes: 100, maxFiles: 1 });
    rmSync(dir, { recursive: true }); // works for root too, unlike a permission change
    const stderr = process.stderr.write;
    const errors: string[] = [];
    process.stderr.write = (chunk: string | Uint8Array) => errors.push(String(chunk)) > 0;
    try {
      expect(() => write(line(1))).not.toThrow();
      expect(() => write(line(2))).not.toThrow();
    } finally {
      process.stderr.write = stderr;
    }
    expect(errors).toHaveLength(1); // reported once, not per line
    expect(errors[0]).toContain("cannot write");
  });
});

describe("createLogger", () => {
  test("writes JSON lines with level, message, bindings and serialized errors", () => {
    const logger = createMemoryLogger();
    logger
      .child({ component: "consumer" })
      .error("batch failed", { err: Object.assign(new Error("down"), { code: "X" }) });
    logger.debug("details");
    expect(logger.lines.map(({ time: _t, ...rest }) => rest)).toEqual([
      {
        level: "error",
        msg: "batch failed",
        component: "consumer",
        err: { name: "Error", message: "down", code: "X" },
      },
      { level: "debug", msg: "details" },
    ]);
  });

  test("with a dir, every line also goes to dir/consumer.log, rotated by size", () => {
    const dir = tempDir();
    const logger = createLogger({ level: "info", dir, maxBytes: 200, maxFiles: 2, write: undefined });
    const stdout = process.stdout.write;
    process.stdout.write = () => true; // keep test output clean
    try {
      for (let i = 0; i < 10; i++) logger.info("tick", { i });
      logger.debug("filtered out");
    } finally {
      process.stdout.write = stdout;
    }
    expect(readdirSync(dir).sort()).toEqual(["consumer.log", "consumer.log.1", "consumer.log.2"]);
    const kept = ["consumer.log.2", "consumer.log.1", "consumer.log"].flatMap((name) =>
      readFileSync(join(dir, name), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { i: number; msg: string }),
    );
    expect(kept.every((l) => l.msg === "tick")).toBe(true);
    expect(kept.map((l) => l.i)).toEqual(kept.map((_, k) => 10 - kept.length + k)); // the newest, in order
  });
});
