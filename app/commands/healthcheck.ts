import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { defineCommand } from "./command.ts";

export const healthcheckCommand = defineCommand({
  name: "healthcheck",
  summary: "exit 0 when serve on this host answers /healthz (container HEALTHCHECK)",
  help: `Usage: eft-footprint healthcheck [--url <url>] [--env-file <path>]

GETs /healthz of serve on this host (HOST, PORT; a wildcard HOST means 127.0.0.1) and exits 0
when it answers 200, 1 otherwise: a HEALTHCHECK for images without curl.

  --url <url>  check this URL instead
`,
  options: { url: { type: "string" } },
  // No logger, so nothing is written to LOG_DIR (a root-owned consumer.log there would lock the
  // service user out of it).
  run: ({ values, env, envFile }) => runHealthcheck(readConfig(env, envFile), { url: values.url }),
});

/**
 * `eft-footprint healthcheck`: GET /healthz of the serve process on this host and exit 0 when it
 * answers 200. For container HEALTHCHECKs on images without curl or wget.
 */
export async function runHealthcheck(
  config: Config,
  options: { url?: string; timeoutMs?: number; print?: (line: string) => void } = {},
): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const url = options.url ?? healthUrl(config.http.host, config.http.port);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
    await res.arrayBuffer();
    print(`${url}: ${res.status}`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    print(`${url}: ${(err as Error).message}`);
    return 1;
  }
}

/** Where serve listens, as seen from the same host: a wildcard address means loopback. */
export function healthUrl(host: string, port: number): string {
  const name =
    host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  return `http://${name}:${port}/healthz`;
}
