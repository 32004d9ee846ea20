/**
 * The layers of the tree, and the one direction imports may run (docs/development.md#layers):
 *
 *   app/ (entry: CLI, commands, createApp, bench) → routes/ | consumer/ → src/ (core) → sql/
 *
 * routes/ and consumer/ are siblings that never import each other. Product code never imports
 * test helpers or end-to-end tests; only a stand-alone dev script (a `#!` file the binary never
 * reaches) may borrow them. Test files follow the same rule as the code beside them, except that
 * they may use test/support/ and test/fixtures/.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

type Layer = "app" | "routes" | "consumer" | "src" | "sql" | "deploy" | "test" | "e2e" | "scripts";

/** What each layer may import (besides itself and packages). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  app: ["routes", "consumer", "src", "sql", "deploy"],
  routes: ["src", "sql"],
  consumer: ["src", "sql"],
  src: ["sql"],
  sql: [],
  deploy: ["src"],
  test: ["app", "routes", "consumer", "src", "sql", "deploy", "scripts"],
  e2e: ["test", "app", "routes", "consumer", "src", "sql", "deploy", "scripts"],
  scripts: ["src", "sql"],
};
const TEST_HELPERS: readonly Layer[] = ["test"];

function layerOf(path: string): Layer | undefined {
  const top = relative(root, path).split("/")[0] as Layer;
  return top in ALLOWED ? top : undefined;
}

function sourceFiles(): string[] {
  const glob = new Bun.Glob("{app,routes,consumer,src,sql,deploy,test,e2e,scripts}/**/*.{ts,js}");
  return [...glob.scanSync({ cwd: root })].map((f) => join(root, f));
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Every relative import of `file`, as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/^#!.*/, "");
  return transpiler
    .scanImports(text)
    .map((i) => i.path)
    .filter((p) => p.startsWith("."))
    .map((p) => resolve(dirname(file), p));
}

/** Imports that break the layering, as `from → to` lines relative to the repository. */
export function layerViolations(files: readonly string[], read = importsOf): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    if (!from) continue;
    const isTest = /\.test\.ts$/.test(file);
    const isScript = readFileSync(file, "utf8").startsWith("#!");
    for (const target of read(file)) {
      const to = layerOf(target);
      if (!to || to === from) continue;
      if (ALLOWED[from].includes(to)) continue;
      if ((isTest || isScript) && TEST_HELPERS.includes(to)) continue;
      out.push(`${relative(root, file)} → ${relative(root, target)}`);
    }
  }
  return out;
}

describe("layers", () => {
  test("no import runs upward or sideways", () => {
    expect(layerViolations(sourceFiles())).toEqual([]);
  });

  test("the check sees an upward import (core → routes, routes → consumer)", () => {
    const core = join(root, "src/config.ts");
    const route = join(root, "routes/stats.ts");
    const fake = (file: string) =>
      file === core ? [join(root, "routes/stats.ts")] : [join(root, "consumer/consume.ts")];
    expect(layerViolations([core, route], fake)).toEqual([
      "src/config.ts → routes/stats.ts",
      "routes/stats.ts → consumer/consume.ts",
    ]);
  });

  test("test helpers are only for tests and dev scripts", () => {
    const product = join(root, "src/config.ts");
    expect(layerViolations([product], () => [join(root, "test/support/stack.ts")])).toEqual([
      "src/config.ts → test/support/stack.ts",
    ]);
    expect(layerViolations([join(root, "src/config.test.ts")], () => [join(root, "test/support/stack.ts")])).toEqual(
      [],
    );
  });
});
