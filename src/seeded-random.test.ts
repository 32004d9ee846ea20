import { expect, test } from "bun:test";
import { seededRandom } from "./seeded-random.ts";

test("the same seed gives the same numbers in [0, 1), pinned so that generated data never drifts", () => {
  const a = seededRandom(42);
  expect([a(), a(), a()]).toEqual([0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  const b = seededRandom(7);
  const c = seededRandom(7);
  const values = Array.from({ length: 10_000 }, () => b());
  expect(values).toEqual(Array.from({ length: 10_000 }, () => c()));
  expect(values.every((x) => x >= 0 && x < 1)).toBe(true);
  expect(seededRandom(8)()).not.toBe(values[0]);
});
