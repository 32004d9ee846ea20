import type { Config } from "../src/config.ts";

/** A service a command talks to, as an operator names and configures it. */
export type ServiceAddress = {
  /** "Kafka", "PostgreSQL", "ClickHouse". */
  service: string;
  /** host:port (several for Kafka), never a password. */
  address: string;
  /** The setting(s) that point at it. */
  setting: string;
};

type Reason = { why: string; fix: (s: ServiceAddress) => string };

const checkSetting = (s: ServiceAddress) => `check ${s.setting}`;

// The clients (kafkajs, postgres, fetch) word the same failure differently; codes first, then text.
const REASONS: readonly (Reason & { match: RegExp })[] = [
  {
    match: /ECONNREFUSED|connect(ion)? refused|ConnectionRefused|Unable to connect/i,
    why: "connection refused",
    fix: (s) => `is ${s.service} running there, and is ${s.setting} right?`,
  },
  {
    match: /ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo/i,
    why: "the host name does not resolve",
    fix: checkSetting,
  },
  {
    match: /EHOSTUNREACH|ENETUNREACH|no route to host|network is unreachable/i,
    why: "no route to the host",
    fix: (s) => `is the host up and reachable from here? check ${s.setting}`,
  },
  {
    match: /ETIMEDOUT|CONNECT_TIMEOUT|Connection timeout|timed? ?out|no answer within/i,
    why: "no answer in time",
    fix: (s) => `a firewall, a wrong port, or an overloaded ${s.service}? check ${s.setting}`,
  },
  {
    match: /ECONNRESET|Closed connection|ConnectionClosed|connection was closed|socket hang up|EPIPE/i,
    why: "the connection was closed before an answer",
    fix: (s) => `is that ${s.service}'s port, and may this host connect to it? check ${s.setting}`,
  },
];

/** Every name, code and message along an error's causes (kafkajs nests them as `originalError`). */
function chainOf(err: unknown): string[] {
  const parts: string[] = [];
  let e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    parts.push(...[e.name, e.code, e.message].filter((p): p is string => typeof p === "string" && p !== ""));
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return parts;
}

/**
 * One line saying which service could not be reached and why, then what to check, e.g.
 * "cannot reach PostgreSQL at 127.0.0.1:1: connection refused: is PostgreSQL running there, and is
 * DATABASE_URL right?"; undefined when the error is not about reaching it (a refused login, a
 * missing database).
 */
export function explainUnreachable(target: ServiceAddress, err: unknown): string | undefined {
  const chain = chainOf(err).join(" | ");
  const timeout = /no answer within ([\d.]+ s)/.exec(chain)?.[1];
  for (const reason of REASONS) {
    if (!reason.match.test(chain)) continue;
    const why = timeout && reason.why === "no answer in time" ? `no answer within ${timeout}` : reason.why;
    return `cannot reach ${target.service} at ${target.address}: ${why}: ${reason.fix(target)}`;
  }
  // fetch and the ClickHouse client can fail with nothing to say: at least say where.
  if (!chainOf(err).some((p) => p !== "Error")) {
    return `${target.service} at ${target.address} failed without saying why: is that ${target.service}'s port? ${checkSetting(target)}`;
  }
  return undefined;
}

/** host:port of a URL (its scheme's port when none is written), for messages: never the password. */
export function addressOfUrl(url: string, defaultPorts: Record<string, number> = {}): string {
  try {
    const u = new URL(url);
    const port = u.port || String(defaultPorts[u.protocol.replace(/:$/, "")] ?? "");
    return port ? `${u.hostname}:${port}` : u.hostname;
  } catch {
    return "(an address that is not a URL)";
  }
}

/** Where each configured service is, as messages name it. */
export function serviceAddresses(config: Config): Record<"kafka" | "postgres" | "clickhouse", ServiceAddress> {
  return {
    kafka: { service: "Kafka", address: config.kafka.brokers.join(","), setting: "KAFKA_BROKERS" },
    postgres: {
      service: "PostgreSQL",
      address: addressOfUrl(config.postgres.url, { postgres: 5432, postgresql: 5432 }),
      setting: "DATABASE_URL (or DB_HOST, DB_PORT)",
    },
    clickhouse: {
      service: "ClickHouse",
      address: addressOfUrl(config.clickhouse.url, { http: 8123, https: 8443 }),
      setting: "CLICKHOUSE_URL (or CH_HOST, CH_PORT)",
    },
  };
}
