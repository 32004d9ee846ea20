/**
 * The fixture apps of test/fixtures/runtime-apps, run on their real runtimes (Deno, Node, workerd
 * through miniflare, Bun) the way a user of the published package would: each in a directory of its
 * own whose node_modules holds `eft-footprint` (this repo, so its package.json `exports` decide what
 * each runtime loads), hono and the library's other imports, and the runtime's own packages from
 * scripts/install-runtimes.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoRoot } from "./binary.ts";
import { waitFor } from "./wait-for.ts";

export const RUNTIMES = ["bun", "node", "deno", "workerd"] as const;
export type Runtime = (typeof RUNTIMES)[number];

const FIXTURES = join(repoRoot, "test/fixtures/runtime-apps");

export function run(what: string, cmd: string[], cwd = repoRoot): string {
  const result = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: process.env });
  if (result.exitCode !== 0) {
    throw new Error(`${what} failed (${result.exitCode}):\n${result.stderr.toString()}${result.stdout.toString()}`);
  }
  return result.stdout.toString();
}

/** scripts/install-runtimes (quick when its cache dir is there): the dir holding their node_modules. */
export function installRuntimes(): string {
  return (
    run("scripts/install-runtimes", [join(repoRoot, "scripts/install-runtimes")])
      .trim()
      .split("\n")
      .at(-1) ?? ""
  );
}

/** scripts/build-lib without declarations: dist/lib/index.js, what Deno, Node and Workers import. */
export function buildLibrary(): string {
  run("scripts/build-lib", [join(repoRoot, "scripts/build-lib"), "--no-types"]);
  return join(repoRoot, "dist/lib/index.js");
}

/**
 * Deno's own binary: the package's bin (`.bin/deno`) is a Node script that runs it as a child, and
 * a signal to the script would leave Deno running. scripts/install-runtimes puts it there.
 */
export function denoBinary(runtimesDir: string): string {
  return join(runtimesDir, "node_modules/deno/deno");
}

export type RuntimeApps = {
  /** The command that serves `runtime`'s app on `port`, and the directory to run it in. */
  command(runtime: Runtime, port: number): { cmd: string[]; cwd: string };
  remove(): void;
};

function link(target: string, path: string): void {
  if (!existsSync(target)) throw new Error(`${target} is missing (bun install, scripts/install-runtimes)`);
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
}

/**
 * Makes `dir` a package whose node_modules has what an app of the published library has:
 * `eft-footprint` (this repo), its imports, hono, and the runtimes' own packages.
 */
export function linkPackages(dir: string, runtimesDir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), '{ "private": true, "type": "module" }\n');
  link(repoRoot, join(dir, "node_modules/eft-footprint"));
  const repoModules = join(repoRoot, "node_modules");
  for (const name of ["hono", "isbot", "zod", "@noble/hashes"]) {
    if (existsSync(join(repoModules, name))) link(join(repoModules, name), join(dir, "node_modules", name));
  }
  for (const name of ["@hono/node-server", "miniflare"]) {
    link(join(runtimesDir, "node_modules", name), join(dir, "node_modules", name));
  }
}

/**
 * Lays out one directory per runtime under a temporary dir and builds what must be built: Node
 * runs JavaScript (bun build, packages left as imports), a Worker is one bundle with Hono and the
 * library in it (bun build with the workerd/worker conditions, as wrangler's esbuild does).
 */
export function prepareRuntimeApps(runtimesDir: string): RuntimeApps {
  const root = mkdtempSync(join(tmpdir(), "eft-runtime-apps-"));
  for (const runtime of RUNTIMES) {
    const dir = join(root, runtime);
    cpSync(join(FIXTURES, runtime), dir, { recursive: true });
    linkPackages(dir, runtimesDir);
  }
  const bun = process.execPath;
  run(
    "bun build (node app)",
    [bun, "build", "app.ts", "--target", "node", "--packages", "external", "--outfile", "app.js"],
    join(root, "node"),
  );
  run(
    "bun build (worker)",
    [
      bun,
      "build",
      "app.ts",
      "--target",
      "browser",
      "--conditions",
      "workerd",
      "--conditions",
      "worker",
      "--outfile",
      "worker.js",
    ],
    join(root, "workerd"),
  );
  const deno = denoBinary(runtimesDir);
  return {
    command(runtime, port) {
      const cwd = join(root, runtime);
      switch (runtime) {
        case "bun":
          return { cmd: [bun, "run", "app.ts"], cwd };
        case "node":
          return { cmd: ["node", "app.js"], cwd };
        case "deno":
          // manual: Deno resolves packages in ./node_modules, as Node does, with the "deno" condition.
          return {
            cmd: [
              deno,
              "run",
              "--allow-net",
              "--allow-env",
              "--allow-read",
              "--node-modules-dir=manual",
              "--no-lock",
              "app.ts",
            ],
            cwd,
          };
        case "workerd":
          return { cmd: ["node", "run.mjs", "worker.js", String(port)], cwd };
      }
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export type RecorderStats = { queued: number; sent: number; dropped: number; lost: number; retries: number };

export type RunningRuntimeApp = {
  url: string;
  pid: number;
  /** stdout and stderr so far (the default error reporter writes to stderr; workerd's console goes through miniflare). */
  output(): string;
  stats(): Promise<RecorderStats | null>;
  stop(timeoutMs?: number): Promise<number>;
};

/** Starts `runtime`'s app on `port` with the ingest URL and key; resolves once it answers `/stats`. */
export async function startRuntimeApp(
  apps: RuntimeApps,
  runtime: Runtime,
  port: number,
  ingest: { url: string; key: string },
  timeoutMs = 60_000,
): Promise<RunningRuntimeApp> {
  const { cmd, cwd } = apps.command(runtime, port);
  const proc = Bun.spawn(cmd, {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      PORT: String(port),
      INGEST_URL: ingest.url,
      INGEST_KEY: ingest.key,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (stopTimeoutMs = 10_000) => {
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), stopTimeoutMs);
    const code = await proc.exited;
    clearTimeout(timer);
    return code;
  };
  let answered = false;
  try {
    await Promise.race([
      waitFor(
        `${runtime} app on ${url}`,
        () => fetch(`${url}/stats`).then((r) => r.status),
        (s) => s === 200,
        timeoutMs,
      ),
      proc.exited.then((code) => {
        if (!answered) throw new Error(`${runtime} app exited with ${code} before answering:\n${output}`);
      }),
    ]);
    answered = true;
  } catch (err) {
    answered = true; // the exit that stop() causes is not news
    await stop();
    throw err;
  }
  return {
    url,
    pid: proc.pid,
    output: () => output,
    stats: async () => (await (await fetch(`${url}/stats`)).json()) as RecorderStats | null,
    stop,
  };
}
