import { expect, test } from "bun:test";
import { dirname, resolve } from "node:path";

/**
 * Every module `import { footprint } from "eft-footprint"` loads, found by following its
 * runtime imports (type-only ones are erased): what another runtime must be able to run.
 */
async function loadedModules(entry: string): Promise<{ files: string[]; packages: string[] }> {
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  const files = new Set<string>();
  const packages = new Set<string>();
  const walk = async (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const { path } of transpiler.scanImports(await Bun.file(file).text())) {
      if (path.startsWith(".")) await walk(resolve(dirname(file), path));
      else packages.add(path);
    }
  };
  await walk(resolve(import.meta.dir, entry));
  return {
    files: [...files].map((f) => f.slice(resolve(import.meta.dir, "../..").length + 1)).sort(),
    packages: [...packages].sort(),
  };
}

test("the library loads no Node built-in and uses no Bun API outside a guarded fast path", async () => {
  const { files, packages } = await loadedModules("index.ts");
  expect(files).toContain("src/footprint/http-recorder.ts");
  expect(packages.filter((p) => p.startsWith("node:") || p.startsWith("bun"))).toEqual([]);
  expect(packages).toEqual([
    "@noble/hashes/hmac.js",
    "@noble/hashes/sha2.js",
    "@noble/hashes/utils.js",
    "hono/route",
    "isbot",
  ]);
  for (const file of files) {
    const source = await Bun.file(file).text();
    // Code only: Bun named in comments is fine, and middleware.ts looks Bun.peek up through globalThis.
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    expect({ file, uses: code.match(/\bBun\.\w+/g) ?? [] }).toEqual({
      file,
      uses: file.endsWith("middleware.ts") ? ["Bun.peek"] : [],
    });
  }
});
