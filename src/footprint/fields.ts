/**
 * What the middleware needs of the wire format to build a footprint, without its zod schema
 * (message.ts), which the capture path does not load.
 */

/** The zone footprint_time is written in unless configured otherwise: the old system's Korea time. */
export const DEFAULT_FOOTPRINT_TZ = "Asia/Seoul";

/**
 * Longest value of each text field, in UTF-16 code units (what `string.length` and zod count).
 * The middleware cuts longer values to these, so they are shortened, not dead-lettered.
 */
export const FIELD_MAX_LENGTH = {
  link: 8192,
  route: 8192,
  query: 8192,
  host: 255,
  user_agent: 2048,
  referrer: 8192,
} as const;
