#!/usr/bin/env bun
/**
 * The footprint library on each runtime: its size, and what it costs a request, recorded vs not,
 * in one run per runtime (app/bench/runtime-cost.ts, through `app.fetch`, the recorder's POSTs
 * answered by a stub). Not a test: it prints a Markdown table.
 *
 *   bun app/bench/runtimes.ts [--rounds 10] [--per-round 5000] [--bytes-out]
 *
 * `--bytes-out` measures instead the ways to learn the size of a body without Content-Length
 * (app/bench/bytes-out-cost.ts), each alone against no middleware, on the same runtimes.
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
import type { BytesOutResult } from "./bytes-out-cost.ts";
import type { CostResult } from "./runtime-cost.ts";

const USAGE = "usage: bun app/bench/runtimes.ts [--rounds N] [--per-round N] [--bytes-out]";
const { values } = (() => {
  try {
    return parseArgs({
      options: { rounds: { type: "string" }, "per-round": { type: "string" }, "bytes-out": { type: "boolean" } },
    });
  } catch (err) {
    console.error(`bench runtimes: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
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
/** Deno running a script of the bench's dir, with the packages linked there (no lock file). */
const denoRun = (script: string, args: string[]) => [
  deno,
  "run",
  "--allow-env",
  "--allow-read",
  "--node-modules-dir=manual",
  "--no-lock",
  script,
  ...args,
];

try {
  linkPackages(dir, runtimesDir);
  const bench = values["bytes-out"] ? "bytes-out-cost" : "runtime-cost";
  for (const file of [`${bench}.ts`, `${bench}-main.ts`, `${bench}-worker.ts`]) {
    cpSync(join(import.meta.dir, file), join(dir, file));
  }
  cpSync(join(import.meta.dir, "../../test/fixtures/runtime-apps/workerd/run.mjs"), join(dir, "run.mjs"));
  run(
    "bun build (node)",
    [bun, "build", `${bench}-main.ts`, "--target", "node", "--packages", "external", "--outfile", "main.js"],
    dir,
  );
  const worker = (entry: string, out: string) =>
    run(
      `bun build (${out})`,
      [bun, "build", entry, "--target", "browser", "--conditions", "workerd", "--minify", "--outfile", out],
      dir,
    );
  worker(`${bench}-worker.ts`, "worker.js");
  if (values["bytes-out"]) await compareBytesOut(dir, bun);
  else {
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
    const inProcess = (cmd: string[]) => lastJsonLine<CostResult>(cmd, dir);
    results.push(["bun", inProcess([bun, "run", "runtime-cost-main.ts", String(rounds), String(perRound)])]);
    results.push(["node", inProcess(["node", "main.js", String(rounds), String(perRound)])]);
    results.push(["deno", inProcess(denoRun("runtime-cost-main.ts", [String(rounds), String(perRound)]))]);
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
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

async function measureWorkerd(cwd: string): Promise<CostResult> {
  const { us, last } = await timeWorkerd(cwd, ["off", "on"]);
  return { offUs: us.off ?? Number.NaN, onUs: us.on ?? Number.NaN, rounds, perRound, sent: last.sent as number };
}

/**
 * Median µs a request of each of the Worker's `apps` (`GET /run?app=<name>&n=N`), rounds of each
 * alternated; `last` is the Worker's answer to a final call of none.
 */
async function timeWorkerd(
  cwd: string,
  apps: string[],
): Promise<{ us: Record<string, number>; last: Record<string, unknown> }> {
  const port = closedPort();
  const proc = Bun.spawn(["node", "run.mjs", "worker.js", String(port)], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    const call = async (app: string, n: number) => {
      const res = await fetch(`${url}/run?app=${encodeURIComponent(app)}&n=${n}`);
      if (!res.ok) throw new Error(`workerd answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const first = apps[0] ?? "";
    await waitFor("workerd", () => call(first, 1).then(() => true), Boolean, 60_000);
    for (const app of apps) await call(app, perRound);
    const times = new Map<string, number[]>(apps.map((app) => [app, []]));
    for (let r = 0; r < rounds; r++) {
      for (const app of r % 2 === 0 ? apps : [...apps].reverse()) {
        const started = performance.now();
        await call(app, perRound);
        times.get(app)?.push(((performance.now() - started) * 1000) / perRound);
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
    return {
      us: Object.fromEntries(apps.map((app) => [app, median(times.get(app) ?? [])])),
      last: await call(first, 0),
    };
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

/** Runs a measuring script to its end; its result is the JSON of its last line of output. */
function lastJsonLine<T>(cmd: string[], cwd: string): T {
  return JSON.parse(
    run(cmd[0] ?? "", cmd, cwd)
      .trim()
      .split("\n")
      .at(-1) ?? "",
  ) as T;
}

/** The bytes-out candidates on Node, Deno and workerd (Bun keeps its own path): a Markdown table. */
async function compareBytesOut(cwd: string, bun: string): Promise<void> {
  const inProcess = (cmd: string[]) => lastJsonLine<BytesOutResult>(cmd, cwd);
  const args = [String(rounds), String(perRound)];
  const results: [string, BytesOutResult][] = [
    ["bun", inProcess([bun, "run", "bytes-out-cost-main.ts", ...args])],
    ["node", inProcess(["node", "main.js", ...args])],
    ["deno", inProcess(denoRun("bytes-out-cost-main.ts", args))],
  ];
  const names = Object.keys(results[0]?.[1].us ?? {});
  const workerd = await timeWorkerd(cwd, names);
  results.push(["workerd", { us: workerd.us, wrong: workerd.last.wrong as number }]);
  console.log(`\n${rounds} alternated rounds of ${perRound} requests through app.fetch, median µs a request:\n`);
  const candidates = names.filter((name) => name !== "none");
  console.log(`| runtime | no middleware | ${candidates.map((c) => `+ ${c}`).join(" | ")} | wrong sizes |`);
  console.log(`|---|---:|${candidates.map(() => "---:|").join("")}---:|`);
  for (const [runtime, r] of results) {
    const none = r.us.none ?? Number.NaN;
    const cells = candidates.map((c) => {
      const added = (r.us[c] ?? Number.NaN) - none;
      return `${added < 0 ? "" : "+"}${added.toFixed(1)}`;
    });
    console.log(`| ${runtime} | ${none.toFixed(1)} | ${cells.join(" | ")} | ${r.wrong} |`);
  }
}
