import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryLogger } from "../log.ts";
import { acquireSpoolLock, createSpool, readLines, recoverSegments } from "./spool.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const newDir = () => {
  const d = mkdtempSync(join(tmpdir(), "eft-spool-"));
  dirs.push(d);
  return d;
};
const open = (dir: string, maxBytes = 1 << 20, segmentBytes?: number) =>
  createSpool({ dir, maxBytes, logger: createMemoryLogger(), writeMs: 5, ...(segmentBytes ? { segmentBytes } : {}) });

describe("disk spool", () => {
  test("reads back in order across segments; acknowledged lines are gone after a restart", () => {
    const dir = newDir();
    const spool = open(dir, 1 << 20, 64 * 1024);
    const line = (i: number) => JSON.stringify({ i, pad: "x".repeat(1000) });
    for (let i = 0; i < 200; i++) expect(spool.append(line(i))).toBe(true);
    const first = spool.read(150);
    expect(first?.lines.map((l) => JSON.parse(l).i)).toEqual(
      Array.from({ length: first?.lines.length ?? 0 }, (_, i) => i),
    );
    first?.ack();
    const seen = first?.lines.length ?? 0;
    const unacked = spool.read(10); // read but never acknowledged: sent again after a restart
    expect(unacked?.lines.length).toBe(10);
    spool.close();
    expect(readdirSync(dir).filter((f) => f.startsWith("segment-")).length).toBeGreaterThan(1);

    const again = open(dir);
    const rest: number[] = [];
    for (let r = again.read(1000); r; r = again.read(1000)) {
      rest.push(...r.lines.map((l) => JSON.parse(l).i));
      r.ack();
    }
    expect(rest).toEqual(Array.from({ length: 200 - seen }, (_, i) => i + seen));
    expect(again.isEmpty).toBe(true);
    again.close();
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a line cut short by a crash is skipped and counted; the rest is read", () => {
    const dir = newDir();
    const spool = open(dir);
    spool.append('{"a":1}');
    spool.append('{"a":2}');
    spool.close(); // keeps its segment: nothing was read
    const [segment] = readdirSync(dir).filter((f) => f.startsWith("segment-"));
    appendFileSync(join(dir, segment as string), '{"a":3, "cut sh');
    const again = open(dir);
    const r = again.read(10);
    expect(r?.lines).toEqual(['{"a":1}', '{"a":2}']);
    r?.ack();
    const torn = again.read(10);
    expect(torn?.lines).toEqual([]);
    torn?.ack();
    expect(again.takeCorrupt()).toBe(1);
    expect(again.read(10)).toBeUndefined();
    again.close();
  });

  test("refuses lines beyond its cap", () => {
    const spool = open(newDir(), 100);
    expect(spool.append("x".repeat(60))).toBe(true);
    expect(spool.append("x".repeat(60))).toBe(false);
    spool.close();
  });

  test("one process at a time: a spool whose dir another live process holds refuses to write", async () => {
    const dir = newDir();
    await Bun.write(join(dir, "lock"), String(process.ppid)); // our parent: alive, and not us
    const spool = open(dir);
    expect(spool.append("1")).toBe(false);
    spool.close();
    expect(existsSync(join(dir, "lock"))).toBe(true);
  });
});

describe("disk spool fsync policy", () => {
  /** A spool whose fsync calls are counted; every appendAll is one write(2). */
  const counted = (o: { fsyncMs: number; segmentBytes?: number }) => {
    const synced: number[] = [];
    const dir = newDir();
    const spool = createSpool({
      dir,
      maxBytes: 1 << 20,
      logger: createMemoryLogger(),
      writeMs: 60_000,
      fsync: (fd) => void synced.push(fd),
      ...o,
    });
    return { spool, synced, dir };
  };
  const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ i, pad: "x".repeat(100) }));

  test("written at once without fsync until fsyncMs passed since the last; close() fsyncs what was written", () => {
    const { spool, synced } = counted({ fsyncMs: 60_000 });
    for (let i = 0; i < 20; i++) expect(spool.appendAll(lines(10))).toBe(true);
    expect(synced).toEqual([]);
    // Written (a crash of the process keeps it): another reader sees every line already.
    expect(spool.read(1000)?.lines.length).toBe(200);
    spool.close();
    expect(synced.length).toBe(1);
  });

  test("fsyncMs 0: every write is fsync'ed", () => {
    const { spool, synced } = counted({ fsyncMs: 0 });
    for (let i = 0; i < 5; i++) spool.appendAll(lines(3));
    expect(synced.length).toBe(5);
    spool.close();
  });

  test("a segment is fsync'ed when it is closed for the next one", () => {
    const { spool, synced, dir } = counted({ fsyncMs: 60_000, segmentBytes: 40_000 });
    for (let i = 0; i < 30; i++) spool.appendAll(lines(30));
    const segments = readdirSync(dir).filter((f) => f.startsWith("segment-")).length;
    expect(segments).toBeGreaterThan(2);
    // Every segment but the open one.
    expect(synced.length).toBe(segments - 1);
    spool.close();
    expect(synced.length).toBe(segments);
  });

  test("appendAll writes all lines or none", () => {
    const { spool } = counted({ fsyncMs: 60_000 });
    const small = createSpool({ dir: newDir(), maxBytes: 500, logger: createMemoryLogger() });
    expect(small.appendAll(lines(3))).toBe(true);
    expect(small.appendAll(lines(2))).toBe(false);
    expect(small.read(10)?.lines.length).toBe(3);
    small.close();
    spool.close();
  });
});

