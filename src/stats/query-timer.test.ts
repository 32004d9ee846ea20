import { describe, expect, test } from "bun:test";
import { elapsedMsOfSummary } from "./query-timer.ts";

describe("elapsedMsOfSummary: ClickHouse's own time of a query", () => {
  test("elapsed_ns of X-ClickHouse-Summary, in ms", () => {
    const summary = '{"read_rows":"5","read_bytes":"40","written_rows":"0","elapsed_ns":"2100708"}';
    expect(elapsedMsOfSummary(summary)).toBe(2.100708);
    expect(elapsedMsOfSummary([summary])).toBe(2.100708);
  });

  test("a server that does not say (no header, before 23.9 no elapsed_ns, not JSON) gives null", () => {
    expect(elapsedMsOfSummary(undefined)).toBeNull();
    expect(elapsedMsOfSummary('{"read_rows":"5"}')).toBeNull();
    expect(elapsedMsOfSummary("not json")).toBeNull();
  });
});
