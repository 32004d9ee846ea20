import { describe, expect, test } from "bun:test";
import { withPropertyRuns } from "./property-report.ts";
import { flatChecks, minuteTable, renderSoakSection, soakProblems, soakScenario } from "./soak-report.ts";
import type { SoakResult } from "./soak-run.ts";
import type { Sample } from "./soak-sample.ts";
import { SOAK_SECTION_END, SOAK_SECTION_START, soakSection, withSoakSection } from "./soak-section.ts";
import { renderSoakSvg } from "./soak-svg.ts";

const MiB = 2 ** 20;

/** A 10-minute run sampled every 10 s; `serveRss(t)` and `consumeFiles(t)` shape the series. */
function result(
  serveRss: (t: number) => number = () => 140 * MiB,
  consumeFiles: (t: number) => number = () => 12,
): SoakResult {
  const samples: Sample[] = [];
  for (let t = 0; t <= 600; t += 10) {
    samples.push({
      t,
      serve: { rssBytes: serveRss(t), heapBytes: 20 * MiB + (t % 30) * 0.01 * MiB, openFiles: 21 },
      // The kill at 120 s starts consume afresh: before it, its memory was larger (not judged).
      consume: { rssBytes: t < 120 ? 300 * MiB : 80 * MiB, heapBytes: 14 * MiB, openFiles: consumeFiles(t) },
      consumeInstance: t < 120 ? 1 : 2,
      spoolBytes: t > 480 && t < 520 ? 400_000 : 0,
      spoolUnsentBytes: 0,
      lag: { postgres: 10, clickhouse: t === 300 ? undefined : 20 },
      sent: t * 70,
      stored: { postgres: t * 70 - 50, clickhouse: t === 360 ? undefined : t * 70 - 40 },
    });
  }
  samples.push({
    ...(samples.at(-1) as Sample),
    t: 640,
    sent: 42_000,
    stored: { postgres: 42_000, clickhouse: 42_000 },
  });
  return {
    options: {
      minutes: 10,
      faultEveryMinutes: 2,
      faults: ["consume-kill", "postgres", "clickhouse", "kafka"],
      sampleSeconds: 10,
      demoRate: 50,
      ingestBatch: 10,
      outageSeconds: 20,
    },
    startedAt: "2026-11-30T16:00:00.000Z",
    samples,
    faults: [
      { name: "consume-kill", at: 120, undoneAt: 130, recoveryMs: 2000, note: "killed" },
      { name: "kafka", at: 480, undoneAt: 530, recoveryMs: 9000, note: "spooled" },
    ],
    sent: { demo: 30_000, ingest: 12_000, total: 42_000 },
    failedRequests: [],
    ingestRetries: 0,
    counts: { postgres: 42_000, clickhouse: 42_000, pgDuplicates: 0, chDuplicates: 0 },
    drainMs: 1500,
    dropped: 0,
    spooled: 1200,
  };
}

