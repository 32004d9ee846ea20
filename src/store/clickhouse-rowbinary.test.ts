import { describe, expect, test } from "bun:test";
import { userFootprintColumns, variedRows } from "../../test/fixtures/store-rows.ts";
import { encodeRowBinary, ROW_BINARY_COLUMNS } from "./clickhouse-rowbinary.ts";
import { type FootprintRow, NO_RICH_FIELDS } from "./store.ts";

/**
 * RowBinary read back as ClickHouse documents it (formats/RowBinary), written apart from the
 * encoder: String = varint length + UTF-8, Nullable = a byte (1 = NULL) then the value, UUID = two
 * UInt64 little-endian (high half first), DateTime64(6) = Int64 µs, numbers little-endian.
 */
function decode(bytes: Uint8Array): Record<string, unknown>[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let at = 0;
  const varint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++] as number;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  const string = () => {
    const n = varint();
    at += n;
    return utf8.decode(bytes.subarray(at - n, at));
  };
  const nullable = <T>(read: () => T) => (bytes[at++] === 1 ? null : read());
  /** `size` bytes on, the value read where they start. */
  const fixed = <T>(size: number, read: (offset: number) => T) => {
    at += size;
    return read(at - size);
  };
  const int64 = () => fixed(8, (o) => Number(view.getBigInt64(o, true)));
  const uuid = () => {
    const hex = (half: number) => view.getBigUint64(half, true).toString(16).padStart(16, "0");
    at += 16;
    const h = hex(at - 16) + hex(at - 8);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  const rows = [];
  while (at < bytes.length) {
    const row: Record<string, unknown> = {};
    row.event_id = uuid();
    row.request = string();
    row.link = string();
    row.route = nullable(string);
    row.status = nullable(() => fixed(2, (o) => view.getUint16(o, true)));
    row.duration_ms = nullable(() => fixed(8, (o) => view.getFloat64(o, true)));
    row.micros = int64();
    row.query = nullable(string);
    row.host = nullable(string);
    row.user_agent = nullable(string);
    row.referrer = nullable(string);
    row.ip_hash = nullable(string);
    row.is_bot = nullable(() => bytes[at++] === 1);
    row.bytes_out = nullable(int64);
    rows.push(row);
  }
  return rows;
}

const seedRow: FootprintRow = {
  ...NO_RICH_FIELDS,
  eventId: "0190b2f8-0001-7002-8003-0405060708ff",
  method: "GET",
  link: "/é",
  footprintTime: 1_747_629_930_123_456,
};

describe("encodeRowBinary (the ClickHouse insert body)", () => {
  test("names every column a row fills (their order is the decoder's above, and the real table's in clickhouse.ch.test.ts)", () => {
    expect(ROW_BINARY_COLUMNS.split(", ").sort()).toEqual(
      [...Object.keys(userFootprintColumns(seedRow)), "footprint_time"].sort(),
    );
  });

  test("a seed-format row, byte by byte", () => {
    const micros = Buffer.alloc(8);
    micros.writeBigInt64LE(1_747_629_930_123_456n);
    expect(Buffer.from(encodeRowBinary([seedRow])).toString("hex")).toBe(
      "02700100f8b29001ff08070605040380" + // UUID: each 8-byte half reversed
        "03474554" + // "GET"
        "032fc3a9" + // "/é": 3 bytes, not 2 characters
        "0101" + // route, status NULL
        "01" + // duration_ms NULL
        micros.toString("hex") +
        "010101010101" + // query … is_bot NULL
        "01", // bytes_out NULL
    );
  });

  test("every value reads back exactly, whatever the text holds, around the numbers' and times' edges", () => {
    const rows = variedRows();
    expect(decode(encodeRowBinary(rows))).toEqual(
      rows.map((r) => ({ ...userFootprintColumns(r), micros: r.footprintTime })),
    );
  });

  test("a text whose UTF-8 needs a longer length than its characters do (127 characters, 254 bytes)", () => {
    const rows = [{ ...seedRow, link: "é".repeat(127) }, { ...seedRow, link: "a".repeat(70_000) }, seedRow];
    expect(decode(encodeRowBinary(rows)).map((r) => r.link)).toEqual(rows.map((r) => r.link));
  });

  test("a value its column cannot hold throws before sending, naming the row as ClickHouse would", () => {
    const bad: [Partial<FootprintRow>, RegExp][] = [
      [{ eventId: "nope" }, /event_id "nope" is not a UUID at row 2$/],
      [{ eventId: "0190b2f8-0001-7002-8003-0405060708fg" }, /is not a UUID at row 2$/],
      [{ eventId: "0190b2f8-0001-7002-8003-0405060708\u0131f" }, /is not a UUID at row 2$/],
      [{ status: 70_000 }, /70000 is not a UInt16 at row 2$/],
      [{ bytesOut: -1 }, /-1 is not a UInt64 held exactly at row 2$/],
      [{ bytesOut: 2 ** 60 }, /is not a UInt64 held exactly at row 2$/],
      [{ footprintTime: 1.5 }, /footprint_time 1.5 is not a whole number held exactly at row 2$/],
    ];
    for (const [change, message] of bad) {
      expect(() => encodeRowBinary([seedRow, { ...seedRow, ...change }])).toThrow(message);
    }
  });

  test("a batch larger than the first guess of its size grows", () => {
    const rows = Array.from({ length: 50 }, () => ({ ...seedRow, userAgent: "u".repeat(1000) }));
    expect(decode(encodeRowBinary(rows))).toHaveLength(50);
  });
});
