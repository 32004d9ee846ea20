/**
 * The URL of a Worker's entry file, given by its path from the project root (`app/x.ts`).
 *
 * From source the file is found from the project root (this file is in `src/`). In the compiled
 * binary every module's `import.meta.url` is the binary's (`/$bunfs/root/<name>`) and each extra
 * entry point of `bun build --compile` (compile.sh) sits under `/$bunfs/root/` at its path from the
 * common root of all entry points — the project root, as long as the entry points include both
 * `app/` and `src/` files.
 */
export function workerEntry(fromProjectRoot: string, moduleUrl: string = import.meta.url): string {
  const compiled = moduleUrl.startsWith("file:///$bunfs/");
  const root = compiled ? "file:///$bunfs/root/" : new URL("../", moduleUrl).href;
  return new URL(fromProjectRoot, root).href;
}
