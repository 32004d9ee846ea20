import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { AppError } from "../src/errors.ts";
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
  version: { type: "boolean" },
  "env-file": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

export function mainHelp(commands: readonly Command[] = COMMANDS): string {
  // Names pad to 10 columns; a longer one gets two spaces.
  const lines = commands.map((c) => `  ${c.name.padEnd(10)}${c.name.length >= 10 ? "  " : ""}${c.summary}`);
  return `eft-footprint ${version}: records every request of a web service through Kafka into
PostgreSQL and ClickHouse, and shows traffic statistics from either.

Usage: eft-footprint <command> [options]

Commands:
${lines.join("\n")}

Options:
  --env-file <path>  read settings from this file (default: ./.env when present);
                     the process environment wins over the file
  --version          print version and commit
  -h, --help         help for a command: eft-footprint <command> --help
`;
}

export type CliOptions = {
  env: Record<string, string | undefined>;
  print?: (text: string) => void;
  commands?: readonly Command[];
};

/**
 * Runs the command line `argv` (without the program name): its exit status, or -1 when the
 * command keeps running until a signal. A wrong command line throws AppError USAGE (or parseArgs'
 * ERR_PARSE_ARGS_*), which `exitStatusOf` turns into the message and status 2.
 */
export async function runCli(argv: readonly string[], options: CliOptions): Promise<number> {
  const { env, print = console.log, commands = COMMANDS } = options;
  // Every command's flags are parsed together: flags may come before the command's name.
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: Object.assign({}, GLOBAL_OPTIONS, ...commands.map((c) => c.options)) as ParseArgsOptionsConfig,
  });
  if (values.version) {
    print(`eft-footprint ${version} (${commit})`);
    return 0;
  }
  const [name, ...words] = positionals;
  const command = commands.find((c) => c.name === name);
  const extra = words[command?.words ?? 0];
  if (extra !== undefined) throw new AppError("USAGE", `unexpected argument: ${extra}`);
  if (!name || values.help) {
    print(command?.help ?? mainHelp(commands));
    return name && !command ? 2 : 0;
  }
  if (!command) throw new AppError("USAGE", `unknown command: ${name}`);
  refuseOtherCommandsFlags(command, Object.keys(values), commands);
  // No option is `multiple`, so no value is an array.
  const flags = values as FlagValues<ParseArgsOptionsConfig>;
  return command.run({ values: flags, words, envFile: flags["env-file"] as string | undefined, env, argv });
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

/** How an error ends the CLI: its message on stderr, then status 2 (usage or settings) or 1. */
export function exitStatusOf(err: unknown, printError: (text: unknown) => void = console.error): number {
  if (err instanceof AppError) {
    printError(err.code === "USAGE" ? `eft-footprint: ${err.message}\nTry 'eft-footprint --help'.` : err.message);
    return 2;
  }
  if (String((err as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS")) {
    printError(`eft-footprint: ${(err as Error).message}\nTry 'eft-footprint --help'.`);
    return 2;
  }
  printError(err);
  return 1;
}
