import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { consumeUnit, envTemplate, serveUnit } from "../../deploy/index.ts";
import { AppError } from "../../src/errors.ts";
import { defineCommand } from "./command.ts";

/** install and uninstall take the same flags, as they always have (install ignores --purge). */
export const INSTALL_FLAGS = { prefix: { type: "string" }, purge: { type: "boolean" } } as const;

export const installCommand = defineCommand({
  name: "install",
  summary: "(root) install the binary, systemd units, service user, env template, directories",
  help: `Usage: eft-footprint install [--prefix <root>]

Installs this binary as /usr/local/bin/eft-footprint, the systemd units eft-footprint.service
(serve) and eft-footprint-consume@.service (extra consumers), the system user eft-footprint,
/etc/eft-footprint/env (a template with every setting; never overwritten, env.example beside it is
refreshed), /var/lib/eft-footprint and /var/log/eft-footprint. Safe to run again (upgrades the
binary and units). Needs root; it does not start anything.

  --prefix <root>  write the files under <root> instead of /, and only print the commands a real
                   install would run (useradd, chown, systemctl): for packaging and checking
`,
  options: INSTALL_FLAGS,
  async run({ values }) {
    runInstall({ ...installTarget("install", values.prefix), binary: process.execPath });
    return 0;
  },
});

/** Where install or uninstall works, on this host: `/`, or `--prefix` (then nothing live). */
export function installTarget(command: string, prefix: string | undefined): Omit<InstallOptions, "binary"> {
  if (!Bun.main.startsWith("/$bunfs/")) {
    throw new AppError("USAGE", `${command} works from the compiled binary only: build it with ./compile.sh`);
  }
  const root = resolve(prefix ?? "/");
  return { root, live: root === "/", system: hostSystem(), print: (line: string) => console.log(line) };
}

/** Where `install` puts things, relative to the root (`/`, or `--prefix`). */
export const LAYOUT = {
  binary: "usr/local/bin/eft-footprint",
  unitDir: "etc/systemd/system",
  wantsDir: "etc/systemd/system/multi-user.target.wants",
  configDir: "etc/eft-footprint",
  stateDir: "var/lib/eft-footprint",
  logDir: "var/log/eft-footprint",
  sysusers: "usr/lib/sysusers.d/eft-footprint.conf",
} as const;

export const SERVICE_USER = "eft-footprint";
export const UNITS: Readonly<Record<string, string>> = {
  "eft-footprint.service": serveUnit,
  "eft-footprint-consume@.service": consumeUnit,
};

// systemd-sysusers(8) format: the same user as the useradd below, for image builds and audits.
const SYSUSERS = `# The user eft-footprint's systemd units run as (written by eft-footprint install).
u ${SERVICE_USER} - "eft-footprint service" /${LAYOUT.stateDir} /usr/sbin/nologin
`;

/** What install/uninstall may change outside the root directory; a fake in tests. */
export type HostSystem = {
  isRoot: boolean;
  /** /run/systemd/system exists: systemd is PID 1 and systemctl can be called. */
  systemdRunning: boolean;
  userExists(name: string): boolean;
  /** Runs a command; a non-zero exit is returned, not thrown. */
  run(command: readonly string[]): { code: number; output: string };
};

export type InstallOptions = {
  /** Where the files go: `/`, or the `--prefix` directory. */
  root: string;
  /**
   * Whether to change the host too (user, ownership, systemctl): true when root is `/`; with a
   * prefix those commands are only printed.
   */
  live: boolean;
  /** The compiled binary to copy (the running one). */
  binary: string;
  system: HostSystem;
  print(line: string): void;
};

export function hostSystem(): HostSystem {
  return {
    isRoot: process.getuid?.() === 0,
    systemdRunning: existsSync("/run/systemd/system"),
    userExists: (name) => spawnSync("id", ["-u", name], { stdio: "ignore" }).status === 0,
    run(command) {
      const [file, ...args] = command as [string, ...string[]];
      const result = spawnSync(file, args, { encoding: "utf8" });
      return {
        code: result.status ?? 1,
        output: `${result.stdout ?? ""}${result.stderr ?? result.error ?? ""}`.trim(),
      };
    },
  };
}

/**
 * `eft-footprint install [--prefix <root>]`: binary, systemd units, service user, env template and
 * directories. Idempotent: what is already right is left alone and reported as unchanged, and an
 * existing env file is never overwritten. With a prefix other than `/` only files are written;
 * the commands a real install would run (useradd, chown, systemctl) are printed instead.
 */
export function runInstall(options: InstallOptions): void {
  const { root, system, print, live } = options;
  if (live && !system.isRoot) {
    throw new AppError("USAGE", "install writes to /usr/local, /etc and /var: run it as root (or pass --prefix <dir>)");
  }
  const at = (relative: string) => join(root, relative);
  const exec = commandRunner(live, system, print);

  const userThere = live && system.userExists(SERVICE_USER);
  if (userThere) print(`unchanged user ${SERVICE_USER}`);
  else {
    exec([
      "useradd",
      "--system",
      "--user-group",
      "--home-dir",
      `/${LAYOUT.stateDir}`,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      "eft-footprint service",
      SERVICE_USER,
    ]);
  }

  ensureDir(at(LAYOUT.configDir), 0o750, print);
  ensureDir(at(LAYOUT.stateDir), 0o750, print);
  ensureDir(at(LAYOUT.logDir), 0o750, print);

  installBinary(options.binary, at(LAYOUT.binary), print);
  for (const [name, text] of Object.entries(UNITS)) writeIfChanged(at(join(LAYOUT.unitDir, name)), text, 0o644, print);
  writeIfChanged(at(LAYOUT.sysusers), SYSUSERS, 0o644, print);
  const envFile = at(join(LAYOUT.configDir, "env"));
  if (existsSync(envFile)) print(`kept      ${envFile} (yours; new settings are listed in env.example)`);
  else writeIfChanged(envFile, envTemplate, 0o640, print);
  writeIfChanged(at(join(LAYOUT.configDir, "env.example")), envTemplate, 0o644, print);

  // The env file holds passwords: readable by root and the service's group only.
  exec(["chown", `root:${SERVICE_USER}`, `/${LAYOUT.configDir}`, `/${LAYOUT.configDir}/env`]);
  exec(["chown", `${SERVICE_USER}:${SERVICE_USER}`, `/${LAYOUT.stateDir}`, `/${LAYOUT.logDir}`]);
  if (!live || system.systemdRunning) exec(["systemctl", "daemon-reload"]);

  print("");
  print(`Next: put your settings in /${LAYOUT.configDir}/env, check them, then start:`);
  print(`  eft-footprint doctor --env-file /${LAYOUT.configDir}/env`);
  print("  systemctl enable --now eft-footprint");
  print("  systemctl enable --now eft-footprint-consume@9465   # optional: more consumers, named by metrics port");
}

