import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryLogger } from "../log.ts";
import { createSpool } from "./spool.ts";

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
