/**
 * The soak in CI: the compiled binary for EFT_SOAK_MINUTES (default 10) at a steady load with a
 * fault every 2 minutes (test/support/soak-run.ts), on a stack of its own. Fails when an event is
 * lost or stored twice, or when memory or open files grow (soak-report.ts says how that is
 * judged). Writes its section of docs/RELIABILITY.md and docs/soak.svg. Skipped with
 * EFT_SKIP_FAULTS=1, like the fault suite (or EFT_SKIP_SOAK=1 alone); the long run is
 * `./scripts/soak.ts 60m`.
 */
import { describe, expect, test } from "bun:test";
import { repoRoot } from "../test/support/binary.ts";
import { soakProblems, writeSoakReport } from "../test/support/soak-report.ts";
import { runSoak, SOAK_DEFAULTS } from "../test/support/soak-run.ts";

const skip = process.env.EFT_SKIP_FAULTS === "1" || process.env.EFT_SKIP_SOAK === "1";
const minutes = Number(process.env.EFT_SOAK_MINUTES ?? SOAK_DEFAULTS.minutes) || SOAK_DEFAULTS.minutes;
/** A shorter local run keeps about four faults in it. */
const faultEveryMinutes = Math.min(SOAK_DEFAULTS.faultEveryMinutes, minutes / 5);

describe.skipIf(skip)("the soak (own stack, compiled binary)", () => {
  test(
    `${minutes} minutes at a steady load, a fault every ${faultEveryMinutes} min: nothing lost or doubled, memory flat`,
    async () => {
      const result = await runSoak(
        {
          ...SOAK_DEFAULTS,
          minutes,
          faultEveryMinutes,
          log: (line) => console.error(line),
        },
        // CI purges its stacks; a developer's stays up for the next run.
        process.env.CI === "true",
      );
      const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repoRoot }).stdout.toString().trim();
      writeSoakReport(result, commit || "unknown", `EFT_SOAK_MINUTES=${minutes} bun test e2e/soak.test.ts`);
      expect(soakProblems(result)).toEqual([]);
    },
    // The run, the stack's start and the drain at the end.
    minutes * 60_000 + 15 * 60_000,
  );
});
