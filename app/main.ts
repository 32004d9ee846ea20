import { exitStatusOf, runCli } from "./cli.ts";

// kafkajs 2.2.4 schedules a negative timeout on every connection (kafkajs #1751): harmless, but
// the runtime prints a TimeoutNegativeWarning for it on stderr. Other warnings still show.
process.removeAllListeners("warning");
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

runCli(Bun.argv.slice(2), { env: process.env }).then(
  (code) => {
    // -1: the command keeps running until a signal (see app/shutdown.ts).
    if (code >= 0) process.exit(code);
  },
  (err) => process.exit(exitStatusOf(err)),
);
