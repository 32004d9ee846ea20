/**
 * The consumer and the producer side (middleware, producer loop, spool) are where delivery is
 * decided; they stay readable in small functions, each one concept. A function that grows past
 * MAX_LINES (inner functions included) fails here: split it rather than raise the limit.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as ts from "typescript";

const MAX_LINES = 80;
const root = resolve(import.meta.dir, "..");
const GUARDED = ["consumer/*.ts", "src/footprint/*.ts"];

/** Functions of `text` longer than `max` lines, as `name (lines a-b)`. */
export function longFunctions(fileName: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line + 1;
      if (last - first + 1 > max) out.push(`${nameOf(node)} (lines ${first}-${last})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function nameOf(node: ts.Node): string {
  const named = (node as { name?: ts.Node }).name;
  if (named) return named.getText();
  if (ts.isVariableDeclaration(node.parent)) return node.parent.name.getText();
  return "<anonymous>";
}

test(`no function in ${GUARDED.join(", ")} is over ${MAX_LINES} lines`, () => {
  const files = GUARDED.flatMap((pattern) => [...new Bun.Glob(pattern).scanSync({ cwd: root })]).filter(
    (f) => !f.endsWith(".test.ts"),
  );
  expect(files.length).toBeGreaterThan(10);
  const long = files.flatMap((f) =>
    longFunctions(f, readFileSync(join(root, f), "utf8"), MAX_LINES).map((l) => `${f}: ${l}`),
  );
  expect(long).toEqual([]);
});

test("the check counts a long function, inner functions included", () => {
  const body = Array.from({ length: 6 }, (_, i) => `  const v${i} = ${i};`).join("\n");
  const text = `export function outer() {\n  function inner() {\n${body}\n  }\n${body}\n}\n`;
  expect(longFunctions("x.ts", text, 10)).toEqual(["outer (lines 1-16)"]);
  expect(longFunctions("x.ts", text, 16)).toEqual([]);
});
