import { describe, expect, test } from "bun:test";
import type { KafkaMessage } from "kafkajs";
import { createDecodedMessages } from "./decoded-messages.ts";

const here = { topic: "t", partition: 0, offset: "7" };
const message = (value: string, timestamp = "1700000000000"): KafkaMessage =>
  ({ value: Buffer.from(value), timestamp, offset: here.offset, headers: {}, attributes: 0 }) as KafkaMessage;
const seed = JSON.stringify({ method: "GET", link: "/a", footprint_time: "2025-05-19T13:45:30.123456+09:00" });

describe("decoded messages, shared by the sinks of a process", () => {
  test("the second sink takes the first one's result; after every sink took it, it is decoded anew", () => {
    const decoded = createDecodedMessages(2);
    const first = decoded.entryFor(message(seed), here);
    expect(decoded.entryFor(message(seed), here)).toBe(first);
    const again = decoded.entryFor(message(seed), here);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  test("another record at the same offset (a topic made anew) is decoded, not taken", () => {
    const decoded = createDecodedMessages(2);
    const first = decoded.entryFor(message(seed), here);
    const other = decoded.entryFor(message(seed.replace("/a", "/b")), here);
    expect("row" in other && other.row.link).toBe("/b");
    const later = decoded.entryFor(message(seed, "1800000000000"), here);
    expect(later).not.toBe(first);
  });

  test("dead letters are shared the same way, and at most `max` results are held", () => {
    const decoded = createDecodedMessages(2, 2);
    const bad = decoded.entryFor(message("{"), here);
    expect("deadLetter" in bad && bad.deadLetter.code).toBe("MESSAGE_NOT_JSON");
    for (const offset of ["8", "9"]) decoded.entryFor(message(seed), { ...here, offset });
    // Offset 7 was the oldest of three: evicted, so decoded again.
    expect(decoded.entryFor(message("{"), here)).not.toBe(bad);
  });

  test("a sink behind the newest decoded offset holds nothing back: the others are past it", () => {
    const decoded = createDecodedMessages(2);
    decoded.entryFor(message(seed), { ...here, offset: "10" });
    const behind = decoded.entryFor(message(seed), here);
    expect(decoded.entryFor(message(seed), here)).not.toBe(behind);
  });

  test("the sink ahead holds nothing more once the other is `max` messages behind", () => {
    const decoded = createDecodedMessages(2, 3);
    const at = (offset: number) => ({ ...here, offset: String(offset) });
    for (let offset = 0; offset < 10; offset++) decoded.entryFor(message(seed), at(offset));
    decoded.entryFor(message(seed), at(0)); // the sink behind, at 0: evicted long ago
    const ahead = decoded.entryFor(message(seed), at(10));
    expect(decoded.entryFor(message(seed), at(10))).not.toBe(ahead);
    // Once it is close again, results are held for it.
    decoded.entryFor(message(seed), at(9));
    const close = decoded.entryFor(message(seed), at(11));
    expect(decoded.entryFor(message(seed), at(11))).toBe(close);
  });

  test("a single sink decodes every message itself", () => {
    const decoded = createDecodedMessages(1);
    expect(decoded.entryFor(message(seed), here)).not.toBe(decoded.entryFor(message(seed), here));
  });
});
