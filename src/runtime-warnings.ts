/**
 * kafkajs 2.2.4 schedules a negative timeout on every connection (kafkajs #1751): harmless, but the
 * runtime prints a TimeoutNegativeWarning for it on stderr. Other warnings still show. Each thread
 * that runs kafkajs (the main thread, and the capture and consumer Workers of `serve`) calls this:
 * a Worker has its own `process` listeners.
 */
export function quietKafkajsTimeoutWarning(): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name !== "TimeoutNegativeWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
}
