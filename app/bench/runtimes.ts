#!/usr/bin/env bun
/**
 * The footprint library on each runtime: its size, and what it costs a request, recorded vs not,
 * in one run per runtime (app/bench/runtime-cost.ts, through `app.fetch`, the recorder's POSTs
 * answered by a stub). Not a test: it prints a Markdown table.
 *
 *   bun app/bench/runtimes.ts [--rounds 10] [--per-round 5000]
 *
 * Runtimes come from scripts/install-runtimes and the library from scripts/build-lib, as in
 * e2e/runtimes.test.ts. workerd's clock stands still while a Worker computes, so there each round
 * is one HTTP call to a Worker that runs the requests, timed from here (its ~1 ms round trip is
 * spread over the round's requests).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "bun";
import { closedPort } from "../../test/support/closed-port.ts";
import { buildLibrary, denoBinary, installRuntimes, linkPackages, run } from "../../test/support/runtime-app.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import type { CostResult } from "./runtime-cost.ts";

const { values } = parseArgs({ options: { rounds: { type: "string" }, "per-round": { type: "string" } } });
const rounds = Number(values.rounds ?? 10);
const perRound = Number(values["per-round"] ?? 5000);
if (!(Number.isInteger(rounds) && rounds > 0 && Number.isInteger(perRound) && perRound > 0)) {
  console.error("bench runtimes: --rounds and --per-round must be positive integers");
  process.exit(2);
}

const runtimesDir = installRuntimes();
const bundle = buildLibrary();
const dir = mkdtempSync(join(tmpdir(), "eft-bench-runtimes-"));
const bun = process.execPath;
const deno = denoBinary(runtimesDir);

try {
  linkPackages(dir, runtimesDir);
  for (const file of ["runtime-cost.ts", "runtime-cost-main.ts", "runtime-cost-worker.ts"]) {
    cpSync(join(import.meta.dir, file), join(dir, file));
  }
  cpSync(join(import.meta.dir, "../../test/fixtures/runtime-apps/workerd/run.mjs"), join(dir, "run.mjs"));
  run(
    "bun build (node)",
    [bun, "build", "runtime-cost-main.ts", "--target", "node", "--packages", "external", "--outfile", "main.js"],
    dir,
  );
  const worker = (entry: string, out: string) =>
    run(
      `bun build (${out})`,
      [bun, "build", entry, "--target", "browser", "--conditions", "workerd", "--minify", "--outfile", out],
      dir,
    );
  worker("runtime-cost-worker.ts", "worker.js");
  // The size a Worker grows by: a Hono app with the footprint and recorder against the same app without.
  writeFileSync(
    join(dir, "plain-worker.ts"),
    'import { Hono } from "hono";\nexport default new Hono().get("/items/:id", (c) => c.json({ id: c.req.param("id") }));\n',
  );
  writeFileSync(
    join(dir, "footprint-worker.ts"),
    'import { footprint, httpRecorder } from "eft-footprint";\nimport { Hono } from "hono";\nconst recorder = httpRecorder({ url: "http://x/", key: "k" });\nexport default new Hono().use(footprint({ record: recorder.record })).get("/items/:id", (c) => c.json({ id: c.req.param("id") }));\n',
  );
  worker("plain-worker.ts", "plain.js");
  worker("footprint-worker.ts", "footprint.js");
  const size = (path: string) => {
    const bytes = readFileSync(path);
    return { raw: bytes.length, gzip: gzipSync(bytes).length };
  };

  const results: [string, CostResult][] = [];
  const inProcess = (cmd: string[]) =>
    JSON.parse(
      run(cmd[0] ?? "", cmd, dir)
        .trim()
        .split("\n")
        .at(-1) ?? "",
    ) as CostResult;
  results.push(["bun", inProcess([bun, "run", "runtime-cost-main.ts", String(rounds), String(perRound)])]);
  results.push(["node", inProcess(["node", "main.js", String(rounds), String(perRound)])]);
  results.push([
    "deno",
    inProcess([
      deno,
      "run",
      "--allow-env",
      "--allow-read",
      "--node-modules-dir=manual",
      "--no-lock",
      "runtime-cost-main.ts",
      String(rounds),
      String(perRound),
    ]),
  ]);
  results.push(["workerd", await measureWorkerd(dir)]);

  const lib = size(bundle);
  const plain = size(join(dir, "plain.js"));
  const withFootprint = size(join(dir, "footprint.js"));
  console.log(
    `library: dist/lib/index.js ${lib.raw} bytes, ${lib.gzip} gzipped (hono, isbot and @noble/hashes are imports)`,
  );
  console.log(
    `a Worker (minified, bundled): Hono alone ${plain.raw} bytes (${plain.gzip} gz), with footprint + httpRecorder ${withFootprint.raw} (${withFootprint.gzip} gz): +${withFootprint.raw - plain.raw} (+${withFootprint.gzip - plain.gzip} gz)`,
  );
  console.log(`\n${rounds} alternated rounds of ${perRound} requests through app.fetch, median µs a request:\n`);
  console.log("| runtime | without footprint | with footprint + httpRecorder | cost of a footprint |");
  console.log("|---|---:|---:|---:|");
  for (const [runtime, r] of results) {
    console.log(`| ${runtime} | ${r.offUs.toFixed(2)} | ${r.onUs.toFixed(2)} | ${(r.onUs - r.offUs).toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function measureWorkerd(cwd: string): Promise<CostResult> {
  const port = closedPort();
  const proc = Bun.spawn(["node", "run.mjs", "worker.js", String(port)], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    const call = async (app: "on" | "off", n: number) => {
      const res = await fetch(`${url}/run?app=${app}&n=${n}`);
      if (!res.ok) throw new Error(`workerd answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { sent: number }).sent;
    };
    await waitFor("workerd", () => call("off", 1).then(() => true), Boolean, 60_000);
    await call("off", perRound);
    await call("on", perRound);
    const off: number[] = [];
    const on: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const app of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
        const started = performance.now();
        await call(app, perRound);
        (app === "on" ? on : off).push(((performance.now() - started) * 1000) / perRound);
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
    return { offUs: median(off), onUs: median(on), rounds, perRound, sent: await call("off", 0) };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}
