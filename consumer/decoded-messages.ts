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

/** Per partition: results held by offset, the newest offset decoded, where the sink behind is. */
type PartitionHeld = { held: Map<number, Held>; newest: number; behind: number };

/** `sinks` consumers share it; at most `max` results per partition wait for the slower ones. */
export function createDecodedMessages(sinks: number, max = 20_000): DecodedMessages {
  const partitions = new Map<number, PartitionHeld>();
  const partitionOf = (partition: number) => {
    const known = partitions.get(partition);
    if (known) return known;
    // `behind` unknown (NaN) until a sink is seen behind: until then everything is held.
    const p: PartitionHeld = { held: new Map(), newest: -1, behind: Number.NaN };
    partitions.set(partition, p);
    return p;
  };
  return {
    entryFor(message, here) {
      if (sinks < 2) return decode(message, here);
      const p = partitionOf(here.partition);
      const at = Number(here.offset);
      const h = p.held.get(at);
      // The same record (a topic deleted and created again restarts its offsets).
      if (h && h.timestamp === message.timestamp && sameValue(h.value, message.value)) {
        if (--h.takers === 0) p.held.delete(at);
        p.behind = at;
        return h.entry;
      }
      const entry = decode(message, here);
      if (at <= p.newest) {
        // Behind what was decoded already: the sink far behind, which the others need not wait for.
        p.behind = at;
        return entry;
      }
      p.newest = at;
      // Held only while the sink behind may still reach it: not when it is `max` or more back.
      if (at - p.behind > max) return entry;
      p.held.set(at, { value: message.value, timestamp: message.timestamp, entry, takers: sinks - 1 });
      if (p.held.size > max) p.held.delete(p.held.keys().next().value as number);
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
