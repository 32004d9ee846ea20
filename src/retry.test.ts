import { expect, test } from "bun:test";
import { createMemoryLogger } from "./log.ts";
import { createBackoff, retryUntil } from "./retry.ts";

test("backoff doubles from the initial wait, caps at the maximum, and jitters within the upper half", () => {
  const low = createBackoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  const high = createBackoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  expect([1, 2, 3, 4, 5, 6].map(low)).toEqual([50, 100, 200, 400, 500, 500]);
  expect([1, 2, 3, 4, 5, 6].map(high)).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test("retryUntil retries a failing task until it succeeds, logging the first failure and every tenth", async () => {
  const logger = createMemoryLogger();
  let calls = 0;
  const task = async () => {
    calls++;
    if (calls < 12) throw new Error(`down ${calls}`);
    return "up";
  };
  expect(await retryUntil("start", task, logger, new AbortController().signal, () => 0)).toBe("up");
  expect(calls).toBe(12);
  expect(logger.lines.map((l) => [l.msg, l.attempt])).toEqual([
    ["start failed; retrying", 1],
    ["start failed; retrying", 10],
  ]);
});

test("retryUntil gives up with undefined once the signal aborts", async () => {
  const aborted = new AbortController();
  let calls = 0;
  const task = async () => {
    calls++;
    aborted.abort();
    throw new Error("down");
  };
  expect(await retryUntil("start", task, createMemoryLogger(), aborted.signal, () => 0)).toBeUndefined();
  expect(calls).toBe(1);
});

test("an abort ends retryUntil's backoff wait at once (a shutdown never waits out the backoff)", async () => {
  const aborted = new AbortController();
  const logger = createMemoryLogger();
  const task = async () => {
    throw new Error("down");
  };
  // Ten minutes: without the abort ending the wait, this test runs into its own timeout.
  const retrying = retryUntil("start", task, logger, aborted.signal, () => 600_000);
  // The failure is logged just before the wait begins.
  while (logger.lines.length === 0) await Promise.resolve();
  aborted.abort();
  expect(await retrying).toBeUndefined();
});
