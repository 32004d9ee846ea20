import { expect, test } from "bun:test";
import { addressOfUrl, explainUnreachable } from "./unreachable.ts";

const kafka = { service: "Kafka", address: "10.0.0.5:9092", setting: "KAFKA_BROKERS" };

/** kafkajs wraps the socket's error: KafkaJSNumberOfRetriesExceeded → KafkaJSConnectionError → cause. */
function kafkajsError(message: string, cause?: Error): Error {
  const inner = Object.assign(new Error(message), { name: "KafkaJSConnectionClosedError", code: undefined });
  return Object.assign(new Error(message), { name: "KafkaJSNumberOfRetriesExceeded", originalError: inner, cause });
}

test("each way of not reaching a service is named, with what to check, whichever client words it", () => {
  const cases: [unknown, string][] = [
    [
      Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:9092"), { code: "ECONNREFUSED" }),
      "connection refused: is Kafka running there, and is KAFKA_BROKERS right?",
    ],
    [new Error("getaddrinfo ENOTFOUND kafka.internal"), "the host name does not resolve: check KAFKA_BROKERS"],
    [
      new Error("connect EHOSTUNREACH 10.0.0.5:9092"),
      "no route to the host: is the host up and reachable from here? check KAFKA_BROKERS",
    ],
    [
      new Error("no answer within 10 s"),
      "no answer within 10 s: a firewall, a wrong port, or an overloaded Kafka? check KAFKA_BROKERS",
    ],
    [new Error("write CONNECT_TIMEOUT 10.0.0.5:9092"), "no answer in time: a firewall"],
    [
      kafkajsError("Closed connection"),
      "the connection was closed before an answer: is that Kafka's port, and may this host connect to it? check KAFKA_BROKERS",
    ],
    [kafkajsError("Connection error: x", new Error("read ECONNRESET")), "the connection was closed before an answer"],
  ];
  for (const [err, why] of cases) {
    expect(explainUnreachable(kafka, err)).toStartWith(`cannot reach Kafka at 10.0.0.5:9092: ${why}`);
  }
});

test("an error without a word still says where; an error about something else is left to the caller", () => {
  expect(explainUnreachable(kafka, new Error(""))).toBe(
    "Kafka at 10.0.0.5:9092 failed without saying why: is that Kafka's port? check KAFKA_BROKERS",
  );
  expect(explainUnreachable(kafka, new Error('password authentication failed for user "eft"'))).toBeUndefined();
});

test("an address is host:port, with the scheme's port when none is written, never the password", () => {
  expect(addressOfUrl("postgres://eft:secret@db.internal/eft", { postgres: 5432 })).toBe("db.internal:5432");
  expect(addressOfUrl("http://127.0.0.1:8123", { http: 8123 })).toBe("127.0.0.1:8123");
  expect(addressOfUrl("https://ch.example", { http: 8123, https: 8443 })).toBe("ch.example:8443");
  expect(addressOfUrl("not a url")).toBe("(an address that is not a URL)");
});
