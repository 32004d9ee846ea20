import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../test/support/binary.ts";

/** ELF e_machine of a file: 62 is x86-64, 183 is AArch64. */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, "r");
  readSync(fd, header, 0, 20, 0);
  expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

/**
 * `./compile.sh --all`: the three release binaries with their SHA-256 sums. Cross-compiling needs
 * Bun's runtime for each target, fetched once from the npm registry into ~/.bun/install/cache.
 */
describe("compile.sh --all", () => {
  const dist = mkdtempSync(join(tmpdir(), "eft-dist-"));
  afterAll(() => rmSync(dist, { recursive: true, force: true }));

  test("builds linux-x64, linux-x64-baseline and linux-arm64 with verifiable sums", () => {
    const build = Bun.spawnSync(["bash", join(repoRoot, "compile.sh"), "--all", "--dist", dist], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
    });
    const out = build.stdout.toString();
    expect(build.exitCode).toBe(0);
    const machines = { "linux-x64": 62, "linux-x64-baseline": 62, "linux-arm64": 183 } as const;
    for (const [target, machine] of Object.entries(machines)) {
      const file = join(dist, `eft-footprint-${target}`);
      expect(out).toContain(`built ${file}`);
      expect(elfMachine(file)).toBe(machine);
      expect(statSync(file).size).toBeGreaterThan(50_000_000);
      const [sum, name] = readFileSync(`${file}.sha256`, "utf8").trim().split(/\s+/);
      expect(name).toBe(`eft-footprint-${target}`);
      expect(sum).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(file)).digest("hex"));
    }
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: dist });
    expect(check.stdout.toString().trim().split("\n")).toHaveLength(3);
    expect(check.exitCode).toBe(0);

    // The x64 build runs here and carries the version and commit.
    const version = Bun.spawnSync([join(dist, "eft-footprint-linux-x64"), "--version"]).stdout.toString();
    expect(version).toMatch(/^eft-footprint \d+\.\d+\.\d+ \(\S+\)\n$/);
  }, 300_000);
});
