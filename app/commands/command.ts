import type { ParseArgsOptionsConfig } from "node:util";

/** What parseArgs gives for an option spec: a string or a flag per option, absent when not given. */
export type FlagValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: "boolean" }
    ? boolean
    : O[K] extends { type: "string" }
      ? string
      : string | boolean;
};

/** What a command runs with, once the dispatcher has checked its flags and words. */
export type CommandArgs<O extends ParseArgsOptionsConfig> = {
  values: FlagValues<O>;
  /** The words after the command's name (at most `words` of them). */
  words: readonly string[];
  /** `--env-file`, for readConfig. */
  envFile: string | undefined;
  env: Record<string, string | undefined>;
  /** The whole command line, global flags included. */
  argv: readonly string[];
};

/**
 * One command of the CLI: its flags, help and wiring. The dispatcher (app/cli.ts) refuses a flag
 * of another command by naming that command, so every command's `options` lists all it accepts.
 */
export type Command<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> = {
  name: string;
  /** Its line in the main help. */
  summary: string;
  /** What `eft-footprint <name> --help` prints. */
  help: string;
  options: O;
  /** How many words it takes after its name (dlq: its action); none by default. */
  words?: number;
  /** Its exit status, or -1 when it keeps running until a signal. */
  run(args: CommandArgs<O>): Promise<number>;
};

/** Keeps the option spec's literal types for `run`, and erases them for the list of commands. */
export function defineCommand<const O extends ParseArgsOptionsConfig>(command: Command<O>): Command {
  return command as unknown as Command;
}
