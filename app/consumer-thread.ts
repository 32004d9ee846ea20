/**
 * `serve`'s consumer, run in a Worker (consumer-worker.ts) so that a busy consumer never delays a
 * response: this is the main thread's side. The worker's log lines go through this thread's
 * logger; its metrics replace the consumer's own in this thread's registry, for /metrics.
 */
import type { MetricObjectWithValues, MetricValue, Registry } from "prom-client";
import type { Config } from "../src/config.ts";
import { type Logger, parseLogLine } from "../src/log.ts";
import type { Metrics } from "../src/metrics.ts";
import { workerEntry } from "../src/worker-entry.ts";

type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export type ToConsumerWorker = { type: "start"; config: Config } | { type: "stop"; timeoutMs: number };
export type FromConsumerWorker =
  | { type: "log"; line: string }
  | { type: "metrics"; metrics: MetricsSnapshot }
  | { type: "stopped" };

/** The metrics the consumer updates: in `serve` their values come from the worker. */
const CONSUMER_METRICS = [
  "consumerLag",
  "consumerBuffered",
  "sinkBatchRows",
  "sinkInsertSeconds",
  "sinkRows",
  "sinkErrors",
  "deadLetters",
] as const satisfies readonly (keyof Metrics)[];

export type ConsumerThread = {
  /** Finishes the current batches within `timeoutMs` (as the in-process consumer did), then ends the worker. */
  stop(timeoutMs: number): Promise<void>;
};

export function startConsumerThread(o: { config: Config; logger: Logger; metrics: Metrics }): ConsumerThread {
  const worker = new Worker(workerEntry("app/consumer-worker.ts"));
  const latest = showWorkerMetrics(o.metrics);
  let stopped: (() => void) | undefined;
  worker.addEventListener("message", (e: MessageEvent<FromConsumerWorker>) => {
    const m = e.data;
    if (m.type === "log") relayLogLine(o.logger, m.line);
    else if (m.type === "metrics") latest.update(m.metrics);
    else stopped?.();
  });
  const ended = new Promise<void>((resolve) => {
    worker.addEventListener("close", () => resolve());
  });
  worker.addEventListener("error", (e) => o.logger.error("consumer worker failed", { err: e.message }));
  worker.postMessage({ type: "start", config: o.config } satisfies ToConsumerWorker);
  return {
    async stop(timeoutMs) {
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
      });
      worker.postMessage({ type: "stop", timeoutMs } satisfies ToConsumerWorker);
      // The worker bounds its own shutdown by timeoutMs; a worker that died answers no more.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs + 1000);
      });
      await Promise.race([done, ended, deadline]);
      clearTimeout(timer);
      worker.terminate();
    },
  };
}

/** A line from the worker's logger, written by this thread's (one writer for stdout and LOG_DIR). */
export function relayLogLine(logger: Logger, line: string): void {
  const { level, msg, fields } = parseLogLine(line);
  logger[level](msg, fields);
}

/** Replaces the consumer's metrics in this thread's registry by the worker's last snapshot of them. */
export function showWorkerMetrics(metrics: Metrics) {
  const registry: Registry = metrics.registry;
  const snapshot = new Map<string, MetricObjectWithValues<MetricValue<string>>>();
  for (const key of CONSUMER_METRICS) {
    const own = metrics[key];
    const name = (own as unknown as { name: string }).name;
    registry.removeSingleMetric(name);
    // prom-client formats anything registered with a name and get(); until the worker reports,
    // the metric shows as this thread's own (empty) one.
    registry.registerMetric({ name, get: async () => snapshot.get(name) ?? own.get() } as never);
  }
  return {
    update(metrics: MetricsSnapshot) {
      for (const m of metrics) snapshot.set(m.name, m);
    },
  };
}
