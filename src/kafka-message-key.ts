/**
 * The Kafka key of a footprint message: its event_id (issue 16). Keyed, every copy of an event our
 * producers send — a resend of a batch the broker had kept, a spool line sent again after a crash,
 * an ingest client's retry — lands in the same partition (the key's murmur2 hash, as the Java client
 * and kafkajs compute it), which one consumer of a group owns at a time: the ClickHouse writer then
 * sees the copy after the first one is stored and leaves it out (src/store/clickhouse-first-arrivals.ts).
 * The key is not part of the value: the wire format stays the seed's, and consumers ignore keys.
 */

const NEEDLE = '"event_id":"';
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The event_id of a message value as JSON.stringify writes it (the producer loop, the spool, ingest),
 * lower-cased as the consumer stores it; undefined when it has none (a seed-format message). Found by
 * text, not parsed: inside a JSON string a quote is escaped, so `"event_id":"` can only be the key.
 */
export function messageKeyOf(value: string): string | undefined {
  const at = value.indexOf(NEEDLE);
  if (at < 0) return undefined;
  const start = at + NEEDLE.length;
  const id = value.slice(start, start + 36);
  return value.charCodeAt(start + 36) === 34 /* " */ && UUID.test(id) ? id.toLowerCase() : undefined;
}
