import { describe, expect, test } from "bun:test";
import { type ConfigProblem, EnvSchema, loadConfig } from "./config.ts";
import { AppError } from "./errors.ts";

const minimal = { KAFKA_BROKERS: "127.0.0.1:9092", DATABASE_URL: "postgres://u:p@127.0.0.1:5433/eft" };

function problemsOf(env: Record<string, string>): ConfigProblem[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("CONFIG_INVALID");
    return (err as AppError).details as ConfigProblem[];
  }
  throw new Error("expected the configuration to be rejected");
}

describe("loadConfig", () => {
  test("defaults follow the old system", () => {
    const c = loadConfig(minimal);
    expect(c.kafka).toEqual({
      brokers: ["127.0.0.1:9092"],
      topic: "web-logs-topic",
      topicPartitions: 3,
      groupId: "eft-footprint",
      fromBeginning: true,
      clientId: "eft-footprint",
      sessionTimeoutMs: 30_000,
    });
    expect(c.clickhouse).toEqual({ url: "http://localhost:8123", username: "default", password: "", database: "prd" });
    expect(c.timeZone).toBe("Asia/Seoul");
    expect(c.http).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.consumer).toEqual({ batchSize: 5000, flushMs: 1000, nice: 10 });
    expect(c.log).toEqual({ level: "info", dir: undefined, maxBytes: 10 * 1024 * 1024, maxFiles: 5 });
    expect(c.retention).toEqual({ days: undefined });
    expect(c.pathPrefix).toBe("/_footprint");
    expect(c.dashboard).toEqual({ token: undefined, user: undefined, password: undefined, sessionSecret: undefined });
  });

  test("dashboard login settings", () => {
    const c = loadConfig({
      ...minimal,
      DASHBOARD_TOKEN: "t".repeat(16),
      DASHBOARD_USER: "admin",
      DASHBOARD_PASSWORD: "correct horse",
      SESSION_SECRET: "s".repeat(32),
    });
    expect(c.dashboard).toEqual({
      token: "t".repeat(16),
      user: "admin",
      password: "correct horse",
      sessionSecret: "s".repeat(32),
    });
  });

  test("a dashboard user needs a password and the other way round", () => {
    expect(problemsOf({ ...minimal, DASHBOARD_USER: "admin" })).toEqual([
      { variable: "DASHBOARD_PASSWORD", message: "is required when DASHBOARD_USER is set" },
    ]);
    expect(problemsOf({ ...minimal, DASHBOARD_PASSWORD: "correct horse" }).map((p) => p.variable)).toEqual([
      "DASHBOARD_USER",
    ]);
  });

  test("accepts every name of the old system", () => {
    const c = loadConfig({
      BOOTSTRAP_SERVER: "kafka1:9092, kafka2:9092",
      TOPIC: "web-logs-topic",
      GROUP_ID: "web-logs-group",
      OFFSET_RESET_CONFIG: "latest",
      DB_HOST: "db.internal",
      DB_PORT: "6543",
      DB_NAME: "eft",
      DB_USER: "eft user",
      DB_PASSWORD: "p@ss:w/rd",
      CH_HOST: "ch.internal",
      CH_PORT: "18123",
      CH_USER: "writer",
      CH_PASSWORD: "secret",
      LOG_DIR: "./logs",
    });
    expect(c.kafka.brokers).toEqual(["kafka1:9092", "kafka2:9092"]);
    expect(c.kafka.groupId).toBe("web-logs-group");
    expect(c.kafka.fromBeginning).toBe(false);
    const pg = new URL(c.postgres.url);
    expect([pg.hostname, pg.port, pg.pathname]).toEqual(["db.internal", "6543", "/eft"]);
    expect(decodeURIComponent(pg.username)).toBe("eft user");
    expect(decodeURIComponent(pg.password)).toBe("p@ss:w/rd");
    expect(c.clickhouse).toEqual({
      url: "http://ch.internal:18123",
      username: "writer",
      password: "secret",
      database: "prd",
    });
    expect(c.log.dir).toBe("./logs");
  });

  test("URL forms win over the old names; ClickHouse credentials move out of the URL", () => {
    const c = loadConfig({
      ...minimal,
      BOOTSTRAP_SERVER: "old:9092",
      DB_NAME: "old",
      DB_USER: "old",
      CH_HOST: "old",
      CLICKHOUSE_URL: "https://reader:s%40cret@ch.example.com:8443/",
      CLICKHOUSE_DATABASE: "analytics",
    });
    expect(c.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(c.postgres.url).toBe(minimal.DATABASE_URL);
    expect(c.clickhouse).toEqual({
      url: "https://ch.example.com:8443",
      username: "reader",
      password: "s@cret",
      database: "analytics",
    });
  });

  test("the result is frozen", () => {
    const c = loadConfig(minimal);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.kafka.brokers)).toBe(true);
  });

  test("missing settings are all reported, by variable name", () => {
    expect(problemsOf({}).map((p) => p.variable)).toEqual(["KAFKA_BROKERS", "DATABASE_URL"]);
  });

  test.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["DB_PORT", "-1"],
    ["CH_PORT", "8123.5"],
    ["KAFKA_BROKERS", "localhost"],
    ["BOOTSTRAP_SERVER", "a:1,b"],
    ["TOPIC", "no spaces allowed"],
    ["OFFSET_RESET_CONFIG", "smallest"],
    ["DATABASE_URL", "mysql://x/y"],
    ["DATABASE_URL", "not a url"],
    ["CLICKHOUSE_URL", "tcp://ch:9000"],
    ["CLICKHOUSE_DATABASE", "prd; drop"],
    ["FOOTPRINT_TZ", "Asia/Nowhere"],
    ["LOG_LEVEL", "verbose"],
    ["BATCH_SIZE", "0"],
    ["BATCH_FLUSH_MS", "soon"],
    ["CONSUMER_NICE", "20"],
    ["CONSUMER_NICE", "-5"],
    ["FOOTPRINT_SKIP_PATHS", "healthz"],
    ["PATH_PREFIX", "/_footprint/"],
    ["PATH_PREFIX", "stats"],
    ["DASHBOARD_TOKEN", "too-short"],
    ["SESSION_SECRET", "short"],
    ["SPOOL_MAX_BYTES", "1GB"],
    ["SHUTDOWN_TIMEOUT_MS", "0"],
    ["METRICS_PORT", "70000"],
    ["KAFKA_SESSION_TIMEOUT_MS", "1000"],
    ["TOPIC_PARTITIONS", "0"],
    ["TOPIC_PARTITIONS", "two"],
  ])("a bad %s (%p) is named", (variable, value) => {
    const problems = problemsOf({ ...minimal, [variable]: value });
    expect(problems.map((p) => p.variable)).toEqual([variable]);
  });

  test("every problem is listed in one message, one line each", () => {
    try {
      loadConfig({ PORT: "x", FOOTPRINT_TZ: "Nowhere", DATABASE_URL: "mysql://a" });
      throw new Error("not rejected");
    } catch (err) {
      const lines = (err as Error).message.split("\n");
      expect(lines[0]).toContain("cannot start");
      expect(lines.slice(1).map((l) => l.trim().split(" ")[1])).toEqual([
        "PORT",
        "DATABASE_URL",
        "FOOTPRINT_TZ",
        "KAFKA_BROKERS",
      ]);
    }
  });

  test("empty values count as unset", () => {
    expect(loadConfig({ ...minimal, PORT: "", FOOTPRINT_TZ: "  " }).http.port).toBe(8080);
  });
});

