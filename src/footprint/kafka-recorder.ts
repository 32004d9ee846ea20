import type { Producer } from "kafkajs";
import type { Logger } from "../log.ts";
import { createErrorReporter } from "./error-reporter.ts";
import type { FootprintEvent } from "./message.ts";
import { type ProducerLoop, startProducerLoop } from "./producer.ts";
import { createEventQueue } from "./queue.ts";

export type KafkaRecorderOptions = {
  /** A kafkajs producer the app created and connected; `idempotent: true` is recommended. */
  producer: Pick<Producer, "send">;
  /** Defaults to the old system's topic. */
  topic?: string;
  /** Events held in memory while Kafka is slow; beyond it they are dropped and reported. */
  queueMax?: number;
  /** Most events per Kafka request. */
  batchMax?: number;
  /**
   * Told about failed sends (retried) and dropped events; never throws into a request. By default
   * `createErrorReporter()`: the first at once, then one line a minute at most.
   */
  onError?: (message: string, details: Record<string, unknown>) => void;
};

export type KafkaRecorder = {
  /** For `footprint({ record })`: queues the event and returns at once. */
  record(event: FootprintEvent): boolean;
  /** Sends what is still queued (up to `timeoutMs`), then stops; call before disconnecting the producer. */
  stop: ProducerLoop["stop"];
};

/**
 * The service's own path to Kafka for apps that use the middleware as a library: a bounded
 * in-memory queue drained by a background loop in batches, acks from all replicas, retried with
 * backoff, in order.
 *
 * @example
 * const producer = new Kafka({ brokers: ["127.0.0.1:9092"] }).producer({ idempotent: true });
 * await producer.connect();
 * const recorder = kafkaRecorder({ producer, topic: "web-logs-topic" });
 * app.use(footprint({ record: recorder.record }));
 */
export function kafkaRecorder(options: KafkaRecorderOptions): KafkaRecorder {
  const topic = options.topic ?? "web-logs-topic";
  const queue = createEventQueue<FootprintEvent>(options.queueMax ?? 100_000);
  const loop = startProducerLoop({
    queue,
    batchMax: options.batchMax,
    logger: reportingLogger(options.onError ?? createErrorReporter()),
    send: async (values) => {
      await options.producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
    },
  });
  return { record: (event) => loop.offer(event), stop: (timeoutMs) => loop.stop(timeoutMs) };
}

/** The producer loop logs through our Logger; a library user gets its errors and warnings only. */
function reportingLogger(onError: NonNullable<KafkaRecorderOptions["onError"]>): Logger {
  const report = (message: string, details: Record<string, unknown> = {}) => {
    try {
      onError(message, details);
    } catch {
      // A failing reporter must not stop the loop.
    }
  };
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: report,
    error: report,
    child: () => logger,
  };
  return logger;
}
