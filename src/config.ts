import { z } from "zod";
import { AppError } from "./errors.ts";
import { DEFAULT_FOOTPRINT_TZ } from "./footprint/message.ts";
import { TimeZoneSchema } from "./time-schema.ts";

/**
 * Every setting, read once at start-up from the environment (and an optional .env file).
 * Names of the Python system (BOOTSTRAP_SERVER, DB_HOST, CH_HOST, …) are accepted beside the URL
 * forms; when both are given the URL form wins because it is the more explicit one.
 */
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/**
 * A whole number written in decimal digits. Stricter than Number(): "0x10", "1e3" and "12abc" are
 * refused instead of read as 16, 1000 or NaN, so the message can say what is expected.
 */
const wholeNumber = (what = "a whole number") =>
  optionalText.pipe(
    z
      .string()
      .regex(/^[+-]?\d+$/, `must be ${what}`)
      .transform(Number)
      .optional(),
  );

const port = (fallback: number, min = 1) =>
  wholeNumber().pipe(
    z
      .number()
      .min(min, `must be a port number between ${min} and 65535`)
      .max(65535, `must be a port number between ${min} and 65535`)
      .default(fallback),
  );

const positiveInt = (fallback: number, max: number) =>
  wholeNumber().pipe(z.number().min(1, "must be at least 1").max(max, `must be at most ${max}`).default(fallback));

const urlWithProtocols = (protocols: string[]) =>
  optionalText.pipe(
    z
      .string()
      .refine((v) => URL.canParse(v), "must be a URL")
      .refine(
        (v) => !URL.canParse(v) || protocols.includes(new URL(v).protocol),
        `must start with ${protocols.map((p) => `${p}//`).join(" or ")}`,
      )
      .optional(),
  );

const brokerList = optionalText.pipe(
  z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((b) => /^[^\s:/]+:\d{1,5}$/.test(b)), "must be a comma-separated list of host:port")
    .optional(),
);

const flag = (fallback: boolean) =>
  optionalText.pipe(
    z
      .enum(["true", "false", "1", "0", "yes", "no"], "must be true or false")
      .optional()
      .transform((v) => (v === undefined ? fallback : ["true", "1", "yes"].includes(v))),
  );

const commaList = optionalText.pipe(
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean),
    ),
);

/** The wire format's zone (the old system wrote footprint_time in Korea's local time). */
const timeZone = optionalText.pipe(TimeZoneSchema.default(DEFAULT_FOOTPRINT_TZ));

