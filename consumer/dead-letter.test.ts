import { describe, expect, test } from "bun:test";
import { chunkRecords, type DeadLetter, DLQ_HEADERS, deadLetterKey, toDeadLetterRecord } from "./dead-letter.ts";

const letter = (offset: number, bytes: number, rejectedBy?: "postgres" | "clickhouse"): DeadLetter => ({
  origin: { topic: "t", partition: 0, offset: String(offset) },
  code: rejectedBy ? "MESSAGE_REJECTED_BY_STORE" : "MESSAGE_TOO_LARGE",
  message: "why",
  value: Buffer.alloc(bytes, 0x61),
  headers: {},
  timestamp: "0",
  ...(rejectedBy ? { rejectedBy, storeCode: "54000" } : {}),
});

describe("dead-letter records", () => {
  test("keyed by source position, and by the store that refused it when one did", () => {
    expect(deadLetterKey(letter(5, 1))).toBe("t/0/5");
    expect(deadLetterKey(letter(5, 1, "postgres"))).toBe("t/0/5@postgres");
    const record = toDeadLetterRecord(letter(5, 1, "postgres"));
    expect(record.key).toBe("t/0/5@postgres");
    expect(record.headers[DLQ_HEADERS.rejectedBy]).toBe("postgres");
    expect(record.headers[DLQ_HEADERS.storeCode]).toBe("54000");
    expect(toDeadLetterRecord(letter(5, 1)).headers[DLQ_HEADERS.rejectedBy]).toBeUndefined();
  });

  test("sent in produce requests under the broker's 1 MiB limit, in order; a huge one alone", () => {
    const records = [
      ...Array.from({ length: 30 }, (_, i) => letter(i, 60_000)),
      letter(30, 900_000),
      letter(31, 10),
    ].map((l) => toDeadLetterRecord(l));
    const chunks = chunkRecords(records);
    expect(chunks.flat()).toEqual(records);
    const sizes = chunks.map((c) => c.reduce((n, r) => n + (r.value?.length ?? 0), 0));
    expect(sizes).toEqual([480_000, 480_000, 480_000, 360_000, 900_000, 10]);
  });
});
