import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumeUnit, envTemplate, serveUnit } from "../deploy/index.ts";
import { ensureBinary } from "../test/support/binary.ts";

/**
 * `install --prefix` with the compiled binary (the units and env template come from inside it),
 * then `systemd-analyze verify` on what it wrote, as systemd would load it on the target host.
 * scripts/install-deploy-tools installs the tool (scripts/test runs it).
 */
describe("install into a prefix (compiled binary) and systemd-analyze verify", () => {
  let root: string;
  let binary: string;
  const run = (...args: string[]) => {
    const r = Bun.spawnSync([binary, ...args], { env: { PATH: process.env.PATH ?? "" } });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  beforeAll(async () => {
    binary = await ensureBinary();
    root = mkdtempSync(join(tmpdir(), "eft-prefix-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("writes the expected files and runs nothing on the host", () => {
    const first = run("install", "--prefix", root);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(readFileSync(join(root, "etc/systemd/system/eft-footprint.service"), "utf8")).toBe(serveUnit);
    expect(readFileSync(join(root, "etc/systemd/system/eft-footprint-consume@.service"), "utf8")).toBe(consumeUnit);
    expect(readFileSync(join(root, "etc/eft-footprint/env"), "utf8")).toBe(envTemplate);
    expect(readFileSync(join(root, "etc/eft-footprint/env.example"), "utf8")).toBe(envTemplate);
    expect(statSync(join(root, "usr/local/bin/eft-footprint")).size).toBe(statSync(binary).size);
    expect(existsSync(join(root, "usr/lib/sysusers.d/eft-footprint.conf"))).toBe(true);
    expect(statSync(join(root, "var/lib/eft-footprint")).isDirectory()).toBe(true);
    expect(statSync(join(root, "var/log/eft-footprint")).isDirectory()).toBe(true);
    expect(first.out).toContain("would run useradd --system");
    expect(first.out).toContain("would run systemctl daemon-reload");

    const installed = Bun.spawnSync([join(root, "usr/local/bin/eft-footprint"), "--version"]);
    expect(installed.stdout.toString()).toBe(Bun.spawnSync([binary, "--version"]).stdout.toString());
  });

  test("a second install changes nothing and keeps an edited env file", () => {
    writeFileSync(join(root, "etc/eft-footprint/env"), "KAFKA_BROKERS=kafka.internal:9092\n");
    const again = run("install", "--prefix", root);
    expect(again.code).toBe(0);
    expect(again.out).not.toMatch(/^(created|updated)/m);
    expect(readFileSync(join(root, "etc/eft-footprint/env"), "utf8")).toBe("KAFKA_BROKERS=kafka.internal:9092\n");
  });

  test("systemd-analyze verify accepts both units", () => {
    // systemd resolves the units' dependencies (multi-user.target, sysinit.target, …) inside the
    // root: give it the host's own unit files there.
    const hostUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(d));
    expect(hostUnits).toBeDefined();
    cpSync(hostUnits as string, join(root, "usr/lib/systemd/system"), { recursive: true, verbatimSymlinks: true });
    const verify = Bun.spawnSync([
      "systemd-analyze",
      "verify",
      `--root=${root}`,
      join(root, "etc/systemd/system/eft-footprint.service"),
      join(root, "etc/systemd/system/eft-footprint-consume@.service"),
    ]);
    const output = `${verify.stdout}${verify.stderr}`.trim();
    const version = Number(
      /systemd (\d+)/.exec(Bun.spawnSync(["systemd-analyze", "--version"]).stdout.toString())?.[1],
    );
    // RestartSteps= and RestartMaxDelaySec= (the restart back-off) exist from systemd 254 on; older
    // ones say they ignore them, which is what the unit's comment promises.
    const problems = output
      .split("\n")
      .filter(Boolean)
      .filter((line) => !(version < 254 && /Unknown key '(RestartSteps|RestartMaxDelaySec)'/.test(line)));
    expect(problems).toEqual([]);
    expect(verify.exitCode).toBe(0);
  });

  test("systemd-analyze verify fails when the unit's binary is missing (the check can fail)", () => {
    rmSync(join(root, "usr/local/bin/eft-footprint"));
    const verify = Bun.spawnSync([
      "systemd-analyze",
      "verify",
      `--root=${root}`,
      join(root, "etc/systemd/system/eft-footprint.service"),
    ]);
    expect(verify.exitCode).not.toBe(0);
    expect(verify.stderr.toString()).toContain("/usr/local/bin/eft-footprint");
  });

  test("uninstall removes units and binary and keeps the env file; --purge removes the rest", () => {
    run("install", "--prefix", root);
    const un = run("uninstall", "--prefix", root);
    expect(un.code).toBe(0);
    expect(existsSync(join(root, "etc/systemd/system/eft-footprint.service"))).toBe(false);
    expect(existsSync(join(root, "usr/local/bin/eft-footprint"))).toBe(false);
    expect(existsSync(join(root, "etc/eft-footprint/env"))).toBe(true);
    const purge = run("uninstall", "--purge", "--prefix", root);
    expect(purge.code).toBe(0);
    expect(existsSync(join(root, "etc/eft-footprint"))).toBe(false);
    expect(existsSync(join(root, "var/lib/eft-footprint"))).toBe(false);
    expect(purge.out).toContain("would run userdel eft-footprint");
  });
});
