import { expect, test } from "bun:test";
import { summarize } from "./summary.ts";

test("summarize: median of odd and even counts, p95 by nearest rank", () => {
  expect(summarize([3, 1, 2])).toEqual({ median: 2, p95: 3, runs: 3 });
  expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, p95: 4, runs: 4 });
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  expect(summarize(hundred)).toEqual({ median: 50.5, p95: 95, runs: 100 });
});
