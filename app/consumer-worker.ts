/**
 * The consumer's Worker in `serve` (an extra entry point of `bun build --compile`, see compile.sh):
 * migrations, the sink consumers and the retention job run here, so that decoding and writing
 * batches never delays a response on the request thread. `consume` runs the same consumer on its
 * main thread. Log lines and metrics go back to the main thread (consumer-thread.ts).
 */
import type { RunningConsumer } from "../consumer/consume.ts";
import { createKafka } from "../src/kafka.ts";
import { watchTopicOf } from "../src/kafka-topics.ts";
import { createLogger, type Logger, silentLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics.ts";
import { quietKafkajsTimeoutWarning } from "../src/runtime-warnings.ts";
import { openStores } from "../src/store/open-stores.ts";
import { lowerThisThreadPriority } from "../src/thread-priority.ts";
import { startPipelineConsumer } from "./commands/consume.ts";
import type { FromConsumerWorker, ToConsumerWorker } from "./consumer-thread.ts";

declare const self: Worker;

quietKafkajsTimeoutWarning();

const post = (message: FromConsumerWorker) => self.postMessage(message);

/** How often the consumer's metrics are sent to the main thread's /metrics. */
const METRICS_EVERY_MS = 1000;

let stop: ((timeoutMs: number) => Promise<void>) | undefined;

self.onmessage = async (e: MessageEvent<ToConsumerWorker>) => {
  const m = e.data;
  if (m.type === "start") stop = start(m.config);
  else if (m.type === "stop") {
    await stop?.(m.timeoutMs);
    post({ type: "stopped" });
  }
};

function start(config: Extract<ToConsumerWorker, { type: "start" }>["config"]) {
  // Lines are written by the main thread's logger (stdout, LOG_DIR), one writer for the process.
  const logger = createLogger({ level: config.log.level, write: (line) => post({ type: "log", line }) });
  const metrics = createMetrics();
  const sendMetrics = async () => post({ type: "metrics", metrics: await metrics.registry.getMetricsAsJSON() });
  const timer = setInterval(() => void sendMetrics(), METRICS_EVERY_MS);
  const stores = openStores(config);
  const admin = createKafka({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, logger }).admin();
  // Silent: the main thread's own watch says a missing topic once for the process.
  const topicWatch = watchTopicOf(admin, config.kafka, silentLogger());
  const aborted = new AbortController();
  const consumer: Promise<RunningConsumer | undefined> = startPipelineConsumer(
    config,
    stores,
    logger,
    aborted.signal,
    topicWatch,
    metrics,
  );
  // Once connected: a thread this one starts inherits its nice value, and the first fetch starts
  // Bun's HTTP client thread, which the whole process (the proxy's requests too) then shares.
  consumer.then(
    (running) => running && yieldToRequests(config.consumer.nice, logger),
    () => {}, // reported where stop() awaits it
  );
  return async (timeoutMs: number) => {
    // Abort first: a topic wait or start-up retry still running must not reconnect the admin.
    aborted.abort();
    await admin.disconnect().catch(() => {});
    await (await consumer)?.stop(timeoutMs);
    await Promise.all(stores.map((s) => s.close()));
    clearInterval(timer);
    await sendMetrics();
  };
}

/**
 * Gives this thread the nice value CONSUMER_NICE (10 by default). When a request and the consumer
 * both want a core, the kernel runs the request thread (nice 0) first: at weights 1024 to 110 the
 * consumer gets about a tenth of a core both want, and all the time requests leave. Footprints
 * wait in Kafka meanwhile and are stored once requests let up (offsets are committed as before:
 * nothing lost, nothing twice); a site at full load all the time sees them later, never a slower
 * response. A system that refuses it leaves the thread as it was (a warning says why). Threads
 * that this one starts from then on (none while it only consumes) would inherit the value.
 */
function yieldToRequests(nice: number, logger: Logger): void {
  if (nice === 0) return;
  const priority = lowerThisThreadPriority(nice);
  if (priority.lowered) logger.debug("consumer thread yields to requests", { nice, tid: priority.tid });
  else logger.warn("consumer thread runs at the request thread's priority", { reason: priority.reason });
}
