import { describe, expect, test } from "bun:test";
import { createErrorReporter } from "./error-reporter.ts";

/** A reporter on a fake clock whose timers run when the clock passes them. */
function fakeReporter(intervalMs = 60_000) {
  let ms = 1_000_000;
  const lines: string[] = [];
  let timers: { at: number; fn: () => void }[] = [];
  const report = createErrorReporter({
    intervalMs,
    log: (line) => lines.push(line),
    now: () => ms,
    schedule: (fn, wait) => timers.push({ at: ms + wait, fn }),
  });
  const advance = (by: number) => {
    ms += by;
    const due = timers.filter((t) => t.at <= ms);
    timers = timers.filter((t) => t.at > ms);
    for (const t of due) t.fn();
  };
  return { report, lines, advance, timers: () => timers.length };
}

describe("createErrorReporter", () => {
  test("the first failure is logged at once; the rest of the interval in one summary line", () => {
    const { report, lines, advance } = fakeReporter();
    report(new Error("first"));
    expect(lines).toEqual(["eft-footprint: first"]);
    for (let i = 0; i < 1000; i++) {
      report(`failure ${i}`, { status: 503 });
      advance(10);
    }
    expect(lines).toHaveLength(1);
    advance(60_000);
    expect(lines).toEqual([
      "eft-footprint: first",
      "eft-footprint: 1000 more failures in the last 60 s; last: failure 999 status=503",
    ]);
  });

  test("at most one line per interval, however the failures fall; quiet intervals log nothing", () => {
    const { report, lines, advance, timers } = fakeReporter(1000);
    report("a");
    advance(999);
    report("b");
    advance(1);
    expect(lines).toEqual(["eft-footprint: a", "eft-footprint: 1 more failure in the last 1 s; last: b"]);
    report("c");
    advance(500);
    report("d");
    advance(499);
    expect(lines).toHaveLength(2);
    advance(1);
    expect(lines.at(-1)).toBe("eft-footprint: 2 more failures in the last 1 s; last: d");
    advance(10_000);
    expect(lines).toHaveLength(3);
    expect(timers()).toBe(0);
    // After a quiet spell a failure is news again: written at once.
    report("e");
    expect(lines.at(-1)).toBe("eft-footprint: e");
  });

  test("never a stack trace, never a throw: an error by its message, objects as short JSON", () => {
    const { report, lines } = fakeReporter();
    const err = new TypeError("bad\nthing");
    report(err, { cause: new Error("inner"), body: { code: "X" }, skipped: undefined });
    expect(lines).toEqual(['eft-footprint: TypeError: bad thing cause=inner body={"code":"X"}']);
    expect(lines[0]).not.toContain("at ");
    const throwing = createErrorReporter({
      log: () => {
        throw new Error("log down");
      },
    });
    expect(() => throwing("x")).not.toThrow();
  });

  test("by default the interval is a minute and lines go to console.warn", () => {
    const warn = console.warn;
    const seen: unknown[] = [];
    console.warn = (...args: unknown[]) => seen.push(args.join(" "));
    try {
      const report = createErrorReporter();
      report("once");
      report("twice");
    } finally {
      console.warn = warn;
    }
    expect(seen).toEqual(["eft-footprint: once"]);
  });
});