describe("the footprint zone (FOOTPRINT_TZ, not TZ)", () => {
  test("FOOTPRINT_TZ sets it; Asia/Seoul, the wire format's zone, by default", () => {
    expect(loadConfig({ ...minimal, FOOTPRINT_TZ: "America/New_York" }).timeZone).toBe("America/New_York");
    expect(loadConfig(minimal).timeZone).toBe("Asia/Seoul");
    expect(loadConfig(minimal).warnings).toEqual([]);
  });

  test("TZ is the process's zone only: it neither sets the footprint zone nor is validated", () => {
    expect(loadConfig({ ...minimal, TZ: "UTC" }).timeZone).toBe("Asia/Seoul");
    expect(loadConfig({ ...minimal, TZ: "KST-9" }).timeZone).toBe("Asia/Seoul");
    expect(loadConfig({ ...minimal, TZ: "UTC", FOOTPRINT_TZ: "Europe/Paris" }).timeZone).toBe("Europe/Paris");
  });

  test("a TZ that would have changed the zone is one warning naming FOOTPRINT_TZ", () => {
    expect(loadConfig({ ...minimal, TZ: "UTC" }).warnings).toEqual([
      {
        variable: "TZ",
        message:
          "TZ=UTC no longer sets the footprint zone: footprint_time is written in Asia/Seoul. " +
          "Set FOOTPRINT_TZ=UTC to keep writing it in UTC, or FOOTPRINT_TZ=Asia/Seoul to keep the default and silence this warning",
      },
    ]);
  });

  test.each([
    ["TZ equal to the default", { TZ: "Asia/Seoul" }],
    ["TZ in POSIX's file form of the default", { TZ: ":Asia/Seoul" }],
    ["FOOTPRINT_TZ set", { TZ: "UTC", FOOTPRINT_TZ: "Asia/Seoul" }],
    ["TZ empty", { TZ: "" }],
  ])("no warning with %s", (_name, env) => {
    expect(loadConfig({ ...minimal, ...env }).warnings).toEqual([]);
  });
});

