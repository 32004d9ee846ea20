import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { AppError, type ErrorCode } from "../src/errors.ts";
import { commit, version } from "../src/version.ts";
import { benchCommand } from "./commands/bench.ts";
import type { Command, FlagValues } from "./commands/command.ts";
import { consumeCommand } from "./commands/consume.ts";
import { dlqCommand } from "./commands/dlq.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { healthcheckCommand } from "./commands/healthcheck.ts";
import { installCommand } from "./commands/install.ts";
import { migrateCommand } from "./commands/migrate.ts";
import { serveCommand } from "./commands/serve.ts";
import { uninstallCommand } from "./commands/uninstall.ts";

/** In the order of the main help; a flag given to the wrong command is refused naming the first that takes it. */
export const COMMANDS: readonly Command[] = [
  serveCommand,
  consumeCommand,
  migrateCommand,
  dlqCommand,
  benchCommand,
  doctorCommand,
  healthcheckCommand,
  installCommand,
  uninstallCommand,
];

/** Flags of every command. */
export const GLOBAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  "env-file": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

/** What each exit status means, the same for every command (docs/operations.md says so too). */
export const EXIT_STATUS_HELP = `Exit status: 0 done (or still running until a signal); 1 a runtime failure (a service
unreachable, a port in use, a failed migration, a check that did not pass); 2 a wrong
command line or invalid settings.`;

export function mainHelp(commands: readonly Command[] = COMMANDS): string {
  // Names pad to 10 columns; a longer one gets two spaces.
  const lines = commands.map((c) => `  ${c.name.padEnd(10)}${c.name.length >= 10 ? "  " : ""}${c.summary}`);
  return `eft-footprint ${version}: records every request of a web service through Kafka into
PostgreSQL and ClickHouse, and shows traffic statistics from either.

Usage: eft-footprint <command> [options]
       eft-footprint help [<command>] | version

Commands:
${lines.join("\n")}

Options:
  --env-file <path>  read settings from this file (default: ./.env when present);
                     the process environment wins over the file
  -V, -v, --version  print version and commit
  -h, --help         help for a command: eft-footprint <command> --help

${EXIT_STATUS_HELP}
`;
}

export type CliOptions = {
  env: Record<string, string | undefined>;
  print?: (text: string) => void;
  commands?: readonly Command[];
};

