import type { LogLevel } from "../log.ts";
import type { CapturedBatch } from "./capture-codec.ts";
import type { DropReason } from "./producer.ts";

/** What the capture worker needs to build events and deliver them; plain data, posted once. */
export type CaptureWorkerSettings = {
  kafka: { brokers: readonly string[]; clientId: string; topic: string; topicPartitions: number };
  producer: { queueMax: number; spoolDir: string; spoolMaxBytes: number; batchMax?: number; lingerMs?: number };
  timeZone: string;
  /** IP_HASH_SECRET; without it the worker makes a random one that never leaves it. */
  ipHashSecret?: string | undefined;
  /** Undefined leaves `ip_hash` out. */
  ipHash: boolean;
  /** Guess route patterns from paths (reverse-proxy mode). */
  inferRoutes: boolean;
  logLevel: LogLevel;
  /** How often counters are sent to the main thread. */
  statsMs?: number;
};

/** Counter increments since the last stats message, and the gauges' current values. */
export type CaptureStats = {
  produced: number;
  spooled: number;
  dropped: Partial<Record<DropReason, number>>;
  queued: number;
  spoolBytes: number;
};

export type ToWorker =
  | { type: "init"; settings: CaptureWorkerSettings }
  | { type: "batch"; batch: CapturedBatch }
  | { type: "stop"; timeoutMs: number };

export type FromWorker =
  /** The worker took `records` more (queued, spooled or counted as dropped). */
  | { type: "taken"; records: number }
  | { type: "stats"; stats: CaptureStats }
  /** A sent batch failed because the topic is missing: the main thread's topic watch says so, once. */
  | { type: "topic-missing" }
  | { type: "log"; level: LogLevel; msg: string; fields: Record<string, unknown> }
  | { type: "stopped"; unsent: number; spooled: number; stats: CaptureStats };
