import { expect, test } from "bun:test";
import { compatibilityPartitioner } from "@platformatic/kafka";
import { keyPartition, murmur2 } from "./kafka-partition.ts";
import { seededRandom } from "./seeded-random.ts";

// kafkajs's default partitioner's hash (a port of the Java client's Utils.murmur2, on Long).
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;

/** Keys of every length up to 80 (each remainder mod 4 many times), bytes of every value. */
function keys(count: number): Buffer[] {
  const random = seededRandom(7);
  return Array.from({ length: count }, (_, i) => {
    const bytes = Buffer.alloc(i % 81);
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    return bytes;
  });
}

test("murmur2 gives the Java client's and kafkajs's hash for every key length and byte value", () => {
  for (const key of keys(5_000)) {
    expect({ key: key.toString("hex"), hash: murmur2(key) }).toEqual({
      key: key.toString("hex"),
      hash: kafkajsMurmur2(key),
    });
  }
});

test("keyPartition is @platformatic/kafka's compatibility partitioner, and so the Java client's", () => {
  const uuids = Array.from({ length: 2_000 }, () => Buffer.from(crypto.randomUUID()));
  for (const key of [...keys(5_000), ...uuids]) {
    expect({ key: key.toString("hex"), partition: keyPartition(key) }).toEqual({
      key: key.toString("hex"),
      partition: compatibilityPartitioner({} as never, key),
    });
  }
});

test("murmur2 gives the values of the Java client's own test (UtilsTest.testMurmur2)", () => {
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  expect(cases.map(([key]) => murmur2(Buffer.from(key)))).toEqual(cases.map(([, hash]) => hash));
});
