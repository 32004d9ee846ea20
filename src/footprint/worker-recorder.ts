import type { Logger } from "../log.ts";
import { workerEntry } from "../worker-entry.ts";
import type { CapturedRequest } from "./capture.ts";
import { createBatchWriter } from "./capture-codec.ts";
import type { CaptureStats, CaptureWorkerSettings, FromWorker, ToWorker } from "./capture-protocol.ts";
import type { ProducerMetrics } from "./producer.ts";

/** The part of a Worker the recorder uses (a test passes a stand-in). */
export type CaptureWorkerPort = {
  postMessage(message: ToWorker, transfer?: ArrayBufferLike[]): void;
  addEventListener(type: "message", listener: (e: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: "error", listener: (e: ErrorEvent) => void): void;
  terminate(): void;
};

export type WorkerRecorderOptions = {
  settings: CaptureWorkerSettings;
  logger: Logger;
  metrics?: ProducerMetrics | undefined;
  /** The worker; by default the capture worker (`capture-worker.ts`) in this process. */
  worker?: CaptureWorkerPort;
  /** Records per message to the worker. */
  batchMax?: number;
  /** Longest a captured request waits on this thread before it is posted. */
  flushMs?: number;
  /**
   * Most records posted to the worker and not yet taken by it; beyond, a record is counted as
   * dropped (`worker_full`) instead of piling up on the request thread while the worker is stuck.
   */
  maxInFlight?: number;
  /** A send failed because the topic is missing: the main thread's topic watch reports it. */
  onTopicMissing?: () => void;
};

export type WorkerRecorder = {
  /** For `footprint({ capture })`: never waits, never throws. */
  capture(captured: CapturedRequest): void;
  /** Posts what waits, lets the worker send or spool its queue within `timeoutMs`, then ends it. */
  stop(timeoutMs?: number): Promise<{ unsent: number; spooled: number }>;
};

/** The default worker: a separate file, an extra entry point of the compiled binary (compile.sh). */
export function startCaptureWorker(): CaptureWorkerPort {
  return new Worker(workerEntry("src/footprint/capture-worker.ts")) as unknown as CaptureWorkerPort;
}

/**
 * The request thread's side of recording: captured requests are encoded into a string and
 * posted to the capture worker in batches (one message per `batchMax` records or `flushMs`),
 * which builds, queues, spools and sends them. Counters come back once a second into `metrics`.
 */
export function startWorkerRecorder(o: WorkerRecorderOptions): WorkerRecorder {
  const worker = o.worker ?? startCaptureWorker();
  const batchMax = o.batchMax ?? 256;
  const flushMs = o.flushMs ?? 10;
  const maxInFlight = o.maxInFlight ?? Math.max(batchMax, o.settings.producer.queueMax);
  const pending = createBatchWriter(batchMax);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight = 0;
  let droppedSinceReport = 0;
  let stopped: ((m: Extract<FromWorker, { type: "stopped" }>) => void) | undefined;
  let failed = false;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending.take();
    if (!batch) return;
    inFlight += batch.records;
    worker.postMessage({ type: "batch", batch }, [batch.numbers.buffer]);
  };

  worker.addEventListener("message", (e) => {
    const m = e.data;
    if (m.type === "taken") inFlight -= m.records;
    else if (m.type === "stats") addStats(o.metrics, m.stats);
    else if (m.type === "topic-missing") o.onTopicMissing?.();
    else if (m.type === "log") o.logger[m.level](m.msg, m.fields);
    else if (m.type === "stopped") stopped?.(m);
  });
  worker.addEventListener("error", (e) => {
    failed = true;
    o.logger.error("capture worker failed: footprints are dropped (counted) until restart", { err: e.message });
  });
  worker.postMessage({ type: "init", settings: o.settings });
  const reportTimer = setInterval(() => {
    if (droppedSinceReport === 0) return;
    o.logger.error("footprint events dropped: the capture worker is not keeping up", {
      dropped: droppedSinceReport,
      maxInFlight,
    });
    droppedSinceReport = 0;
  }, 10_000);
  reportTimer.unref?.();

  return {
    capture(captured) {
      if (failed || stopped || inFlight + pending.size >= maxInFlight) {
        o.metrics?.eventsDropped.inc({ reason: "worker_full" });
        droppedSinceReport++;
        return;
      }
      pending.add(captured);
      if (pending.size >= batchMax) flush();
      else timer ??= setTimeout(flush, flushMs);
    },
    async stop(timeoutMs = 10_000) {
      flush();
      clearInterval(reportTimer);
      const answer = new Promise<Extract<FromWorker, { type: "stopped" }> | undefined>((resolve) => {
        stopped = resolve;
        // The worker bounds its own wait by timeoutMs; this only guards against a worker that died.
        setTimeout(() => resolve(undefined), timeoutMs + 5000).unref?.();
      });
      worker.postMessage({ type: "stop", timeoutMs });
      const m = await answer;
      worker.terminate();
      if (!m) return { unsent: inFlight, spooled: 0 };
      addStats(o.metrics, m.stats);
      return { unsent: m.unsent, spooled: m.spooled };
    },
  };
}

function addStats(metrics: ProducerMetrics | undefined, s: CaptureStats): void {
  if (!metrics) return;
  if (s.produced > 0) metrics.eventsProduced.inc(s.produced);
  if (s.spooled > 0) metrics.eventsSpooled.inc(s.spooled);
  for (const [reason, n] of Object.entries(s.dropped)) {
    if (n) metrics.eventsDropped.inc({ reason: reason as keyof CaptureStats["dropped"] }, n);
  }
  metrics.eventsQueued.set(s.queued);
  metrics.spoolBytes.set(s.spoolBytes);
}
