import { ClickHouseError } from "@clickhouse/client-web";
import postgres from "postgres";
import type { StoreName } from "./store.ts";

/**
 * What a failed insert says about its rows:
 * - `content`: the store refused what the rows hold (a value its types or constraints reject); the
 *   same rows fail again however often they are sent, while other rows go in. The consumer isolates
 *   the offending rows and dead-letters them.
 * - `outage`: anything else (connection refused or reset, timeouts, a 5xx without a content code,
 *   too many parts, a missing table, …): the store may take the same rows later; the consumer
 *   pauses and retries. Unknown errors land here: a retry costs time, a wrong dead letter costs
 *   a replay.
 */
export type StoreErrorClass = "content" | "outage";

/**
 * A store's verdict on a failed insert: its class, the store's own code and message, and, when the
 * store names it, the (1-based) row of the insert it refused: a hint, checked by the caller.
 */
export type StoreError = { class: StoreErrorClass; code: string; message: string; row?: number };

/**
 * PostgreSQL: SQLSTATE class 22 (data exception: a value out of range, an invalid byte sequence or
 * untranslatable character, …), 23 (integrity constraint violation: CHECK, NOT NULL, …) and
 * 54000 (program limit exceeded: "index row requires 8224 bytes, maximum size is 8191" — a link
 * of a few KiB in a rollup key; measured on PostgreSQL 17). The rest (classes 08 connection,
 * 40 serialization/deadlock, 53 resources, 57 shutdown, 42 a missing table, …) is an outage.
 */
export function classifyPostgresError(err: unknown): StoreError {
  if (err instanceof postgres.PostgresError) {
    const code = err.code;
    const content = code.startsWith("22") || code.startsWith("23") || code === "54000";
    return { class: content ? "content" : "outage", code, message: err.message };
  }
  return outage(err);
}

/**
 * ClickHouse codes that mean the data itself: a value the column type cannot hold or parse, a
 * constraint. Measured ones carry their message; the others are ClickHouse's parse and type codes.
 */
const CLICKHOUSE_CONTENT_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA: "Cannot parse input: expected …" in JSONEachRow
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  376, // CANNOT_PARSE_UUID
  407, // DECIMAL_OVERFLOW
  467, // CANNOT_PARSE_BOOL
  469, // VIOLATED_CONSTRAINT
]);

/** "… is violated at row 4. …", "(at row 1)": the row ClickHouse names, when it names one. */
const AT_ROW = /\bat row (\d{1,9})\b/;

/** TOO_MANY_PARTS (252) is both an overloaded table (outage) and a batch over too many months. */
const TOO_MANY_PARTS = 252;
const TOO_MANY_PARTITIONS = /Too many partitions for single INSERT block/;

/**
 * ClickHouse: the codes above, and "Too many partitions for single INSERT block (more than 100)"
 * — a batch whose footprints fall in over 100 months (PARTITION BY toYYYYMM): content of the
 * batch, not of a row, so splitting it gets every row in. "Too many parts … merges are processing
 * significantly slower than inserts", the same code 252, is an outage: merges catch up.
 */
export function classifyClickhouseError(err: unknown): StoreError {
  if (err instanceof ClickHouseError) {
    const code = Number(err.code);
    const content =
      CLICKHOUSE_CONTENT_CODES.has(code) || (code === TOO_MANY_PARTS && TOO_MANY_PARTITIONS.test(err.message));
    const verdict: StoreError = {
      class: content ? "content" : "outage",
      code: `${err.code} ${err.type}`,
      message: err.message,
    };
    const row = content ? AT_ROW.exec(err.message)?.[1] : undefined;
    return row === undefined ? verdict : { ...verdict, row: Number(row) };
  }
  return outage(err);
}

function outage(err: unknown): StoreError {
  const code = (err as { code?: unknown } | null)?.code;
  return {
    class: "outage",
    code: typeof code === "string" || typeof code === "number" ? String(code) : "",
    message: err instanceof Error ? err.message : String(err),
  };
}

export function classifyStoreError(store: StoreName, err: unknown): StoreError {
  return store === "postgres" ? classifyPostgresError(err) : classifyClickhouseError(err);
}
