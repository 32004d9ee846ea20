import { describe, expect, test } from "bun:test";
import type { PropertyRun } from "./property.ts";
import { propertySection, withPropertyRuns } from "./property-report.ts";

const run = (name: string, file: string, cases: number): PropertyRun => ({
  name,
  file,
  cases,
  seed: 7,
  passed: true,
  outcome: "answers: 2xx 1 | 4xx 2",
});

describe("the property-based runs' section of docs/RELIABILITY.md", () => {
  const faults = "# Reliability\n\n| scenario | sent |\n|---|---|\n| broker stopped | 10 |\n";

  test("a file's runs are added after the fault table, each with its case count and seed", () => {
    const text = withPropertyRuns(faults, "a.test.ts", [run("p1", "a.test.ts", 120), run("x", "other.ts", 1)]);
    expect(text.startsWith(faults)).toBe(true);
    expect(text).toContain("| p1 | `a.test.ts` | 120 | 7 | answers: 2xx 1 / 4xx 2 | pass |");
    expect(text).not.toContain("| x |");
  });

  test("a file's rows are replaced on its next run; another file's rows are kept", () => {
    let text = withPropertyRuns(faults, "a.test.ts", [run("p1", "a.test.ts", 120)]);
    text = withPropertyRuns(text, "b.test.ts", [run("p2", "b.test.ts", 12)]);
    text = withPropertyRuns(text, "a.test.ts", [run("p1", "a.test.ts", 960)]);
    const rows = text.split("\n").filter((l) => l.includes(".test.ts` |"));
    expect(rows).toEqual([
      "| p1 | `a.test.ts` | 960 | 7 | answers: 2xx 1 / 4xx 2 | pass |",
      "| p2 | `b.test.ts` | 12 | 7 | answers: 2xx 1 / 4xx 2 | pass |",
    ]);
    expect(text.match(/## Property-based runs/g)).toHaveLength(1);
  });

  test("the fault report keeps the section when it rewrites the file (propertySection)", () => {
    const text = withPropertyRuns(faults, "a.test.ts", [run("p1", "a.test.ts", 120)]);
    const section = propertySection(text);
    expect(text.endsWith(section)).toBe(true);
    expect(section).toContain("| p1 |");
    expect(propertySection(faults)).toBe("");
  });
});
