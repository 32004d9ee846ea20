import type { Config } from "../../src/config.ts";

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
