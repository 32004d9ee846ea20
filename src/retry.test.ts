import { expect, test } from "bun:test";
import { createBackoff } from "./retry.ts";

test("backoff doubles from the initial wait, caps at the maximum, and jitters within the upper half", () => {
  const low = createBackoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  const high = createBackoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  expect([1, 2, 3, 4, 5, 6].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
  expect([1, 2, 3, 4, 5, 6].map(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
});
