import { expect, test } from "bun:test";
import { rollupKey, statusClass } from "./rollup-key.ts";

test("statusClass: the hundreds of 200-599, 0 for unknown and anything outside", () => {
  expect([200, 299, 301, 404, 599].map(statusClass)).toEqual([2, 2, 3, 4, 5]);
  expect([null, 0, 101, 199, 600, 999].map(statusClass)).toEqual([0, 0, 0, 0, 0, 0]);
});

test("rollupKey: the route pattern when known, else the path; an unknown bot flag is not a bot", () => {
  expect(rollupKey({ method: "GET", route: "/items/:id", link: "/items/1", status: 200, isBot: null })).toEqual({
    method: "GET",
    endpoint: "/items/:id",
    statusClass: 2,
    isBot: false,
  });
  expect(rollupKey({ method: "POST", route: null, link: "/x", status: null, isBot: true })).toEqual({
    method: "POST",
    endpoint: "/x",
    statusClass: 0,
    isBot: true,
  });
});