export const EnvSchema = z.object({
  HOST: optionalText.pipe(z.string().default("0.0.0.0")),
  // 0 asks the system for any free port (tests); the chosen one is logged.
  PORT: port(8080, 0),

  KAFKA_BROKERS: brokerList,
  BOOTSTRAP_SERVER: brokerList,
  TOPIC: optionalText.pipe(
    z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be a Kafka topic name (letters, digits, . _ -)")
      .default("web-logs-topic"),
  ),
  // Only read by `migrate` when it creates the topic; an existing topic is never changed.
  TOPIC_PARTITIONS: positiveInt(3, 10_000),
  GROUP_ID: optionalText.pipe(z.string().default("eft-footprint")),
  OFFSET_RESET_CONFIG: optionalText.pipe(
    z.enum(["earliest", "latest"], "must be earliest or latest").default("earliest"),
  ),
  KAFKA_CLIENT_ID: optionalText.pipe(z.string().default("eft-footprint")),
  // How long a consumer that died without leaving (kill -9, power loss) holds its partitions.
  KAFKA_SESSION_TIMEOUT_MS: wholeNumber("a whole number of milliseconds").pipe(
    z
      .number()
      .min(6000, "must be at least 6000 (the broker's group.min.session.timeout.ms)")
      .max(300_000, "must be at most 300000 (the broker's group.max.session.timeout.ms)")
      .default(30_000),
  ),

  DATABASE_URL: urlWithProtocols(["postgres:", "postgresql:"]),
  DB_HOST: optionalText,
  DB_PORT: port(5432),
  DB_NAME: optionalText,
  DB_USER: optionalText,
  DB_PASSWORD: optionalText,

  CLICKHOUSE_URL: urlWithProtocols(["http:", "https:"]),
  CLICKHOUSE_DATABASE: optionalText.pipe(
    z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "must be a plain identifier (letters, digits, _)")
      .default("prd"),
  ),
  CH_HOST: optionalText.pipe(z.string().default("localhost")),
  CH_PORT: port(8123),
  CH_USER: optionalText.pipe(z.string().default("default")),
  CH_PASSWORD: optionalText.pipe(z.string().default("")),

  // Not TZ: that is the process's own zone, which hosts and containers set for their own reasons.
  FOOTPRINT_TZ: timeZone,
  LOG_DIR: optionalText,
  // Size-based rotation of LOG_DIR/consumer.log (consumer.log.1 … .N), like the old system's file.
  LOG_MAX_BYTES: positiveInt(10 * 1024 * 1024, 1024 * 1024 * 1024 * 1024),
  LOG_MAX_FILES: positiveInt(5, 1000),
  // Unset keeps footprints forever; see src/store/retention.ts for how each store applies it.
  RETENTION_DAYS: wholeNumber("a whole number of days").pipe(
    z
      .number()
      .min(1, "must be at least 1 (leave it unset to keep footprints forever)")
      .max(36_500, "must be at most 36500")
      .optional(),
  ),
  // Set by systemd for Type=notify units (the socket that receives READY=1); never set by hand.
  NOTIFY_SOCKET: optionalText,
  LOG_LEVEL: optionalText.pipe(
    z.enum(["debug", "info", "warn", "error"], "must be debug, info, warn or error").default("info"),
  ),

  BATCH_SIZE: positiveInt(5000, 1_000_000),
  BATCH_FLUSH_MS: positiveInt(1000, 600_000),
  // serve's consumer thread yields to requests by this nice value (app/consumer-worker.ts); 0: it does not.
  CONSUMER_NICE: wholeNumber().pipe(
    z.number().min(0, "must be between 0 and 19").max(19, "must be between 0 and 19").default(10),
  ),
  PRODUCER_QUEUE_MAX: positiveInt(100_000, 10_000_000),
  // Disk overflow of the producer queue while Kafka is away (src/footprint/spool.ts).
  SPOOL_DIR: optionalText.pipe(z.string().default("spool")),
  SPOOL_MAX_BYTES: positiveInt(1024 * 1024 * 1024, 1024 * 1024 * 1024 * 1024),
  // SIGTERM: how long sending queued footprints and finishing the current batches may take in all.
  SHUTDOWN_TIMEOUT_MS: positiveInt(20_000, 600_000),
  // `consume` alone serves /metrics, /healthz and /readyz here (serve uses PORT); 0 = any free port.
  METRICS_PORT: port(9464, 0),
  // Where eft-footprint's own pages and API live, apart from the recorded site's paths.
  PATH_PREFIX: optionalText.pipe(
    z
      .string()
      .regex(/^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/, "must be a path such as /_footprint (no trailing /)")
      .default("/_footprint"),
  ),
  // Login to the dashboard and stats API: a token, a user and password, or both. With neither,
  // serve makes up a token at start-up and logs it once (routes/auth/credentials.ts).
  DASHBOARD_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  DASHBOARD_USER: optionalText,
  DASHBOARD_PASSWORD: optionalText.pipe(z.string().min(8, "must be at least 8 characters").optional()),
  // HMAC key of the session cookie; random per process when unset (sessions then end on restart).
  SESSION_SECRET: optionalText.pipe(z.string().min(32, "must be at least 32 characters").optional()),
  FOOTPRINT_SKIP_PATHS: optionalText.pipe(
    z
      .string()
      .default("/healthz,/readyz,/metrics,/favicon.ico,/assets/*")
      .transform((v) =>
        v
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .refine((list) => list.every((p) => p.startsWith("/")), "must be comma-separated paths, each starting with /"),
  ),
  // Capture (issue 4): the site to proxy, what a footprint carries, and the HTTP ingest endpoint.
  UPSTREAM_URL: urlWithProtocols(["http:", "https:"]),
  RECORD: flag(true),
  RECORD_QUERY: flag(false),
  // Proxies in front of us whose X-Forwarded-For we believe: false (none), true (one) or a count.
  TRUST_PROXY: optionalText.pipe(
    z
      .string()
      .regex(/^(true|false|\d{1,2})$/, "must be true, false or a number of proxy hops (0-99)")
      .optional()
      .transform((v) => (v === undefined || v === "false" ? 0 : v === "true" ? 1 : Number(v))),
  ),
  IP_HASH_SECRET: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  INGEST_KEYS: commaList.refine(
    (keys) => keys.every((k) => k.length >= 16),
    "must be comma-separated keys of at least 16 characters each",
  ),
  INGEST_MAX_EVENTS: positiveInt(1000, 100_000),
  INGEST_MAX_BYTES: positiveInt(1024 * 1024, 64 * 1024 * 1024),
  INGEST_TIMEOUT_MS: positiveInt(10_000, 300_000),
});

