import { formatDeadLetter, listDeadLetters, replayDeadLetters } from "../../consumer/dead-letter-tools.ts";
import type { Config } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { createKafka } from "../../src/kafka.ts";
import type { Logger } from "../../src/log.ts";

export type DlqFlags = { action: string | undefined; limit: number | undefined; json: boolean; dryRun: boolean };

/** `eft-footprint dlq list|replay`: inspect the dead-letter topic, or send its letters back. */
export async function runDlq(config: Config, logger: Logger, flags: DlqFlags): Promise<number> {
  if (flags.action !== "list" && flags.action !== "replay") {
    throw new AppError("USAGE", "dlq needs an action: dlq list | dlq replay");
  }
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-dlq`, logger });
  const admin = kafka.admin();
  await admin.connect();
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
                origin: l.origin,
                message: l.message,
                value: l.value?.toString("base64") ?? null,
              })
            : formatDeadLetter(l),
        );
      }
      const byCode = new Map<string, number>();
      for (const l of letters) byCode.set(l.code ?? "-", (byCode.get(l.code ?? "-") ?? 0) + 1);
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
  } finally {
    await admin.disconnect();
  }
}