describe("the soak's verdict", () => {
  test("a steady run passes; consume is judged over its last process only", () => {
    const r = result();
    expect(soakProblems(r)).toEqual([]);
    const consume = flatChecks(r).find((c) => c.process === "consume" && c.measure === "RSS");
    expect(consume?.from).toBe(120);
    expect(soakScenario(r)).toMatchObject({ scenario: "the soak (10 min, faults every 2 min)", passed: true });
  });

  test("RSS growing past the margin fails, and says by how much", () => {
    const r = result((t) => 140 * MiB + t * 0.1 * MiB);
    expect(soakProblems(r)).toEqual([expect.stringMatching(/^serve RSS not flat: last third 1\d\d\.\d MiB, limit/)]);
    expect(soakScenario(r).passed).toBe(false);
  });

  test("growth within the margin (GC noise) passes", () => {
    expect(soakProblems(result((t) => 140 * MiB + (t > 400 ? 5 * MiB : 0)))).toEqual([]);
  });

  test("a GC sawtooth and a fault's passing peak in the last third pass: only the floor is judged", () => {
    const r = result((t) => 130 * MiB + (t % 60) * 0.3 * MiB + (t > 540 && t < 580 ? 40 * MiB : 0));
    expect(soakProblems(r)).toEqual([]);
  });

  test("open files creeping up fails", () => {
    const r = result(undefined, (t) => 12 + Math.floor(t / 30));
    expect(soakProblems(r)).toEqual([expect.stringMatching(/^consume open files not flat/)]);
  });

  test("a lost event, a duplicate and a dropped one each fail", () => {
    const r = result();
    r.counts = { postgres: 41_999, clickhouse: 42_001, pgDuplicates: 0, chDuplicates: 1 };
    r.dropped = 3;
    expect(soakProblems(r)).toEqual([
      "PostgreSQL holds 41999 of 42000 events",
      "ClickHouse holds 42001 of 42000 events",
      "duplicate event_ids: 0 in PostgreSQL, 1 in ClickHouse",
      "3 events dropped by serve",
    ]);
  });

  test("a run that ended early (a service did not start again) fails with the reason first", () => {
    const r = result();
    r.error = "Error: ./scripts/stack start kafka failed: kafka FAILED after 97527 ms";
    expect(soakProblems(r)[0]).toBe(`ended early: ${r.error}`);
  });

  test("too few samples for a third is a failure, not a pass", () => {
    const r = result();
    r.samples = r.samples.filter((s) => s.t < 40);
    expect(flatChecks(r).every((c) => !c.passed)).toBe(true);
  });
});

describe("the soak's section of docs/RELIABILITY.md", () => {
  test("a row per minute, the fault in its minute, spool and lag at their maximum, a row after the drain", () => {
    const table = minuteTable(result()).split("\n");
    expect(table).toHaveLength(2 + 10 + 1);
    expect(table[2]).toMatch(/^\| 1 \| {2}\| 140\.0 \| /);
    expect(table[3]).toContain("| 2 | consume-kill |");
    expect(table[9]).toContain("| 8 | kafka |");
    expect(table[10]).toContain("| 391 |");
    expect(table[12]).toMatch(/^\| end \(10\.7\) \| load stopped, drained \|.*\| 42,000 \| 42,000 \| 42,000 \|$/);
  });

  test("written between its markers; the fault and property reports keep it", () => {
    const faults = "# Reliability\n\n| scenario | sent |\n|---|---|\n";
    const once = withSoakSection(faults, renderSoakSection(result(), "abc123", "cmd"));
    expect(once.startsWith(faults)).toBe(true);
    expect(once).toContain(
      "| the soak (10 min, faults every 2 min) | 42,000 | 42,000 | 42,000 | 0 / 0 | 0 | — | 9.0 s | pass |",
    );
    const twice = withSoakSection(once, "## The soak\n\nagain");
    expect(twice.match(new RegExp(SOAK_SECTION_START, "g"))).toHaveLength(1);
    expect(soakSection(twice)).toBe(`${SOAK_SECTION_START}\n## The soak\n\nagain\n${SOAK_SECTION_END}\n`);
    // The property tests add their section and keep the soak's.
    const withProps = withPropertyRuns(twice, "a.test.ts", [
      { name: "p", file: "a.test.ts", cases: 1, seed: 1, passed: true, outcome: "ok" },
    ]);
    expect(soakSection(withProps)).toBe(soakSection(twice));
  });

  test("the chart has a line per series and a marker per fault; a gap breaks a line", () => {
    const svg = renderSoakSvg(result());
    expect(svg.match(/<path /g)).toHaveLength(9);
    expect(svg.match(/stroke="#c0392b"/g)).toHaveLength(2 * 3);
    const lagCh = /<path d="([^"]*)"[^>]*><title>lag ClickHouse<\/title>/.exec(svg)?.[1] ?? "";
    expect(lagCh.match(/M/g)).toHaveLength(2);
  });
});
