/**
 * The capture Worker's entry (an extra entry point of `bun build --compile`, see compile.sh):
 * everything a footprint costs beyond reading the request happens here, off the request thread —
 * building events (ids, time, hashing, bot detection), JSON, the memory queue, the disk spool and
 * Kafka. The main thread posts batches of captured requests (`capture-codec.ts`) and gets back
 * what was taken, counters for /metrics and log lines.
 */
import { createKafka, createKafkaSender } from "../kafka.ts";
import { unlessTopicMissing, watchTopicOf } from "../kafka-topics.ts";
import { createLogger, type Logger, type LogLevel, parseLogLine, silentLogger } from "../log.ts";
import { quietKafkajsTimeoutWarning } from "../runtime-warnings.ts";
import { createEventBuilder, type EventBuilder } from "./capture.ts";
import { type CapturedBatch, decodeCaptured } from "./capture-codec.ts";
import type { CaptureStats, CaptureWorkerSettings, FromWorker, ToWorker } from "./capture-protocol.ts";
import { createIpHasher } from "./ip-hash.ts";
import type { FootprintEvent } from "./message.ts";
import { type DropReason, type ProducerLoop, type ProducerMetrics, startProducerLoop } from "./producer.ts";
import { createEventQueue } from "./queue.ts";
import { createSpool } from "./spool.ts";

declare const self: Worker;

quietKafkajsTimeoutWarning();

const post = (message: FromWorker) => self.postMessage(message);

/** Counters since the last stats message, and the gauges' last values. */
function createStatsCollector(): ProducerMetrics & { take(): CaptureStats } {
  let stats: CaptureStats = { produced: 0, spooled: 0, dropped: {}, queued: 0, spoolBytes: 0 };
  return {
    eventsProduced: {
      inc(n = 1) {
        stats.produced += n;
      },
    },
    eventsSpooled: {
      inc(n = 1) {
        stats.spooled += n;
      },
    },
    eventsQueued: {
      set(n) {
        stats.queued = n;
      },
    },
    spoolBytes: {
      set(n) {
        stats.spoolBytes = n;
      },
    },
    eventsDropped: {
      inc({ reason }: { reason: DropReason }, n = 1) {
        stats.dropped[reason] = (stats.dropped[reason] ?? 0) + n;
      },
    },
    take() {
      const taken = stats;
      stats = { produced: 0, spooled: 0, dropped: {}, queued: taken.queued, spoolBytes: taken.spoolBytes };
      return taken;
    },
  };
}

/** Log lines go to the main thread's logger, which owns stdout and LOG_DIR's file. */
function forwardingLogger(level: LogLevel): Logger {
  return createLogger({
    level,
    write: (line) => post({ type: "log", ...parseLogLine(line) }),
  });
}

type Delivery = {
  build: EventBuilder;
  loop: ProducerLoop;
  stats: ReturnType<typeof createStatsCollector>;
  close(): Promise<void>;
};

function startDelivery(s: CaptureWorkerSettings): Delivery {
  const logger = forwardingLogger(s.logLevel).child({ component: "producer" });
  const kafka = createKafka({ brokers: s.kafka.brokers, clientId: s.kafka.clientId, logger });
  const sender = createKafkaSender(kafka, s.kafka.topic);
  const admin = kafka.admin();
  // The main thread's watch logs a missing topic (once, with the fix); this one only asks.
  const watch = watchTopicOf(admin, s.kafka, silentLogger());
  const stats = createStatsCollector();
  const send = unlessTopicMissing(watch, sender);
  const loop = startProducerLoop({
    queue: createEventQueue<FootprintEvent>(s.producer.queueMax),
    spool: createSpool({ dir: s.producer.spoolDir, maxBytes: s.producer.spoolMaxBytes, logger }),
    send: async (values) => {
      try {
        await send(values);
      } catch (err) {
        if ((err as { code?: unknown }).code === "TOPIC_MISSING") post({ type: "topic-missing" });
        throw err;
      }
    },
    logger,
    metrics: stats,
    batchMax: s.producer.batchMax,
    lingerMs: s.producer.lingerMs ?? 5,
  });
  const build = createEventBuilder({
    timeZone: s.timeZone,
    ipHash: s.ipHash ? createIpHasher({ secret: s.ipHashSecret }) : undefined,
    inferRoutes: s.inferRoutes,
  });
  return {
    build,
    loop,
    stats,
    async close() {
      await sender.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  };
}

let delivery: Delivery | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;

function take(d: Delivery, batch: CapturedBatch): void {
  const { records } = batch;
  try {
    for (const captured of decodeCaptured(batch)) d.loop.offer(d.build(captured));
  } catch (err) {
    post({ type: "log", level: "error", msg: "footprints not recorded", fields: { err: String(err), records } });
  }
  post({ type: "taken", records });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") {
    delivery = startDelivery(m.settings);
    const d = delivery;
    statsTimer = setInterval(() => post({ type: "stats", stats: d.stats.take() }), m.settings.statsMs ?? 1000);
  } else if (m.type === "batch" && delivery) {
    take(delivery, m.batch);
  } else if (m.type === "stop" && delivery) {
    clearInterval(statsTimer);
    const { unsent, spooled } = await delivery.loop.stop(m.timeoutMs);
    // A broker that never answered may hold a connect: disconnecting is not waited for long.
    await Promise.race([delivery.close(), Bun.sleep(1000)]);
    post({ type: "stopped", unsent, spooled, stats: delivery.stats.take() });
  }
};