export type UninstallOptions = Omit<InstallOptions, "binary"> & { purge: boolean };

/**
 * `eft-footprint uninstall [--purge] [--prefix <root>]`: stops and removes the units and the
 * binary. The env file, the data and log directories and the user stay unless --purge.
 */
export function runUninstall(options: UninstallOptions): void {
  const { root, system, print, purge, live } = options;
  if (live && !system.isRoot) {
    throw new AppError("USAGE", "uninstall changes /usr/local, /etc and /var: run it as root (or pass --prefix <dir>)");
  }
  const at = (relative: string) => join(root, relative);
  const exec = commandRunner(live, system, print);

  // Enabled units are symlinks in multi-user.target.wants, instances (consume@1, …) included.
  const wants = at(LAYOUT.wantsDir);
  const enabled = existsSync(wants) ? readdirSync(wants).filter((n) => n.startsWith("eft-footprint")) : [];
  const units = [...new Set(["eft-footprint.service", ...enabled])];
  if (!live || system.systemdRunning) {
    // Units that are not loaded (never started) make systemctl complain: nothing to undo then.
    exec(["systemctl", "disable", "--now", ...units], { mayFail: true });
    exec(["systemctl", "stop", "eft-footprint-consume@*.service"], { mayFail: true });
  }
  for (const name of enabled) remove(join(wants, name), print);
  for (const name of Object.keys(UNITS)) remove(at(join(LAYOUT.unitDir, name)), print);
  remove(at(LAYOUT.sysusers), print);
  remove(at(LAYOUT.binary), print);
  remove(at(join(LAYOUT.configDir, "env.example")), print);
  if (!live || system.systemdRunning) exec(["systemctl", "daemon-reload"]);

  const kept = [at(LAYOUT.configDir), at(LAYOUT.stateDir), at(LAYOUT.logDir)];
  if (!purge) {
    print(`kept      ${kept.join(", ")} and user ${SERVICE_USER} (uninstall --purge removes them)`);
    return;
  }
  for (const dir of kept) remove(dir, print);
  if (!live || system.userExists(SERVICE_USER)) exec(["userdel", SERVICE_USER]);
}

/** Runs a command on the real system; under a prefix it only says what it would run. */
function commandRunner(live: boolean, system: HostSystem, print: (line: string) => void) {
  return (command: readonly string[], how: { mayFail?: boolean } = {}) => {
    const shown = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a}'`)).join(" ");
    if (!live) {
      print(`would run ${shown}`);
      return;
    }
    const { code, output } = system.run(command);
    if (code !== 0 && !how.mayFail) throw new AppError("INSTALL_FAILED", `${shown} failed (exit ${code}): ${output}`);
    print(code === 0 ? `ran       ${shown}` : `ran       ${shown} (exit ${code}: ${output.split("\n")[0]})`);
  };
}

function ensureDir(dir: string, mode: number, print: (line: string) => void): void {
  if (existsSync(dir)) {
    print(`unchanged ${dir}/`);
    return;
  }
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { mode });
  chmodSync(dir, mode); // mkdir's mode is masked by the umask
  print(`created   ${dir}/`);
}

function writeIfChanged(file: string, text: string, mode: number, print: (line: string) => void): void {
  const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  if (before === text) {
    print(`unchanged ${file}`);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text, { mode });
  chmodSync(`${file}.tmp`, mode);
  renameSync(`${file}.tmp`, file);
  print(`${before === undefined ? "created  " : "updated  "} ${file}`);
}

function installBinary(source: string, target: string, print: (line: string) => void): void {
  if (resolve(source) === resolve(target)) {
    print(`unchanged ${target} (running from it)`);
    return;
  }
  if (existsSync(target) && sameContent(source, target)) {
    print(`unchanged ${target}`);
    return;
  }
  const existed = existsSync(target);
  mkdirSync(dirname(target), { recursive: true });
  // Copy beside, then rename: a running eft-footprint keeps its old file ("text file busy" otherwise).
  copyFileSync(source, `${target}.tmp`);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  print(`${existed ? "updated  " : "created  "} ${target}`);
}

function sameContent(a: string, b: string): boolean {
  if (statSync(a).size !== statSync(b).size) return false;
  const hash = (file: string) => new Bun.CryptoHasher("sha256").update(readFileSync(file)).digest("hex");
  return hash(a) === hash(b);
}

function remove(path: string, print: (line: string) => void): void {
  // lstat, not exists: an enabled unit's symlink may dangle under a prefix.
  if (!lstatSync(path, { throwIfNoEntry: false })) return;
  rmSync(path, { recursive: true, force: true });
  print(`removed   ${path}`);
}
