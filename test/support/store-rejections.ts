/**
 * Footprints that pass the message validator yet one store refuses for their content (issue 16,
 * item 2), found by trying them on the real stores, not guessed:
 * - PostgreSQL: a link (or route) of a few KiB that does not compress, e.g. a long token in the
 *   path. Every rollup's primary key holds coalesce(route, link), and PostgreSQL answers 54000
 *   "index row requires 8224 bytes, maximum size is 8191" (or "index row size … exceeds btree
 *   version 4 maximum 2704"). ClickHouse stores it.
 * - ClickHouse: no single valid footprint is refused by the shipped schema (DateTime64(6) holds the
 *   validator's 1970–2200, the integer columns its ranges; NUL and lone surrogates are refused by
 *   the validator for both stores). A CHECK constraint an operator adds is refused there alone
 *   (469 VIOLATED_CONSTRAINT), and a batch over more than 100 months is refused whole (252 "Too
 *   many partitions for single INSERT block"), though each of its rows goes in alone.
 */
import { randomBytes } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client-web";

/** A valid link PostgreSQL refuses (54000): 8,192 characters that compress badly. */
export function linkPostgresRejects(tag: string): string {
  const head = `/pg-rejects/${tag}/`;
  return (
    head +
    randomBytes(8192)
      .toString("base64url")
      .slice(0, 8192 - head.length)
  );
}

/** Links under this path are refused by ClickHouse once `addClickhouseRejection` ran. */
export const CLICKHOUSE_REJECTED_PREFIX = "/ch-rejects/";

/** A CHECK constraint on user_footprint that refuses links under CLICKHOUSE_REJECTED_PREFIX. */
export async function addClickhouseRejection(client: Pick<ClickHouseClient, "command">): Promise<void> {
  await client.command({
    query: `ALTER TABLE user_footprint ADD CONSTRAINT IF NOT EXISTS eft_test_rejects
            CHECK NOT startsWith(link, '${CLICKHOUSE_REJECTED_PREFIX}')`,
  });
}

/** footprint_time of month `i` after January 2000 (ClickHouse partitions by month). */
export function monthTime(i: number): string {
  const year = 2000 + Math.floor(i / 12);
  return `${year}-${String((i % 12) + 1).padStart(2, "0")}-15T12:00:00Z`;
}
