import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * Every Prometheus metric eft-footprint exports, on one registry created once per process and
 * passed to whatever updates it (no global registry: tests get their own).
 */
export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics) collectRuntimeMetrics(registry);
  const registers = [registry];
  return {
    registry,
    eventsProduced: new Counter({
      name: "eft_events_produced_total",
      help: "Footprint events acknowledged by Kafka.",
      registers,
    }),
    eventsQueued: new Gauge({
      name: "eft_events_queued",
      help: "Footprint events waiting in memory for Kafka.",
      registers,
    }),
    eventsSpooled: new Counter({
      name: "eft_events_spooled_total",
      help: "Footprint events written to the disk spool because the memory queue was full or the spool was not yet drained.",
      registers,
    }),
    spoolBytes: new Gauge({
      name: "eft_spool_bytes",
      help: "Bytes held in the disk spool (SPOOL_DIR), waiting for Kafka.",
      registers,
    }),
    eventsDropped: new Counter({
      name: "eft_events_dropped_total",
      help: "Footprint events that could not be kept: spool full or disabled, unreadable spool line, shutdown.",
      labelNames: ["reason"] as const,
      registers,
    }),
    consumerLag: new Gauge({
      name: "eft_consumer_lag",
      help: "Messages in the topic not yet committed by a sink's consumer group.",
      labelNames: ["sink", "partition"] as const,
      registers,
    }),
    consumerBuffered: new Gauge({
      name: "eft_consumer_buffered_messages",
      help: "Messages a sink's consumer has read and holds in memory, not yet written (at most BATCH_SIZE per partition).",
      labelNames: ["sink"] as const,
      registers,
    }),
    sinkBatchRows: new Histogram({
      name: "eft_sink_batch_rows",
      help: "Rows per batch written to a sink.",
      labelNames: ["sink"] as const,
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 50_000],
      registers,
    }),
    sinkInsertSeconds: new Histogram({
      name: "eft_sink_insert_seconds",
      help: "Time to write one batch to a sink (successful attempts).",
      labelNames: ["sink"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sinkRows: new Counter({
      name: "eft_sink_rows_total",
      help: "Rows written to a sink (a redelivered batch counts again; the sink drops the repeat).",
      labelNames: ["sink"] as const,
      registers,
    }),
    sinkErrors: new Counter({
      name: "eft_sink_errors_total",
      help: "Failed attempts to store a batch or commit its offsets (each is retried).",
      labelNames: ["sink"] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: "eft_dead_letters_total",
      help: "Messages sent to the dead-letter topic, by error code, and the store that refused the row if one did.",
      labelNames: ["code", "rejected_by"] as const,
      registers,
    }),
    httpRequests: new Counter({
      name: "eft_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status.",
      labelNames: ["method", "route", "status"] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: "eft_http_request_duration_seconds",
      help: "Time to answer an HTTP request, by method and route pattern.",
      labelNames: ["method", "route"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}

/**
 * prom-client's process and Node.js metrics under the names every dashboard and alert for them
 * expects (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …): no `eft_` prefix, which
 * marks only what this service itself measures.
 */
function collectRuntimeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  // prom-client also exports these counts as gauges named like counters, which Prometheus's own
  // lint (`promtool check metrics`) rejects; each is `sum()` of the by-type gauge of the same name
  // without `_total` (nodejs_active_handles, …), so nothing is lost.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
}
