/**
 * The footprint middleware as a library: `import { footprint } from "eft-footprint"` in any Hono
 * app. Only this folder (and src/time.ts, src/retry.ts) is reachable from here; nothing of the
 * service (config, stores, consumer) is, and no `node:` module or `Bun` API (portable.test.ts):
 * the same code runs on Bun, Deno, Node and Cloudflare Workers.
 */

export { headerIp, socketIp } from "./client-ip.ts";
export { createErrorReporter, type ErrorReporter, type ErrorReporterOptions } from "./error-reporter.ts";
export {
  type HttpRecorder,
  type HttpRecorderDeps,
  type HttpRecorderOptions,
  httpRecorder,
} from "./http-recorder.ts";
export { createIpHasher, type IpHasher, type IpHasherOptions } from "./ip-hash.ts";
export { type KafkaRecorder, type KafkaRecorderOptions, kafkaRecorder } from "./kafka-recorder.ts";
export type { FootprintEvent } from "./message.ts";
export { countBytes, type FootprintOptions, footprint, matchedRoute } from "./middleware.ts";
export { createEventQueue, type EventQueue } from "./queue.ts";
export { inferRoutePattern } from "./route-pattern.ts";
export { createUuidV7, uuidv7 } from "./uuid7.ts";
