import { formatDeadLetter, listDeadLetters, replayDeadLetters } from "../../consumer/dead-letter-tools.ts";
import type { Config } from "../../src/config.ts";
import { readConfig } from "../../src/config-file.ts";
import { AppError } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/log.ts";
import { connectKafkaAdmin } from "../kafka-at-terminal.ts";
import { defineCommand } from "./command.ts";

export const dlqCommand = defineCommand({
  name: "dlq",
  summary: "list the dead-letter topic (<TOPIC>.dlq), or replay its messages after a fix",
  help: `Usage: eft-footprint dlq list [--limit <n>] [--json] | dlq replay [--dry-run] [--env-file <path>]

Messages the consumer could not store (not JSON, not UTF-8, empty, too large, invalid fields) are
never retried: they go to the topic <TOPIC>.dlq with headers eft-error-code, eft-error-message,
eft-source-topic, eft-source-partition, eft-source-offset, eft-source-timestamp and
eft-dead-lettered-at.

  list      one line per dead letter: dlq partition:offset, when, error code, source
            topic/partition/offset, reason, start of the value; a summary per code on stderr.
            A letter written twice (a crash before its commit) is shown once.
  --limit   only the last <n>
  --json    one JSON object per line instead (the value in base64)
  replay    send every dead letter not replayed before back to its source topic, unchanged, with
            header eft-origin (its first position: a message without event_id keeps the event id
            it would have had). Progress is kept as consumer group <GROUP_ID>-dlq-replay, so each
            is sent once; one still invalid comes back to the dead-letter topic.
  --dry-run count what replay would send, send nothing
`,
  options: { limit: { type: "string" }, json: { type: "boolean" }, "dry-run": { type: "boolean" } },
  // Its action, list or replay, is checked once the settings are read.
  words: 1,
  async run({ values, words, env, envFile }) {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new AppError("USAGE", `--limit must be a whole number above 0, not ${values.limit}`);
    }
    const config = readConfig(env, envFile);
    const flags = { action: words[0], limit, json: Boolean(values.json), dryRun: Boolean(values["dry-run"]) };
    // stdout is the list: logs go to stderr, and not to LOG_DIR (that is the service's log).
    return runDlq(
      config,
      createLogger({ level: config.log.level, write: (line) => process.stderr.write(line) }),
      flags,
    );
  },
});

export type DlqFlags = { action: string | undefined; limit: number | undefined; json: boolean; dryRun: boolean };

/** `eft-footprint dlq list|replay`: inspect the dead-letter topic, or send its letters back. */
export async function runDlq(config: Config, logger: Logger, flags: DlqFlags): Promise<number> {
  if (flags.action !== "list" && flags.action !== "replay") {
    throw new AppError("USAGE", "dlq needs an action: dlq list | dlq replay");
  }
  const { kafka, admin, explain } = await connectKafkaAdmin(config, logger, "dlq");
  try {
    const options = { topic: config.kafka.topic, groupId: config.kafka.groupId };
    if (flags.action === "list") {
      const { letters, duplicates } = await listDeadLetters(kafka, admin, options);
      const shown = flags.limit === undefined ? letters : letters.slice(-flags.limit);
      for (const l of shown) {
        console.log(
          flags.json
            ? JSON.stringify({
                dlq: `${l.dlqPartition}:${l.dlqOffset}`,
                deadLetteredAt: l.deadLetteredAt,
                code: l.code,
                ...(l.rejectedBy ? { rejectedBy: l.rejectedBy, storeCode: l.storeCode } : {}),
                origin: l.origin,
                message: l.message,
                value: l.value?.toString("base64") ?? null,
              })
            : formatDeadLetter(l),
        );
      }
      const byCode = new Map<string, number>();
      for (const l of letters) {
        const code = l.rejectedBy ? `${l.code} by ${l.rejectedBy}` : (l.code ?? "-");
        byCode.set(code, (byCode.get(code) ?? 0) + 1);
      }
      console.error(
        `${letters.length} dead letter(s) in ${config.kafka.topic}.dlq` +
          (byCode.size ? ` (${[...byCode].map(([c, n]) => `${c} ${n}`).join(", ")})` : "") +
          (duplicates ? `; ${duplicates} duplicate(s) of the same source message not shown` : ""),
      );
      return 0;
    }
    const { replayed } = await replayDeadLetters(kafka, admin, { ...options, dryRun: flags.dryRun });
    console.error(
      flags.dryRun
        ? `${replayed.length} dead letter(s) would be replayed to ${config.kafka.topic}`
        : `${replayed.length} dead letter(s) replayed to ${config.kafka.topic}`,
    );
    return 0;
  } catch (err) {
    // Kafka went away (or never answered) after the connection: still one line, no trace.
    throw explain(err) ?? err;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