describe("configuration messages say what is expected, in our words", () => {
  const messageOf = (variable: string, value: string) =>
    problemsOf({ ...minimal, [variable]: value }).find((p) => p.variable === variable)?.message;

  test.each([
    ["PORT", "abc", "must be a whole number, got 'abc'"],
    ["PORT", "0x10", "must be a whole number, got '0x10'"],
    ["PORT", "1e3", "must be a whole number, got '1e3'"],
    ["PORT", "1.5", "must be a whole number, got '1.5'"],
    ["PORT", "70000", "must be a port number between 0 and 65535, got '70000'"],
    ["DB_PORT", "0", "must be a port number between 1 and 65535, got '0'"],
    ["BATCH_SIZE", "many", "must be a whole number, got 'many'"],
    ["BATCH_SIZE", "0", "must be at least 1, got '0'"],
    ["KAFKA_SESSION_TIMEOUT_MS", "abc", "must be a whole number of milliseconds, got 'abc'"],
    ["RETENTION_DAYS", "a week", "must be a whole number of days, got 'a week'"],
    ["RECORD", "maybe", "must be true or false, got 'maybe'"],
    ["LOG_LEVEL", "verbose", "must be debug, info, warn or error, got 'verbose'"],
    ["OFFSET_RESET_CONFIG", "smallest", "must be earliest or latest, got 'smallest'"],
    ["FOOTPRINT_TZ", "Asia/Nowhere", "must be an IANA time zone name such as Asia/Seoul or UTC, got 'Asia/Nowhere'"],
    ["KAFKA_BROKERS", "localhost", "must be a comma-separated list of host:port, got 'localhost'"],
    ["TOPIC", "a b", "must be a Kafka topic name (letters, digits, . _ -), got 'a b'"],
    ["PATH_PREFIX", "stats", "must be a path such as /_footprint (no trailing /), got 'stats'"],
    ["FOOTPRINT_SKIP_PATHS", "healthz", "must be comma-separated paths, each starting with /, got 'healthz'"],
    ["TRUST_PROXY", "all", "must be true, false or a number of proxy hops (0-99), got 'all'"],
    ["UPSTREAM_URL", "ftp://site", "must start with http:// or https://, got 'ftp://site'"],
  ])("%s=%p: %s", (variable, value, message) => {
    expect(messageOf(variable, value)).toBe(message);
  });

  test.each([
    ["DATABASE_URL", "mysql://user:hunter2@db/eft", "must start with postgres:// or postgresql://"],
    ["CLICKHOUSE_URL", "tcp://user:hunter2@ch:9000", "must start with http:// or https://"],
    ["DASHBOARD_TOKEN", "hunter2", "must be at least 16 characters"],
    ["DASHBOARD_PASSWORD", "hunter2", "must be at least 8 characters"],
    ["SESSION_SECRET", "hunter2", "must be at least 32 characters"],
    ["IP_HASH_SECRET", "hunter2", "must be at least 16 characters"],
    ["INGEST_KEYS", "hunter2", "must be comma-separated keys of at least 16 characters each"],
  ])("a secret is never repeated: %s", (variable, value, message) => {
    const env = {
      ...minimal,
      [variable]: value,
      ...(variable === "DASHBOARD_PASSWORD" ? { DASHBOARD_USER: "u" } : {}),
    };
    expect(problemsOf(env).find((p) => p.variable === variable)?.message).toBe(message);
  });

  test("no setting answers with zod's own text, whatever it is given", () => {
    for (const variable of Object.keys(EnvSchema.shape)) {
      for (const value of ["abc", "-1", "1e400", "%", "x".repeat(300)]) {
        let problems: ConfigProblem[] = [];
        try {
          loadConfig({ ...minimal, [variable]: value });
        } catch (err) {
          problems = (err as { details: ConfigProblem[] }).details;
        }
        for (const p of problems) {
          expect(p.message).toMatch(/^(must|is required)/);
          expect(p.message).not.toMatch(/Invalid input|expected|received/);
        }
      }
    }
  });
});

