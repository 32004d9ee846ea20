import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { workerEntry } from "./worker-entry.ts";

test("from source, a worker's entry is found from the project root", () => {
  for (const entry of ["app/consumer-worker.ts", "src/footprint/capture-worker.ts"]) {
    expect(existsSync(fileURLToPath(workerEntry(entry)))).toBe(true);
  }
});

test("in the compiled binary, it is found under /$bunfs/root at its path from the project root", () => {
  expect(workerEntry("app/consumer-worker.ts", "file:///$bunfs/root/eft-footprint")).toBe(
    "file:///$bunfs/root/app/consumer-worker.ts",
  );
});
