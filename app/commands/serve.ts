import { randomBytes } from "node:crypto";
import {
  createPostgresAccountFailures,
  createPostgresSessionStore,
  resolveCredentials,
} from "../../routes/auth/index.ts";
import type { Config } from "../../src/config.ts";
import { logConfigWarnings, readConfig } from "../../src/config-file.ts";
import { AppError } from "../../src/errors.ts";
import type { CaptureWorkerSettings } from "../../src/footprint/capture-protocol.ts";
import { startWorkerRecorder } from "../../src/footprint/worker-recorder.ts";
import { createKafka, createKafkaSender } from "../../src/kafka.ts";
import { unlessTopicMissing, watchTopicOf } from "../../src/kafka-topics.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { createMetrics } from "../../src/metrics.ts";
import { openStores } from "../../src/store/open-stores.ts";
import { storeReadinessChecks } from "../../src/store/readiness.ts";
import type { Store } from "../../src/store/store.ts";
import { createSystemdNotifier } from "../../src/systemd.ts";
import { startConsumerThread } from "../consumer-thread.ts";
import { createApp } from "../create-app.ts";
import { listen } from "../listen.ts";
import { onShutdownSignal } from "../shutdown.ts";
import { defineCommand } from "./command.ts";

export const serveCommand = defineCommand({
  name: "serve",
  summary: "HTTP app (footprint middleware, dashboard, health) and the consumer in one process",
  help: `Usage: eft-footprint serve [--no-consumer] [--demo | --upstream <url>] [--env-file <path>]

Serves HTTP on HOST:PORT (default 0.0.0.0:8080), records a footprint of every request to Kafka
(TOPIC) without waiting for it, and runs the consumer that stores footprints in PostgreSQL and
ClickHouse in the same process.

Our pages under PATH_PREFIX (the dashboard) need a login: DASHBOARD_TOKEN, or DASHBOARD_USER with
DASHBOARD_PASSWORD; with neither, a token is made up and a login link is logged once. SESSION_SECRET
keeps sessions valid across restarts.

  --no-consumer  do not run the consumer here (run 'eft-footprint consume' elsewhere)
  --demo         also serve a small demo site under /api/v1/ (items, quests, ...) to record
  --upstream <url>
                 reverse-proxy mode (or UPSTREAM_URL): forward every request outside PATH_PREFIX
                 and /healthz, /readyz to this site and record it; WebSocket upgrades get a 501.
                 RECORD=false proxies without recording; RECORD_QUERY=true also records query
                 strings; TRUST_PROXY=<hops> believes X-Forwarded-For from proxies in front.
                 INGEST_KEYS enables POST PATH_PREFIX/api/v1/footprints (header X-Footprint-Key)
  --env-file     read settings from this file
`,
  options: { "no-consumer": { type: "boolean" }, demo: { type: "boolean" }, upstream: { type: "string" } },
  async run({ values, env, envFile }) {
    // --upstream is UPSTREAM_URL given on the command line, validated the same way.
    const config = readConfig(values.upstream === undefined ? env : { ...env, UPSTREAM_URL: values.upstream }, envFile);
    if (values.demo && config.capture.upstream) {
      throw new AppError("USAGE", "--demo and --upstream (UPSTREAM_URL) are exclusive: the demo site is not proxied");
    }
    await runServe(config, createLogger(config.log), { consumer: !values["no-consumer"], demo: Boolean(values.demo) });
    return -1; // keeps running until a signal
  },
});

export type ServeFlags = { consumer: boolean; demo: boolean };

/**
 * `eft-footprint serve`: HTTP first (the site must answer even while Kafka or a store is down),
 * then migrations and the consumer in the background.
 */