describe("readLines", () => {
  const chunk = (s: string) => Buffer.from(s, "utf8");

  test("takes whole lines up to max and says how many bytes they used", () => {
    expect(readLines(chunk("a\nbb\nccc\n"), 2)).toEqual({ lines: ["a", "bb"], used: 5 });
  });

  test("a torn last line (no newline) is left unread", () => {
    expect(readLines(chunk('{"a":1}\n{"a":2, "cut'), 10)).toEqual({ lines: ['{"a":1}'], used: 8 });
    expect(readLines(chunk('{"a":2, "cut'), 10)).toEqual({ lines: [], used: 0 });
  });

  test("empty lines are skipped but their bytes count as used", () => {
    expect(readLines(chunk("\na\n\n"), 10)).toEqual({ lines: ["a"], used: 4 });
  });

  test("multi-byte characters are decoded whole", () => {
    const { lines, used } = readLines(chunk("日本\n"), 10);
    expect(lines).toEqual(["日本"]);
    expect(used).toBe(7);
  });
});

describe("recoverSegments", () => {
  const segment = (dir: string, n: number, data: string) =>
    writeFileSync(join(dir, `segment-${String(n).padStart(12, "0")}.ndjson`), data);
  const cursor = (dir: string, c: unknown) => writeFileSync(join(dir, "cursor"), JSON.stringify(c));

  test("a missing dir holds nothing", () => {
    expect(recoverSegments(join(newDir(), "absent"))).toEqual({ segments: [], readAt: 0, lastNumber: 0 });
  });

  test("segments oldest first, other files ignored; the cursor of the oldest gives the offset", () => {
    const dir = newDir();
    segment(dir, 10, "x\n");
    segment(dir, 9, "abc\ndef\n");
    writeFileSync(join(dir, "segment-1.ndjson"), "not twelve digits\n");
    cursor(dir, { segment: 9, offset: 4 });
    expect(recoverSegments(dir)).toEqual({
      segments: [
        { n: 9, size: 8 },
        { n: 10, size: 2 },
      ],
      readAt: 4,
      lastNumber: 10,
    });
  });

  test("a cursor beyond the segment's size is capped at its size", () => {
    const dir = newDir();
    segment(dir, 1, "abc\n");
    cursor(dir, { segment: 1, offset: 1000 });
    expect(recoverSegments(dir).readAt).toBe(4);
  });

  test("a cursor for another segment, or an unreadable one, reads the oldest from its start", () => {
    const dir = newDir();
    segment(dir, 2, "abc\n");
    cursor(dir, { segment: 1, offset: 2 });
    expect(recoverSegments(dir).readAt).toBe(0);
    writeFileSync(join(dir, "cursor"), '{"segment":2,"off');
    expect(recoverSegments(dir).readAt).toBe(0);
  });

  test("new segments are numbered past the one a cursor names, even when no segment is left", () => {
    const dir = newDir();
    cursor(dir, { segment: 7, offset: 50 });
    expect(recoverSegments(dir)).toEqual({ segments: [], readAt: 0, lastNumber: 7 });
  });
});

test("a spool drained to empty, then filled again and reopened, reads every new line (no stale cursor skips them)", () => {
  const dir = newDir();
  const open = () => createSpool({ dir, maxBytes: 1 << 20, logger: createMemoryLogger(), writeMs: 5 });
  const first = open();
  for (let i = 0; i < 5; i++) first.append(JSON.stringify({ old: i }));
  first.read(100)?.ack();
  expect(first.read(100)).toBeUndefined();
  for (let i = 0; i < 5; i++) first.append(JSON.stringify({ fresh: i }));
  first.close();
  const again = open();
  expect(again.read(100)?.lines).toEqual([0, 1, 2, 3, 4].map((i) => JSON.stringify({ fresh: i })));
  again.close();
});

describe("acquireSpoolLock", () => {
  test("creates the dir and writes our pid", () => {
    const dir = join(newDir(), "spool");
    acquireSpoolLock(dir);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.pid));
  });

  test("a lock held by another live process is refused, naming it", () => {
    const dir = newDir();
    writeFileSync(join(dir, "lock"), String(process.ppid)); // our parent: alive, and not us
    expect(() => acquireSpoolLock(dir)).toThrow(`SPOOL_DIR ${dir} is in use by process ${process.ppid}`);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.ppid));
  });

  test("a lock left by a process that is gone, or by us, is taken over", async () => {
    const dir = newDir();
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    writeFileSync(join(dir, "lock"), String(gone.pid));
    acquireSpoolLock(dir);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.pid));
    acquireSpoolLock(dir);
    expect(readFileSync(join(dir, "lock"), "utf8")).toBe(String(process.pid));
  });
});
