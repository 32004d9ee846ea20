import type { FootprintRow } from "./store.ts";

/**
 * The columns of user_footprint an insert writes, in the order encodeRowBinary writes them; the
 * others (id, execute_time) take their defaults. Types as in sql/clickhouse (0001, 0002):
 * RowBinary carries no names or types, so this list and the encoder below are one fact.
 */
export const ROW_BINARY_COLUMNS =
  "event_id, request, link, route, status, duration_ms, footprint_time, query, host, user_agent, referrer, ip_hash, is_bot, bytes_out";

const TWO_32 = 2 ** 32;

/** Hex digit → value; 255 for anything else. */
const HEX = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}
/** Where each of a UUID's 16 bytes starts in its text (8-4-4-4-12). */
const UUID_HEX_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * The rows as ClickHouse RowBinary, the columns of ROW_BINARY_COLUMNS in order: String as a varint
 * byte length and its UTF-8 bytes, Nullable(T) as a byte (1 = NULL) then T when not NULL, UUID as
 * its two 64-bit halves each little-endian, DateTime64(6) as Int64 microseconds, numbers
 * little-endian. A value the column cannot hold throws (RangeError), naming the row (1-based)
 * like ClickHouse's "at row N", before anything is sent.
 */
export function encodeRowBinary(rows: readonly FootprintRow[]): Uint8Array {
  const w = new Writer(rows.length * 128);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as FootprintRow;
    try {
      writeRow(w, r);
    } catch (err) {
      throw new RangeError(`${(err as Error).message} at row ${i + 1}`);
    }
  }
  return w.bytes();
}

function writeRow(w: Writer, r: FootprintRow): void {
  w.uuid(r.eventId);
  w.string(r.method);
  w.string(r.link);
  w.nullableString(r.route);
  if (w.isNull(r.status)) w.uint16(r.status as number);
  if (w.isNull(r.durationMs)) w.float64(r.durationMs as number);
  w.int64(r.footprintTime, "footprint_time");
  w.nullableString(r.query);
  w.nullableString(r.host);
  w.nullableString(r.userAgent);
  w.nullableString(r.referrer);
  w.nullableString(r.ipHash);
  if (w.isNull(r.isBot)) w.byte(r.isBot ? 1 : 0);
  if (w.isNull(r.bytesOut)) w.uint64(r.bytesOut as number);
}

/** A growing byte buffer written front to back. */
class Writer {
  private buf: Buffer;
  private at = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 1024));
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  byte(v: number): void {
    this.room(1);
    this.buf[this.at++] = v;
  }

  /** Nullable's marker: true (0 written) when a value follows, false (1 written) for NULL. */
  isNull(v: unknown): boolean {
    this.byte(v === null ? 1 : 0);
    return v !== null;
  }

  uint16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`${v} is not a UInt16`);
    this.room(2);
    this.at = this.buf.writeUInt16LE(v, this.at);
  }

  float64(v: number): void {
    this.room(8);
    this.at = this.buf.writeDoubleLE(v, this.at);
  }

  uint64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${v} is not a UInt64 held exactly`);
    this.int64(v, "a UInt64");
  }

  /** A safe integer as Int64, little-endian (two's complement for negative values). */
  int64(v: number, what: string): void {
    if (!Number.isSafeInteger(v)) throw new Error(`${what} ${v} is not a whole number held exactly`);
    const high = Math.floor(v / TWO_32);
    this.room(8);
    this.buf.writeUInt32LE(v - high * TWO_32, this.at);
    this.buf.writeInt32LE(high, this.at + 4);
    this.at += 8;
  }

  /** A UUID's text as ClickHouse's RowBinary has it: bytes 0–7 reversed, then bytes 8–15 reversed. */
  uuid(text: string): void {
    if (text.length !== 36) throw new Error(`event_id ${JSON.stringify(text)} is not a UUID`);
    this.room(16);
    for (let i = 0; i < 16; i++) {
      const at = UUID_HEX_AT[i] as number;
      const hi = HEX[text.charCodeAt(at) & 0xff] as number;
      const lo = HEX[text.charCodeAt(at + 1) & 0xff] as number;
      if (hi > 15 || lo > 15 || text.charCodeAt(at) > 0xff || text.charCodeAt(at + 1) > 0xff) {
        throw new Error(`event_id ${JSON.stringify(text)} is not a UUID`);
      }
      this.buf[this.at + (i < 8 ? 7 - i : 23 - i)] = (hi << 4) | lo;
    }
    this.at += 16;
  }

  nullableString(v: string | null): void {
    if (this.isNull(v)) this.string(v as string);
  }

  /**
   * Its UTF-8 bytes after their count as a varint. The count's room is guessed from the text's
   * length (a lower bound of its bytes) and the bytes moved on in the rare case they need more.
   */
  string(v: string): void {
    this.room(10 + v.length * 3);
    const guess = varintSize(v.length);
    const written = this.buf.write(v, this.at + guess, "utf8");
    const size = varintSize(written);
    if (size !== guess) this.buf.copyWithin(this.at + size, this.at + guess, this.at + guess + written);
    let n = written;
    while (n >= 0x80) {
      this.buf[this.at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.at++] = n;
    this.at += written;
  }
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  return size;
}