export type Config = Readonly<{
  http: Readonly<{ host: string; port: number }>;
  kafka: Readonly<{
    brokers: readonly string[];
    topic: string;
    /** Partitions `migrate` gives the topic when it creates it. */
    topicPartitions: number;
    groupId: string;
    fromBeginning: boolean;
    clientId: string;
    sessionTimeoutMs: number;
  }>;
  postgres: Readonly<{ url: string }>;
  clickhouse: Readonly<{ url: string; username: string; password: string; database: string }>;
  /** FOOTPRINT_TZ: the zone of footprint_time and the default zone of the statistics. */
  timeZone: string;
  log: Readonly<{
    level: "debug" | "info" | "warn" | "error";
    dir: string | undefined;
    maxBytes: number;
    maxFiles: number;
  }>;
  /** Days footprints are kept in both stores; undefined keeps them forever. */
  retention: Readonly<{ days: number | undefined }>;
  /** systemd's notification socket (NOTIFY_SOCKET) when run as a Type=notify unit. */
  systemd: Readonly<{ notifySocket: string | undefined }>;
  consumer: Readonly<{ batchSize: number; flushMs: number; nice: number }>;
  producer: Readonly<{ queueMax: number; spoolDir: string; spoolMaxBytes: number }>;
  shutdownTimeoutMs: number;
  /** Where `consume` serves its metrics and health. */
  metricsPort: number;
  footprint: Readonly<{ skipPaths: readonly string[] }>;
  /** How requests reach us and what their footprints carry (reverse proxy, rich fields). */
  capture: Readonly<{
    /** `serve` forwards every request outside our own paths here; undefined: no proxy. */
    upstream: string | undefined;
    /** false: proxy or serve without producing footprints (for benchmarks). */
    record: boolean;
    recordQuery: boolean;
    /** How many proxies in front of us append to X-Forwarded-For; 0 trusts none. */
    trustProxyHops: number;
    ipHashSecret: string | undefined;
  }>;
  /** `POST {pathPrefix}/api/v1/footprints`; no keys means the endpoint is disabled. */
  ingest: Readonly<{ keys: readonly string[]; maxEvents: number; maxBytes: number; timeoutMs: number }>;
  /** Prefix of our own pages and API, e.g. `/_footprint`. */
  pathPrefix: string;
  /** Who may log in to the dashboard and stats API; nothing set means serve makes up a token. */
  dashboard: Readonly<{
    token: string | undefined;
    user: string | undefined;
    password: string | undefined;
    sessionSecret: string | undefined;
  }>;
  /** Settings that work but probably not as meant; commands log them once at start-up. */
  warnings: readonly ConfigProblem[];
}>;

