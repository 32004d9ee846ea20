import { describe, expect, test } from "bun:test";
import type { CapturedRequest } from "./capture.ts";
import { createBatchWriter, decodeCaptured } from "./capture-codec.ts";

describe("captured-request codec", () => {
  test("a batch decodes to exactly the records encoded, whatever characters their fields hold", () => {
    const records: CapturedRequest[] = [
      {
        method: "GET",
        path: "/api/v1/items/123",
        status: 404,
        started: 1_747_629_930_123_456,
        ended: 1_747_629_930_125_956,
        route: "/api/v1/items/:id",
        host: "localhost:8080",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
        referrer: "https://example.com/a?b=1",
        ip: "203.0.113.7",
        query: "q=1:2;3,4",
        bytesOut: 24,
      },
      {
        method: "POST",
        path: "/x/12:3-/\u0000/é/😀",
        status: 201,
        started: 1,
        ended: 2,
        route: undefined,
        host: "",
        userAgent: "-",
        referrer: "5:abc",
        ip: undefined,
        query: undefined,
      },
    ];
    const writer = createBatchWriter();
    for (const r of records) writer.add(r);
    const batch = writer.take();
    expect(batch?.records).toBe(2);
    expect(decodeCaptured(batch as NonNullable<typeof batch>)).toEqual(records);
    expect(writer.take()).toBeUndefined();
    expect(() => decodeCaptured({ ...(batch as NonNullable<typeof batch>), text: "3:GETx" })).toThrow();
  });

  test("a batch longer than the writer expected grows; a shorter one carries only its records", () => {
    const record = (i: number): CapturedRequest => ({
      method: "GET",
      path: `/p/${i}`,
      status: 200 + i,
      started: 1_000 + i,
      ended: 2_000 + i,
      route: undefined,
      host: undefined,
      userAgent: undefined,
      referrer: undefined,
      ip: undefined,
      query: undefined,
      bytesOut: i,
    });
    const writer = createBatchWriter(2);
    const five = [0, 1, 2, 3, 4].map(record);
    for (const r of five) writer.add(r);
    const long = writer.take() as NonNullable<ReturnType<typeof writer.take>>;
    expect(long.numbers.length).toBe(20);
    expect(decodeCaptured(long)).toEqual(five);
    writer.add(record(7));
    const short = writer.take() as NonNullable<ReturnType<typeof writer.take>>;
    expect(short.numbers.length).toBe(4);
    expect(decodeCaptured(short)).toEqual([record(7)]);
  });
});
