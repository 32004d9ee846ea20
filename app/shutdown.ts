import type { Logger } from "../src/log.ts";

/**
 * Runs `shutdown` once on SIGTERM or SIGINT; a second signal exits at once, and so does a shutdown
 * still running after `timeoutMs` (exit status 1; what was not committed is consumed again).
 */
export function onShutdownSignal(
  shutdown: (signal: string) => Promise<void>,
  logger: Logger,
  timeoutMs?: number,
): void {
  let started = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (started) {
        logger.warn("second signal: exiting without finishing shutdown", { signal });
        process.exit(1);
      }
      started = true;
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          logger.error("shutdown took too long: exiting", { timeoutMs });
          process.exit(1);
        }, timeoutMs).unref?.();
      }
      shutdown(signal).then(
        () => process.exit(0),
        (err) => {
          logger.error("shutdown failed", { err });
          process.exit(1);
        },
      );
    });
  }
}