export type ConfigProblem = { variable: string; message: string };

/** Never repeated in a message: they are secrets or URLs that may carry a password. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "DB_PASSWORD",
  "CLICKHOUSE_URL",
  "CH_PASSWORD",
  "DASHBOARD_TOKEN",
  "DASHBOARD_PASSWORD",
  "SESSION_SECRET",
  "IP_HASH_SECRET",
  "INGEST_KEYS",
]);

/**
 * Reads and validates every setting at once, so an operator sees all problems in one start-up.
 *
 * @example
 * const config = loadConfig({ ...parseEnvFile(text).values, ...process.env });
 */
export function loadConfig(env: Record<string, string | undefined>, warnings: readonly ConfigProblem[] = []): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems: ConfigProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const variable = String(i.path[0]);
        return { variable, message: `${i.message}${quoteGiven(variable, env[variable])}` };
      });

  // Checked on the raw values too, so a missing setting is reported beside any malformed one.
  const given = (name: string) => (env[name] ?? "").trim() !== "";
  if (!given("KAFKA_BROKERS") && !given("BOOTSTRAP_SERVER")) {
    problems.push({ variable: "KAFKA_BROKERS", message: "is required (or BOOTSTRAP_SERVER), e.g. 127.0.0.1:9092" });
  }
  if (!given("DATABASE_URL") && !(given("DB_NAME") && given("DB_USER"))) {
    problems.push({
      variable: "DATABASE_URL",
      message:
        "is required (or DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD), e.g. postgres://user:pass@127.0.0.1:5432/eft",
    });
  }
  if (given("DASHBOARD_USER") !== given("DASHBOARD_PASSWORD")) {
    const missing = given("DASHBOARD_USER") ? "DASHBOARD_PASSWORD" : "DASHBOARD_USER";
    const other = missing === "DASHBOARD_USER" ? "DASHBOARD_PASSWORD" : "DASHBOARD_USER";
    problems.push({ variable: missing, message: `is required when ${other} is set` });
  }
  const e = parsed.success ? parsed.data : undefined;
  if (problems.length > 0 || !e) throw configError(problems);

  const clickhouse = clickhouseSettings(e);
  return deepFreeze({
    http: { host: e.HOST, port: e.PORT },
    kafka: {
      brokers: (e.KAFKA_BROKERS ?? e.BOOTSTRAP_SERVER) as string[],
      topic: e.TOPIC,
      topicPartitions: e.TOPIC_PARTITIONS,
      groupId: e.GROUP_ID,
      fromBeginning: e.OFFSET_RESET_CONFIG === "earliest",
      clientId: e.KAFKA_CLIENT_ID,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    },
    postgres: { url: e.DATABASE_URL ?? postgresUrlFromParts(e) },
    clickhouse,
    timeZone: e.FOOTPRINT_TZ,
    log: { level: e.LOG_LEVEL, dir: e.LOG_DIR, maxBytes: e.LOG_MAX_BYTES, maxFiles: e.LOG_MAX_FILES },
    retention: { days: e.RETENTION_DAYS },
    systemd: { notifySocket: e.NOTIFY_SOCKET },
    consumer: { batchSize: e.BATCH_SIZE, flushMs: e.BATCH_FLUSH_MS, nice: e.CONSUMER_NICE },
    producer: { queueMax: e.PRODUCER_QUEUE_MAX, spoolDir: e.SPOOL_DIR, spoolMaxBytes: e.SPOOL_MAX_BYTES },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    metricsPort: e.METRICS_PORT,
    footprint: { skipPaths: e.FOOTPRINT_SKIP_PATHS },
    capture: {
      upstream: e.UPSTREAM_URL,
      record: e.RECORD,
      recordQuery: e.RECORD_QUERY,
      trustProxyHops: e.TRUST_PROXY,
      ipHashSecret: e.IP_HASH_SECRET,
    },
    ingest: {
      keys: e.INGEST_KEYS,
      maxEvents: e.INGEST_MAX_EVENTS,
      maxBytes: e.INGEST_MAX_BYTES,
      timeoutMs: e.INGEST_TIMEOUT_MS,
    },
    pathPrefix: e.PATH_PREFIX,
    dashboard: {
      token: e.DASHBOARD_TOKEN,
      user: e.DASHBOARD_USER,
      password: e.DASHBOARD_PASSWORD,
      sessionSecret: e.SESSION_SECRET,
    },
    warnings: [...warnings, ...tzWarnings(env)],
  });
}