export async function runServe(config: Config, logger: Logger, flags: ServeFlags): Promise<void> {
  const stores = openStores(config);
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger });
  const metrics = createMetrics({ processMetrics: true });
  const admin = kafka.admin();
  const topicWatch = watchTopicOf(admin, config.kafka, logger);
  // Footprints are built and sent by the capture worker, off the request thread.
  const recorder = startWorkerRecorder({
    settings: captureWorkerSettings(config),
    logger,
    metrics,
    // The worker's sends found the topic missing: this thread's watch says so, once, with the fix.
    onTopicMissing: () => void topicWatch.exists().catch(() => {}),
  });
  // Ingest awaits Kafka's acknowledgement per request: a producer of its own keeps those waits
  // (and their timeouts) apart from the queue the footprint middleware feeds.
  const ingestSender = createKafkaSender(kafka, config.kafka.topic);

  const login = resolveCredentials(config.dashboard);
  const sessionLog = logger.child({ component: "sessions" });
  const app = createApp({
    captureRequest: recorder.capture,
    metrics,
    timeZone: config.timeZone,
    skipPaths: config.footprint.skipPaths,
    stores,
    logger,
    demo: flags.demo,
    pathPrefix: config.pathPrefix,
    capture: config.capture,
    ingest: { ...config.ingest, publish: unlessTopicMissing(topicWatch, ingestSender) },
    // Without SESSION_SECRET sessions are valid in this process only and end on restart.
    auth: {
      credentials: login.credentials,
      sessionSecret: config.dashboard.sessionSecret ?? randomBytes(32).toString("base64url"),
      // In PostgreSQL, so a logout, a revocation or a failed password reaches every serve process.
      sessions: createPostgresSessionStore(postgresSql(stores), { logger: sessionLog }),
      accountFailures: createPostgresAccountFailures(postgresSql(stores), { logger: sessionLog }),
    },
    checks: {
      kafka: async () => {
        await topicWatch.exists();
      },
      topic: () => topicWatch.check(),
      ...storeReadinessChecks(stores),
    },
  });

  const server = listen({
    hostname: config.http.host,
    port: config.http.port,
    fetch: app.fetch,
    settings: { host: "HOST", port: "PORT" },
  });
  logger.info("listening", {
    url: `http://${config.http.host}:${server.port}/`,
    dashboard: `http://${config.http.host}:${server.port}${config.pathPrefix}/`,
    consumer: flags.consumer,
    demo: flags.demo,
    upstream: config.capture.upstream,
    recording: config.capture.record,
    ingest: config.ingest.keys.length > 0,
  });
  logConfigWarnings(config, logger);
  warnIfNothingToRecord(config, flags, logger);
  const systemd = createSystemdNotifier(config.systemd.notifySocket, logger);
  systemd.ready(`listening on ${config.http.host}:${server.port}`);
  if (login.generatedToken) {
    // Like Jupyter: the dashboard is never open by accident, and the operator gets a link once.
    const host = ["0.0.0.0", "::", ""].includes(config.http.host) ? "localhost" : config.http.host;
    logger.info("dashboard login", {
      url: `http://${host}:${server.port}${config.pathPrefix}/login?token=${login.generatedToken}`,
      note: "no DASHBOARD_TOKEN or DASHBOARD_USER/DASHBOARD_PASSWORD set: this token was made up at start-up and works until restart",
    });
  }

  const aborted = new AbortController();
  // In a Worker: decoding and writing batches never delays a response on this thread.
  const consumer = flags.consumer ? startConsumerThread({ config, logger, metrics }) : undefined;

  // Order matters: stop taking requests, send what they produced, then let the consumer finish
  // its batch (it may be storing those very events), then close the stores.
  // Bounded by SHUTDOWN_TIMEOUT_MS: at most 40% of it for Kafka to take the queue (what it does
  // not take goes to the disk spool), the rest for the consumer's last batches.
  const deadline = () => shutdownStarted + config.shutdownTimeoutMs - 1000;
  let shutdownStarted = 0;
  onShutdownSignal(
    async (signal) => {
      shutdownStarted = Date.now();
      logger.info("stopping", { signal });
      systemd.stopping();
      await server.stop();
      const { unsent } = await recorder.stop(Math.min(10_000, config.shutdownTimeoutMs * 0.4));
      await ingestSender.disconnect().catch(() => {});
      // Abort first: a topic wait or start-up retry still running must not reconnect the admin.
      aborted.abort();
      await admin.disconnect().catch(() => {});
      await consumer?.stop(Math.max(0, deadline() - Date.now()));
      await Promise.all(stores.map((s) => s.close()));
      logger.info("stopped", { unsent });
    },
    logger,
    config.shutdownTimeoutMs,
  );
}

/** The PostgreSQL store's client (openStores always opens one), shared with the session store. */
function postgresSql(stores: readonly Store[]) {
  const pg = stores.find((s) => s.stats.kind === "postgres")?.stats;
  if (pg?.kind !== "postgres") throw new Error("serve needs the PostgreSQL store");
  return pg.sql;
}

/** What the capture worker is told: plain data from the config. */
export function captureWorkerSettings(config: Config): CaptureWorkerSettings {
  return {
    kafka: {
      brokers: config.kafka.brokers,
      clientId: config.kafka.clientId,
      topic: config.kafka.topic,
      topicPartitions: config.kafka.topicPartitions,
    },
    producer: {
      queueMax: config.producer.queueMax,
      spoolDir: config.producer.spoolDir,
      spoolMaxBytes: config.producer.spoolMaxBytes,
    },
    timeZone: config.timeZone,
    ipHashSecret: config.capture.ipHashSecret,
    ipHash: true,
    inferRoutes: Boolean(config.capture.upstream),
    logLevel: config.log.level,
  };
}

/**
 * Plain `serve` records only requests for its own 404s: say so once, with the ways to record.
 * RECORD=false is the explicit "footprints come from elsewhere" (the library in another app).
 */
export function warnIfNothingToRecord(config: Config, flags: ServeFlags, logger: Logger): void {
  if (flags.demo || config.capture.upstream || config.ingest.keys.length > 0 || !config.capture.record) return;
  logger.warn(
    "nothing to record: set UPSTREAM_URL (or --upstream <url>) to proxy and record your site, " +
      "INGEST_KEYS to accept footprints at the ingest API, or record with the footprint() middleware " +
      "in your own Hono app and set RECORD=false here",
    { docs: "docs/capture.md" },
  );
}
