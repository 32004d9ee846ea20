/**
 * The dispatcher, without services: every command's help, the main help, and the usage errors a
 * user sees for a wrong command line, worded as they always were. Nothing here reaches a command's
 * settings or services: each case stops at help, a usage error, or a fake command.
 */
import { describe, expect, test } from "bun:test";
import { AppError } from "../src/errors.ts";
import { commit, version } from "../src/version.ts";
import { COMMANDS, exitStatusOf, mainHelp, runCli } from "./cli.ts";
import { type Command, defineCommand } from "./commands/command.ts";

async function cli(...argv: string[]): Promise<{ status: number; out: string }> {
  const printed: string[] = [];
  const status = await runCli(argv, { env: {}, print: (text) => printed.push(text) });
  return { status, out: printed.join("\n") };
}

/** The usage error `argv` is refused with. */
async function refusal(...argv: string[]): Promise<string> {
  const err = await runCli(argv, { env: {}, print: () => {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe("USAGE");
  return (err as AppError).message;
}

const names = COMMANDS.map((c) => c.name);

test("the commands, in the order of the main help", () => {
  expect(names).toEqual([
    "serve",
    "consume",
    "migrate",
    "dlq",
    "bench",
    "doctor",
    "healthcheck",
    "install",
    "uninstall",
  ]);
});

test("the main help lists every command with its summary, laid out as it always was", async () => {
  const help = await cli();
  expect(help).toEqual({ status: 0, out: mainHelp() });
  expect(mainHelp()).toBe(`eft-footprint ${version}: records every request of a web service through Kafka into
PostgreSQL and ClickHouse, and shows traffic statistics from either.

Usage: eft-footprint <command> [options]
       eft-footprint help [<command>] | version

Commands:
  serve     HTTP app (footprint middleware, dashboard, health) and the consumer in one process
  consume   the consumer alone; run several with one GROUP_ID to scale out
  migrate   create missing Kafka topics, apply pending migrations to PostgreSQL and ClickHouse, then exit
  dlq       list the dead-letter topic (<TOPIC>.dlq), or replay its messages after a fix
  bench     time PostgreSQL vs ClickHouse (bulk load, dashboard queries, ingest, the old way) and the hot path
  doctor    check every configured service (reachable, version, topic, group, schema, TTL)
  healthcheck  exit 0 when serve on this host answers /healthz (container HEALTHCHECK)
  install   (root) install the binary, systemd units, service user, env template, directories
  uninstall (root) stop and remove what install put in place; --purge also data, env and user

Options:
  --env-file <path>  read settings from this file (default: ./.env when present);
                     the process environment wins over the file
  -V, -v, --version  print version and commit
  -h, --help         help for a command: eft-footprint <command> --help

Exit status: 0 done (or still running until a signal); 1 a runtime failure (a service
unreachable, a port in use, a failed migration, a check that did not pass); 2 a wrong
command line or invalid settings.
`);
  expect(await cli("--help")).toEqual({ status: 0, out: mainHelp() });
});

describe.each(names)("%s", (name) => {
  const command = COMMANDS.find((c) => c.name === name) as Command;

  test("has a summary and a help that starts with its usage", () => {
    expect(command.summary.length).toBeGreaterThan(0);
    expect(command.help).toStartWith(`Usage: eft-footprint ${name}`);
    expect(command.help).toEndWith("\n");
  });

  test("--help, -h and help <command> print its help, wherever they stand", async () => {
    expect(await cli(name, "--help")).toEqual({ status: 0, out: command.help });
    expect(await cli("-h", name)).toEqual({ status: 0, out: command.help });
    expect(await cli("help", name)).toEqual({ status: 0, out: command.help });
  });

  test("a word after it is refused", async () => {
    const extra = name === "dlq" ? ["list", "extra"] : ["extra"];
    expect(await refusal(name, ...extra)).toBe("unexpected argument: extra");
  });
});

test("dlq's help shows for its action too", async () => {
  expect((await cli("dlq", "list", "--help")).out).toStartWith("Usage: eft-footprint dlq list [--limit <n>]");
});

test("an unknown command is a usage error; its --help shows the main help with status 2", async () => {
  expect(await refusal("frobnicate")).toBe("unknown command: frobnicate");
  expect(await refusal("main")).toBe("unknown command: main");
  expect(await refusal("toString")).toBe("unknown command: toString");
  expect(await cli("frobnicate", "--help")).toEqual({ status: 2, out: mainHelp() });
});

test("help alone is the main help; help of an unknown command is a usage error", async () => {
  expect(await cli("help")).toEqual({ status: 0, out: mainHelp() });
  expect(await refusal("help", "frobnicate")).toBe("unknown command: frobnicate");
  expect(await refusal("help", "serve", "extra")).toBe("unexpected argument: extra");
});

test("--version, -V, -v and version print version and commit, before anything else is looked at", async () => {
  for (const asked of ["--version", "-V", "-v", "version"]) {
    expect(await cli(asked)).toEqual({ status: 0, out: `eft-footprint ${version} (${commit})` });
  }
  expect(await cli("serve", "-v")).toEqual({ status: 0, out: `eft-footprint ${version} (${commit})` });
  expect(await cli("frobnicate", "--version", "extra")).toEqual({
    status: 0,
    out: `eft-footprint ${version} (${commit})`,
  });
});

test("a flag of another command is refused naming the commands it belongs to", async () => {
  expect(await refusal("consume", "--demo")).toBe(
    "--no-consumer, --demo and --upstream are options of serve, not consume",
  );
  expect(await refusal("serve", "--limit", "3")).toBe("--limit, --json and --dry-run are options of dlq, not serve");
  expect(await refusal("migrate", "--row-by-row-sample", "2")).toBe(
    "--sizes, --reps, --seed, --out, --ingest-rates, --step-seconds, --backlog, --row-by-row-sample, --part, --quick, --hot-backlog and --generate are options of bench, not migrate",
  );
  expect(await refusal("doctor", "--url", "x")).toBe("--url is an option of healthcheck, not doctor");
  // A bench flag's value is checked before any setting is read.
  expect(await refusal("bench", "--generate", "everywhere")).toBe(
    "--generate takes client or in-store, not everywhere",
  );
  expect(await refusal("dlq", "list", "--purge")).toBe(
    "--prefix and --purge are options of install and uninstall, not dlq",
  );
  // Several wrong flags: the first command of the help that takes one is named.
  expect(await refusal("consume", "--purge", "--url", "x", "--seed", "1")).toBe(
    "--sizes, --reps, --seed, --out, --ingest-rates, --step-seconds, --backlog, --row-by-row-sample, --part, --quick, --hot-backlog and --generate are options of bench, not consume",
  );
});

test("install and uninstall take each other's flags; both need the compiled binary", async () => {
  for (const name of ["install", "uninstall"]) {
    for (const flag of ["--purge", "--prefix=/tmp/x"]) {
      expect(await refusal(name, flag)).toBe(`${name} works from the compiled binary only: build it with ./compile.sh`);
    }
  }
});

test("dlq checks --limit before reading any settings", async () => {
  expect(await refusal("dlq", "list", "--limit", "0")).toBe("--limit must be a whole number above 0, not 0");
  expect(await refusal("dlq", "list", "--limit", "1.5")).toBe("--limit must be a whole number above 0, not 1.5");
});

test("a command runs with its flags, its words, --env-file, the environment and the whole command line", async () => {
  const seen: unknown[] = [];
  const fake = defineCommand({
    name: "fake",
    summary: "a command for this test",
    help: "Usage: eft-footprint fake\n",
    options: { level: { type: "string" }, loud: { type: "boolean" } },
    words: 1,
    async run(args) {
      seen.push(args);
      return 7;
    },
  });
  const argv = ["--env-file", "x.env", "fake", "go", "--level", "3", "--loud"];
  expect(await runCli(argv, { env: { A: "1" }, commands: [fake] })).toBe(7);
  expect(seen).toEqual([
    { values: { "env-file": "x.env", level: "3", loud: true }, words: ["go"], envFile: "x.env", env: { A: "1" }, argv },
  ]);
});

test("no flag means one thing to one command and another to the next: all are parsed together", () => {
  const types = new Map<string, string>();
  for (const command of COMMANDS) {
    for (const [flag, spec] of Object.entries(command.options)) {
      expect(types.get(flag) ?? spec.type).toBe(spec.type);
      types.set(flag, spec.type);
    }
  }
});

test("a flag parseArgs would refuse is named in one line of ours, never in parseArgs' words", async () => {
  expect(await refusal("serve", "--bogus")).toBe("unknown option --bogus");
  expect(await refusal("-x")).toBe("unknown option -x");
  expect(await refusal("dlq", "list", "--limit")).toBe(
    "--limit needs a value (--limit=<value> for one that starts with -)",
  );
  expect(await refusal("dlq", "list", "--limit", "--json")).toBe(
    "--limit needs a value (--limit=<value> for one that starts with -)",
  );
  expect(await refusal("serve", "--demo=yes")).toBe("--demo takes no value, not yes");
  expect(await refusal("--help=1")).toBe("--help takes no value, not 1");
});

describe("exitStatusOf", () => {
  function ended(err: unknown): { status: number; printed: unknown[] } {
    const printed: unknown[] = [];
    return { status: exitStatusOf(err, (text) => printed.push(text)), printed };
  }
  const endedBy = async (...argv: string[]) => ended(await runCli(argv, { env: {} }).catch((e: unknown) => e));

  test("a usage error is one line saying where the help is; status 2", async () => {
    expect(ended(new AppError("USAGE", "unknown command: x"))).toEqual({
      status: 2,
      printed: ["eft-footprint: unknown command: x; see 'eft-footprint --help'"],
    });
    expect(await endedBy("frobnicate")).toEqual({
      status: 2,
      printed: ["eft-footprint: unknown command: frobnicate; see 'eft-footprint --help'"],
    });
    // Once the command is known, its own help is named.
    expect(await endedBy("serve", "--bogus")).toEqual({
      status: 2,
      printed: ["eft-footprint: unknown option --bogus; see 'eft-footprint serve --help'"],
    });
    expect(await endedBy("dlq", "list", "--limit", "0")).toEqual({
      status: 2,
      printed: ["eft-footprint: --limit must be a whole number above 0, not 0; see 'eft-footprint dlq --help'"],
    });
  });

  test("parseArgs' own wording never shows", async () => {
    for (const argv of [["serve", "--bogus"], ["-v=1"], ["dlq", "--limit"], ["--demo=1"], ["-Z"]]) {
      const { status, printed } = await endedBy(...argv);
      expect(status).toBe(2);
      expect(printed).toHaveLength(1);
      expect(String(printed[0])).not.toContain("positional argument");
      expect(String(printed[0])).not.toContain("\n");
    }
  });

  test("invalid settings are status 2, printed as they are", () => {
    expect(ended(new AppError("CONFIG_INVALID", "eft-footprint cannot start: bad settings"))).toEqual({
      status: 2,
      printed: ["eft-footprint cannot start: bad settings"],
    });
  });

  test("every other error of ours is a runtime failure, status 1, one line without a trace", () => {
    for (const code of ["MIGRATION_FAILED", "INSTALL_FAILED", "KAFKA_UNAVAILABLE"] as const) {
      expect(ended(new AppError(code, "it broke: fix it"))).toEqual({
        status: 1,
        printed: ["eft-footprint: it broke: fix it"],
      });
    }
  });

  test("anything else is a bug: printed whole, status 1", () => {
    const crash = new Error("boom");
    expect(ended(crash)).toEqual({ status: 1, printed: [crash] });
  });
});
