import { afterEach, describe, expect, test } from "bun:test";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumeUnit, envTemplate, serveUnit } from "../../deploy/index.ts";
import { AppError } from "../../src/errors.ts";
import { type HostSystem, LAYOUT, runInstall, runUninstall } from "./install.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A root directory with a fake binary, and a host that records the commands it is asked to run. */
function setup(host: Partial<HostSystem> = {}) {
  const root = mkdtempSync(join(tmpdir(), "eft-install-"));
  dirs.push(root);
  const binary = join(root, "build", "eft-footprint");
  mkdirSync(join(root, "build"));
  writeFileSync(binary, "#!/bin/sh\necho fake eft-footprint\n");
  const ran: string[] = [];
  const users = new Set<string>();
  const system: HostSystem = {
    isRoot: true,
    systemdRunning: true,
    userExists: (name) => users.has(name),
    run(command) {
      ran.push(command.join(" "));
      if (command[0] === "useradd") users.add(command.at(-1) as string);
      if (command[0] === "userdel") users.delete(command.at(-1) as string);
      return { code: 0, output: "" };
    },
    ...host,
  };
  const lines: string[] = [];
  const options = { root, binary, system, live: true, print: (line: string) => lines.push(line) };
  return { root, binary, ran, users, lines, options, at: (p: string) => join(root, p) };
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("install", () => {
  test("writes binary, units, env template and directories, then creates the user and reloads systemd", () => {
    const t = setup();
    runInstall(t.options);

    expect(readFileSync(t.at(LAYOUT.binary), "utf8")).toBe(readFileSync(t.binary, "utf8"));
    expect(mode(t.at(LAYOUT.binary))).toBe("755");
    expect(readFileSync(t.at("etc/systemd/system/eft-footprint.service"), "utf8")).toBe(serveUnit);
    expect(readFileSync(t.at("etc/systemd/system/eft-footprint-consume@.service"), "utf8")).toBe(consumeUnit);
    expect(readFileSync(t.at("etc/eft-footprint/env"), "utf8")).toBe(envTemplate);
    expect(mode(t.at("etc/eft-footprint/env"))).toBe("640");
    expect(mode(t.at(LAYOUT.configDir))).toBe("750");
    expect(mode(t.at(LAYOUT.stateDir))).toBe("750");
    expect(mode(t.at(LAYOUT.logDir))).toBe("750");
    expect(mode(t.at("var"))).toBe("755"); // parents keep ordinary permissions
    expect(readFileSync(t.at(LAYOUT.sysusers), "utf8")).toContain(
      'u eft-footprint - "eft-footprint service" /var/lib/eft-footprint /usr/sbin/nologin',
    );
    expect(t.ran).toEqual([
      "useradd --system --user-group --home-dir /var/lib/eft-footprint --no-create-home --shell /usr/sbin/nologin --comment eft-footprint service eft-footprint",
      "chown root:eft-footprint /etc/eft-footprint /etc/eft-footprint/env",
      "chown eft-footprint:eft-footprint /var/lib/eft-footprint /var/log/eft-footprint",
      "systemctl daemon-reload",
    ]);
  });

  test("is idempotent: a second run changes nothing, keeps the operator's env, refreshes env.example", () => {
    const t = setup();
    runInstall(t.options);
    writeFileSync(t.at("etc/eft-footprint/env"), "KAFKA_BROKERS=kafka:9092\n");
    writeFileSync(t.at("etc/eft-footprint/env.example"), "old example\n");
    t.lines.length = 0;
    t.ran.length = 0;

    runInstall(t.options);

    expect(readFileSync(t.at("etc/eft-footprint/env"), "utf8")).toBe("KAFKA_BROKERS=kafka:9092\n");
    expect(readFileSync(t.at("etc/eft-footprint/env.example"), "utf8")).toBe(envTemplate);
    const changed = t.lines.filter((l) => /^(created|updated)/.test(l));
    expect(changed).toEqual([`updated   ${t.at("etc/eft-footprint/env.example")}`]);
    expect(t.ran.some((c) => c.startsWith("useradd"))).toBe(false);
  });

  test("an upgrade replaces a different binary and changed units", () => {
    const t = setup();
    runInstall(t.options);
    writeFileSync(t.binary, "#!/bin/sh\necho newer\n");
    writeFileSync(t.at("etc/systemd/system/eft-footprint.service"), "[Service]\nExecStart=/bin/false\n");
    t.lines.length = 0;
    runInstall(t.options);
    expect(readFileSync(t.at(LAYOUT.binary), "utf8")).toContain("newer");
    expect(readFileSync(t.at("etc/systemd/system/eft-footprint.service"), "utf8")).toBe(serveUnit);
    expect(t.lines.filter((l) => l.startsWith("updated"))).toHaveLength(2);
  });

  test("under a prefix nothing outside it is run: the commands are printed", () => {
    const t = setup();
    runInstall({ ...t.options, live: false, system: { ...t.options.system, isRoot: false } });
    expect(t.ran).toEqual([]);
    expect(t.lines.filter((l) => l.startsWith("would run")).map((l) => l.split(" ")[2])).toEqual([
      "useradd",
      "chown",
      "chown",
      "systemctl",
    ]);
    expect(existsSync(t.at(LAYOUT.binary))).toBe(true);
  });

  test("on the real system it needs root", () => {
    const t = setup({ isRoot: false });
    expect(() => runInstall(t.options)).toThrow(AppError);
    expect(existsSync(t.at(LAYOUT.binary))).toBe(false);
  });

  test("a failing command stops the install with its output", () => {
    const t = setup({ run: () => ({ code: 9, output: "useradd: cannot lock /etc/passwd" }) });
    expect(() => runInstall(t.options)).toThrow(/useradd .* failed \(exit 9\): useradd: cannot lock/);
  });
});

describe("uninstall", () => {
  test("disables enabled units and instances, removes units and binary, keeps env, data and user", () => {
    const t = setup();
    runInstall(t.options);
    mkdirSync(t.at(LAYOUT.wantsDir), { recursive: true });
    for (const name of ["eft-footprint.service", "eft-footprint-consume@1.service", "other.service"]) {
      symlinkSync("/etc/systemd/system/x", t.at(join(LAYOUT.wantsDir, name)));
    }
    writeFileSync(t.at("var/lib/eft-footprint/spool"), "data");
    t.ran.length = 0;

    runUninstall({ ...t.options, purge: false });

    expect(t.ran).toEqual([
      "systemctl disable --now eft-footprint.service eft-footprint-consume@1.service",
      "systemctl stop eft-footprint-consume@*.service",
      "systemctl daemon-reload",
    ]);
    for (const gone of [
      LAYOUT.binary,
      "etc/systemd/system/eft-footprint.service",
      "etc/systemd/system/eft-footprint-consume@.service",
      LAYOUT.sysusers,
      "etc/eft-footprint/env.example",
    ]) {
      expect(existsSync(t.at(gone))).toBe(false);
    }
    expect(lstatSync(t.at(join(LAYOUT.wantsDir, "eft-footprint-consume@1.service")), { throwIfNoEntry: false })).toBe(
      undefined,
    );
    expect(lstatSync(t.at(join(LAYOUT.wantsDir, "other.service"))).isSymbolicLink()).toBe(true);
    expect(existsSync(t.at("etc/eft-footprint/env"))).toBe(true);
    expect(existsSync(t.at("var/lib/eft-footprint/spool"))).toBe(true);
    expect(t.users.has("eft-footprint")).toBe(true);
  });

  test("--purge also removes env, data, logs and the user", () => {
    const t = setup();
    runInstall(t.options);
    runUninstall({ ...t.options, purge: true });
    for (const gone of [LAYOUT.configDir, LAYOUT.stateDir, LAYOUT.logDir]) expect(existsSync(t.at(gone))).toBe(false);
    expect(t.users.has("eft-footprint")).toBe(false);
    expect(t.ran.at(-1)).toBe("userdel eft-footprint");
  });

  test("a unit systemd never loaded does not stop the uninstall", () => {
    const t = setup();
    runInstall(t.options);
    t.options.system.run = (command) =>
      command[1] === "disable" || command[1] === "stop"
        ? { code: 5, output: "Unit eft-footprint.service not loaded." }
        : { code: 0, output: "" };
    expect(() => runUninstall({ ...t.options, purge: false })).not.toThrow();
    expect(existsSync(t.at(LAYOUT.binary))).toBe(false);
  });
});
