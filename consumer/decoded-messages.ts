import type { KafkaMessage } from "kafkajs";
import { type MessageOrigin, parseFootprintMessage } from "../src/footprint/parse-message.ts";
import type { FootprintRow } from "../src/store/store.ts";
import { type DeadLetter, originOf } from "./dead-letter.ts";

/** What a fetched message becomes in its batch: a row, or a dead letter saying why not. */
export type BatchEntry = { row: FootprintRow } | { deadLetter: DeadLetter };

/**
 * Decodes each message once per process, although every sink's group fetches it: the first sink
 * to reach a message decodes it and leaves the result for the others, which take it. Parsing is
 * deterministic, so a result that was evicted (a sink far behind) is simply decoded again.
 */
export type DecodedMessages = {
  entryFor(message: KafkaMessage, here: MessageOrigin): BatchEntry;
};

type Held = { value: Buffer | null; timestamp: string; entry: BatchEntry; takers: number };

/** `sinks` consumers share it; at most `max` results wait for the slower ones. */
export function createDecodedMessages(sinks: number, max = 50_000): DecodedMessages {
  const held = new Map<string, Held>();
  /** Per partition, the newest offset decoded. */
  const newest = new Map<number, number>();
  return {
    entryFor(message, here) {
      if (sinks < 2) return decode(message, here);
      const key = `${here.partition}/${here.offset}`;
      const h = held.get(key);
      // The same record (a topic deleted and created again restarts its offsets).
      if (h && h.timestamp === message.timestamp && sameValue(h.value, message.value)) {
        if (--h.takers === 0) held.delete(key);
        return h.entry;
      }
      const entry = decode(message, here);
      const at = Number(here.offset);
      // Behind what was decoded already: a sink far behind the others, which need it no more.
      if (at <= (newest.get(here.partition) ?? -1)) return entry;
      newest.set(here.partition, at);
      held.set(key, { value: message.value, timestamp: message.timestamp, entry, takers: sinks - 1 });
      if (held.size > max) held.delete(held.keys().next().value as string);
      return entry;
    },
  };
}

const sameValue = (a: Buffer | null, b: Buffer | null) => (a === null || b === null ? a === b : a.equals(b));

export function decode(message: KafkaMessage, here: MessageOrigin): BatchEntry {
  const parsed = parseFootprintMessage(message.value, originOf(message, here));
  if (parsed.ok) return { row: parsed.row };
  const deadLetter: DeadLetter = {
    origin: here,
    code: parsed.code,
    message: parsed.message,
    value: message.value,
    headers: message.headers ?? {},
    timestamp: message.timestamp,
  };
  return { deadLetter };
}