describe("capture and ingest settings", () => {
  test("defaults: no proxy, recording on, no query, no trusted proxy, ingest disabled", () => {
    const c = loadConfig(minimal);
    expect(c.capture).toEqual({
      upstream: undefined,
      record: true,
      recordQuery: false,
      trustProxyHops: 0,
      ipHashSecret: undefined,
    });
    expect(c.ingest).toEqual({ keys: [], maxEvents: 1000, maxBytes: 1024 * 1024, timeoutMs: 10_000 });
  });

  test("reads every setting", () => {
    const c = loadConfig({
      ...minimal,
      UPSTREAM_URL: "http://127.0.0.1:8000",
      RECORD: "false",
      RECORD_QUERY: "yes",
      TRUST_PROXY: "2",
      IP_HASH_SECRET: "s".repeat(16),
      INGEST_KEYS: ` ${"k".padEnd(17, "1")}, ${"k".padEnd(20, "2")}`,
      INGEST_MAX_EVENTS: "50",
      INGEST_MAX_BYTES: "2048",
      INGEST_TIMEOUT_MS: "500",
    });
    expect(c.capture).toEqual({
      upstream: "http://127.0.0.1:8000",
      record: false,
      recordQuery: true,
      trustProxyHops: 2,
      ipHashSecret: "s".repeat(16),
    });
    expect(c.ingest).toEqual({
      keys: ["k".padEnd(17, "1"), "k".padEnd(20, "2")],
      maxEvents: 50,
      maxBytes: 2048,
      timeoutMs: 500,
    });
    expect(loadConfig({ ...minimal, TRUST_PROXY: "true" }).capture.trustProxyHops).toBe(1);
  });

  test("bad values name their variable", () => {
    expect(
      problemsOf({
        ...minimal,
        UPSTREAM_URL: "ftp://site",
        RECORD: "maybe",
        TRUST_PROXY: "all",
        INGEST_KEYS: "short",
        INGEST_MAX_EVENTS: "0",
      }).map((p) => p.variable),
    ).toEqual(["UPSTREAM_URL", "RECORD", "TRUST_PROXY", "INGEST_KEYS", "INGEST_MAX_EVENTS"]);
  });
});

describe("operations settings", () => {
  test("log rotation, retention and the systemd socket", () => {
    const c = loadConfig({
      ...minimal,
      LOG_DIR: "/var/log/eft-footprint",
      LOG_MAX_BYTES: "1048576",
      LOG_MAX_FILES: "3",
      RETENTION_DAYS: "90",
      NOTIFY_SOCKET: "/run/systemd/notify",
    });
    expect(c.log).toEqual({ level: "info", dir: "/var/log/eft-footprint", maxBytes: 1048576, maxFiles: 3 });
    expect(c.retention).toEqual({ days: 90 });
    expect(c.systemd).toEqual({ notifySocket: "/run/systemd/notify" });
  });

  test("bad values name their variable", () => {
    expect(problemsOf({ ...minimal, LOG_MAX_BYTES: "0", LOG_MAX_FILES: "1.5", RETENTION_DAYS: "0" })).toEqual([
      { variable: "LOG_MAX_BYTES", message: "must be at least 1, got '0'" },
      { variable: "LOG_MAX_FILES", message: "must be a whole number, got '1.5'" },
      {
        variable: "RETENTION_DAYS",
        message: "must be at least 1 (leave it unset to keep footprints forever), got '0'",
      },
    ]);
  });
});

describe("delivery settings (spool, shutdown, consume's metrics port)", () => {
  test("defaults and explicit values", () => {
    const d = loadConfig(minimal);
    expect(d.producer).toEqual({ queueMax: 100_000, spoolDir: "spool", spoolMaxBytes: 1024 ** 3 });
    expect(d.shutdownTimeoutMs).toBe(20_000);
    expect(d.metricsPort).toBe(9464);
    const c = loadConfig({
      ...minimal,
      SPOOL_DIR: "/var/lib/eft-footprint/spool",
      SPOOL_MAX_BYTES: "1048576",
      SHUTDOWN_TIMEOUT_MS: "5000",
      METRICS_PORT: "0",
    });
    expect(c.producer.spoolDir).toBe("/var/lib/eft-footprint/spool");
    expect(c.producer.spoolMaxBytes).toBe(1_048_576);
    expect(c.shutdownTimeoutMs).toBe(5000);
    expect(c.metricsPort).toBe(0);
  });
});