/**
 * Runs the command line `argv` (without the program name): its exit status, or -1 when the
 * command keeps running until a signal. A wrong command line throws AppError USAGE, which
 * `exitStatusOf` turns into one line and status 2.
 *
 * No CLI library: none of those looked at refuses another command's flag by naming its owner,
 * and node:util's parseArgs (built in, no dependency) already does the parsing.
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const { env, print = console.log, commands = COMMANDS } = options;
  const known: ParseArgsOptionsConfig = Object.assign({}, GLOBAL_OPTIONS, ...commands.map((c) => c.options));
  // Every command's flags are parsed together: flags may come before the command's name. Not
  // strict: parseArgs' own errors are several sentences; checkTokens words them in one line.
  const { values, positionals, tokens } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: false,
    tokens: true,
    options: known,
  });
  const [first, ...rest] = positionals;
  // `help <command>` is `<command> --help`; `version` is `--version`.
  const asHelp = first === "help";
  const [name, ...words] = asHelp ? rest : positionals;
  const command = commands.find((c) => c.name === name);
  const helpHint = command ? `eft-footprint ${command.name} --help` : "eft-footprint --help";
  try {
    const { wantsVersion } = checkTokens(tokens, known);
    if (wantsVersion || values.version || first === "version") {
      print(`eft-footprint ${version} (${commit})`);
      return 0;
    }
    const extra = words[command?.words ?? 0];
    if (extra !== undefined) throw new AppError("USAGE", `unexpected argument: ${extra}`);
    if (asHelp && name && !command) throw new AppError("USAGE", `unknown command: ${name}`);
    if (!name || values.help || asHelp) {
      print(command?.help ?? mainHelp(commands));
      return name && !command ? 2 : 0;
    }
    if (!command) throw new AppError("USAGE", `unknown command: ${name}`);
    refuseOtherCommandsFlags(command, Object.keys(values), commands);
    // No option is `multiple`, and checkTokens refused a string flag without its value.
    const flags = values as FlagValues<ParseArgsOptionsConfig>;
    return await command.run({ values: flags, words, envFile: flags["env-file"] as string | undefined, env, argv });
  } catch (err) {
    // A usage error says where the right usage is: the command's help when there is a command.
    if (err instanceof AppError && err.code === "USAGE" && err.details === undefined) {
      throw new AppError("USAGE", err.message, { help: helpHint }, { cause: err });
    }
    throw err;
  }
}

type Token = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

/** Refuses an unknown flag, a string flag without its value and a value given to a switch, naming the flag. */
function checkTokens(tokens: readonly Token[], known: ParseArgsOptionsConfig): { wantsVersion: boolean } {
  let wantsVersion = false;
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    // -V is --version's short form; -v too, as many tools have it.
    if (token.rawName === "-v") {
      wantsVersion = true;
      continue;
    }
    const spec = Object.hasOwn(known, token.name) ? known[token.name] : undefined;
    const flag = token.rawName;
    if (!spec) throw new AppError("USAGE", `unknown option ${flag}`);
    if (spec.type === "boolean" && token.value !== undefined) {
      throw new AppError("USAGE", `${flag} takes no value, not ${token.value}`);
    }
    // Not strict, parseArgs takes the next word as the value even when it is a flag.
    if (spec.type === "string" && (token.value === undefined || (!token.inlineValue && token.value.startsWith("-")))) {
      throw new AppError("USAGE", `${flag} needs a value (${flag}=<value> for one that starts with -)`);
    }
  }
  return { wantsVersion };
}

/**
 * A flag of another command names the commands that take it and all their flags, e.g.
 * "--url is an option of healthcheck, not serve".
 */
function refuseOtherCommandsFlags(command: Command, given: readonly string[], commands: readonly Command[]): void {
  const takes = (c: Command, flag: string) => Object.hasOwn(c.options, flag);
  const foreign = given.filter((flag) => !Object.hasOwn(GLOBAL_OPTIONS, flag) && !takes(command, flag));
  const first = commands.find((c) => foreign.some((flag) => takes(c, flag)));
  if (!first) return;
  const flags = foreign.filter((flag) => takes(first, flag));
  const owners = commands.filter((c) => flags.some((flag) => takes(c, flag)));
  const theirFlags = [...new Set(owners.flatMap((c) => Object.keys(c.options)))].map((flag) => `--${flag}`);
  const are = theirFlags.length === 1 ? "is an option" : "are options";
  throw new AppError(
    "USAGE",
    `${listed(theirFlags)} ${are} of ${listed(owners.map((c) => c.name))}, not ${command.name}`,
  );
}

/** "a", "a and b", "a, b and c". */
function listed(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** Codes that mean the command line or the settings are wrong: exit 2; every other failure is 1. */
const USAGE_OR_SETTINGS: ReadonlySet<ErrorCode> = new Set(["USAGE", "CONFIG_INVALID"]);

/**
 * How an error ends the CLI: one line on stderr (a list for invalid settings) and status 2
 * (usage or settings) or 1 (a runtime failure). An error of ours is expected and says what to do,
 * so it has no stack trace; anything else is a bug, printed whole.
 */
export function exitStatusOf(err: unknown, printError: (text: unknown) => void = console.error): number {
  if (err instanceof AppError) {
    const help = (err.details as { help?: string } | undefined)?.help;
    // Config problems start with "eft-footprint cannot start"; they are not prefixed twice.
    const text = err.message.startsWith("eft-footprint") ? err.message : `eft-footprint: ${err.message}`;
    printError(err.code === "USAGE" ? `${text}; see '${help ?? "eft-footprint --help"}'` : text);
    return USAGE_OR_SETTINGS.has(err.code) ? 2 : 1;
  }
  printError(err);
  return 1;
}
