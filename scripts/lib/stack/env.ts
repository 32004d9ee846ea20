import type { StackOptions } from "./options.ts";
import { SERVICES, serviceAddress } from "./services.ts";
import { readState } from "./state.ts";

/** Single quotes keep `eval "$(./scripts/stack env)"` safe whatever the URL contains. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Prints only export lines on stdout, for `eval`; anything else goes to stderr. */
export function printEnv(options: StackOptions): number {
  const state = readState(options.stateDir);
  const lines: string[] = [];
  for (const service of SERVICES) {
    const address = serviceAddress(service, options, state);
    if (!address) {
      process.stderr.write(`no address for ${service.name} yet: run ./scripts/stack up first\n`);
      return 1;
    }
    lines.push(`export ${service.envName}=${shellQuote(address)}`);
  }
  lines.push(`export CLICKHOUSE_DATABASE=${shellQuote(options.clickhouseDatabase)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