/** `, got 'abc'` after a problem, so the operator sees what was read (secrets excepted). */
function quoteGiven(variable: string, value: string | undefined): string {
  if (value === undefined || SECRET_VARIABLES.has(variable)) return "";
  return `, got '${value.trim()}'`;
}

/**
 * TZ was the footprint zone before FOOTPRINT_TZ; it is now only the process's own zone. An install
 * that set it for us is told once, rather than seeing its timestamps' offset change without a word.
 */
function tzWarnings(env: Record<string, string | undefined>): ConfigProblem[] {
  const tz = (env.TZ ?? "").trim();
  // A leading ":" is POSIX's "zone file name" form of the same zone.
  if (tz === "" || tz.replace(/^:/, "") === DEFAULT_FOOTPRINT_TZ || (env.FOOTPRINT_TZ ?? "").trim() !== "") return [];
  return [
    {
      variable: "TZ",
      message:
        `TZ=${tz} no longer sets the footprint zone: footprint_time is written in ${DEFAULT_FOOTPRINT_TZ}. ` +
        `Set FOOTPRINT_TZ=${tz} to keep writing it in ${tz}, or FOOTPRINT_TZ=${DEFAULT_FOOTPRINT_TZ} to keep the default and silence this warning`,
    },
  ];
}

/** Text shown when start-up stops on configuration: one line per problem, naming the variable. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  return [
    "eft-footprint cannot start: the configuration has problems:",
    ...problems.map((p) => `  - ${p.variable} ${p.message}`),
  ].join("\n");
}

function configError(problems: ConfigProblem[]): AppError {
  return new AppError("CONFIG_INVALID", formatConfigProblems(problems), problems);
}

type Env = z.infer<typeof EnvSchema>;

function postgresUrlFromParts(e: Env): string {
  const url = new URL("postgres://localhost");
  url.hostname = e.DB_HOST ?? "localhost";
  url.port = String(e.DB_PORT);
  url.pathname = `/${encodeURIComponent(e.DB_NAME ?? "")}`;
  url.username = encodeURIComponent(e.DB_USER ?? "");
  if (e.DB_PASSWORD) url.password = encodeURIComponent(e.DB_PASSWORD);
  return url.toString();
}

function clickhouseSettings(e: Env): Config["clickhouse"] {
  if (e.CLICKHOUSE_URL) {
    // Credentials in the URL are moved to the client options: the web client sends them as
    // Basic auth and would otherwise leak them into every request line.
    const url = new URL(e.CLICKHOUSE_URL);
    const username = url.username ? decodeURIComponent(url.username) : e.CH_USER;
    const password = url.password ? decodeURIComponent(url.password) : e.CH_PASSWORD;
    url.username = "";
    url.password = "";
    return {
      url: url.toString().replace(/\/$/, ""),
      username,
      password,
      database: e.CLICKHOUSE_DATABASE,
    };
  }
  return {
    url: `http://${e.CH_HOST}:${e.CH_PORT}`,
    username: e.CH_USER,
    password: e.CH_PASSWORD,
    database: e.CLICKHOUSE_DATABASE,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
