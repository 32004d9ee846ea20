import { expect, test } from "bun:test";
import { messageKeyOf } from "./kafka-message-key.ts";

const id = "0190B2F8-0000-7000-8000-00000000000A";

test("the key is the value's event_id, lower-cased as the consumer stores it", () => {
  expect(messageKeyOf(JSON.stringify({ method: "GET", link: "/", footprint_time: "x", event_id: id }))).toBe(
    id.toLowerCase(),
  );
  expect(messageKeyOf(JSON.stringify({ event_id: id, method: "GET" }))).toBe(id.toLowerCase());
});

test("a value without one, or with something else there, has no key", () => {
  expect(messageKeyOf(JSON.stringify({ method: "GET", link: "/", footprint_time: "x" }))).toBeUndefined();
  expect(messageKeyOf(JSON.stringify({ event_id: "not-a-uuid" }))).toBeUndefined();
  expect(messageKeyOf(JSON.stringify({ event_id: `${id}0` }))).toBeUndefined();
  expect(messageKeyOf("not json")).toBeUndefined();
});

test("an event_id written inside another field's text is not taken for the key", () => {
  const link = `/x"event_id":"${id}"`;
  expect(messageKeyOf(JSON.stringify({ link, method: "GET" }))).toBeUndefined();
  expect(messageKeyOf(JSON.stringify({ link, event_id: "0190b2f8-0000-7000-8000-00000000000b" }))).toBe(
    "0190b2f8-0000-7000-8000-00000000000b",
  );
});
