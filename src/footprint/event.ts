/**
 * One recorded request as it travels through Kafka. The first three fields are the Python
 * system's wire format and keep their meaning; the rest are ours and optional on the wire.
 */
export type FootprintEvent = {
  method: string;
  /** URL path only, no query string. */
  link: string;
  /** ISO-8601 local time in the configured zone, microseconds, numeric offset. */
  footprint_time: string;
  /** UUIDv7, so ids sort by time and make every sink idempotent. */
  event_id: string;
  /** The matched route pattern (`/items/:id`), absent when no route matched. */
  route?: string;
  status: number;
  duration_ms: number;
  /** Query string without `?`; only when recording it is enabled (it may hold personal data). */
  query?: string;
  host?: string;
  user_agent?: string;
  referrer?: string;
  /** SHA-256 hex of client IP + user agent + a daily salt; never the raw IP. */
  ip_hash?: string;
  is_bot?: boolean;
  bytes_out?: number;
};
