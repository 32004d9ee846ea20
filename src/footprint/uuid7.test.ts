import { describe, expect, test } from "bun:test";
import { createUuidV7, uuidv7 } from "./uuid7.ts";

const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp an id carries. */
const msOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe("uuidv7", () => {
  test("RFC 9562 layout: version 7, variant 10, the time it was made in its first 48 bits", () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(FORMAT);
    expect(msOf(id)).toBeGreaterThanOrEqual(before);
    expect(msOf(id)).toBeLessThanOrEqual(after);
    // Bun's own generator gives the same shape, so ids from either sort together.
    expect(Bun.randomUUIDv7()).toMatch(FORMAT);
  });

  test("100k ids: all distinct, well formed, each sorting after the one before", () => {
    const ids = Array.from({ length: 100_000 }, uuidv7);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!((ids[i] as string) > (ids[i - 1] as string))) throw new Error(`${ids[i]} after ${ids[i - 1]}`);
    }
    expect(ids.every((id) => FORMAT.test(id))).toBe(true);
  });

  test("ids sort by time, and a clock going backwards never makes one sort earlier", () => {
    let ms = Date.parse("2025-05-19T12:00:00Z");
    const newId = createUuidV7({ now: () => ms });
    const a = newId();
    ms += 1;
    const b = newId();
    ms -= 500;
    const c = newId();
    ms += 10_000;
    const d = newId();
    expect([d, c, b, a].sort()).toEqual([a, b, c, d]);
    expect(msOf(a)).toBe(Date.parse("2025-05-19T12:00:00Z"));
    expect(msOf(c)).toBe(msOf(b));
    expect(msOf(d)).toBe(Date.parse("2025-05-19T12:00:09.501Z"));
  });

  test("more ids in one millisecond than the counter holds: the timestamp moves on, order kept", () => {
    const ms = Date.parse("2025-05-19T12:00:00Z");
    const newId = createUuidV7({ now: () => ms, fillRandom: (b) => b.fill(0xff) });
    const ids = Array.from({ length: 5000 }, newId);
    expect(ids[0]?.slice(14, 18)).toBe("77ff"); // seeded with the counter's top bit clear
    expect(ids.toSorted()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(msOf(ids.at(-1) as string)).toBeGreaterThan(ms);
    expect(ids.every((id) => FORMAT.test(id))).toBe(true);
  });

  test("random bytes are drawn in blocks, not per id", () => {
    let fills = 0;
    const newId = createUuidV7({
      fillRandom: (b) => {
        fills++;
        crypto.getRandomValues(b);
      },
    });
    for (let i = 0; i < 1000; i++) newId();
    expect(fills).toBe(4);
  });
});
