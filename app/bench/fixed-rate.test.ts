import { afterAll, expect, test } from "bun:test";
import { answerLength, runFixedRate } from "./fixed-rate.ts";

test("an answer is whole once its headers and Content-Length bytes are in", () => {
  const answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello";
  expect(answerLength(answer)).toBe(answer.length);
  expect(answerLength(`${answer}HTTP/1.1 200 OK\r\n`)).toBe(answer.length);
  expect(answerLength(answer.slice(0, -1))).toBe(0);
  expect(answerLength("HTTP/1.1 200 OK\r\nContent-Le")).toBe(0);
  expect(() => answerLength("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).toThrow("without Content-Length");
});

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => new Response("ok", { status: new URL(req.url).pathname === "/missing" ? 404 : 200 }),
});
afterAll(() => server.stop(true));

test("every request due is sent and answered; non-2xx answers count as failed", async () => {
  const ok = await runFixedRate(`http://127.0.0.1:${server.port}/`, { rate: 200, seconds: 0.5, connections: 4 });
  expect(ok).toMatchObject({ rate: 200, answered: 100, failed: 0 });
  expect(ok.p99).toBeGreaterThanOrEqual(ok.p50);
  const missing = await runFixedRate(`http://127.0.0.1:${server.port}/missing`, {
    rate: 100,
    seconds: 0.2,
    connections: 2,
  });
  expect(missing).toMatchObject({ answered: 20, failed: 20 });
});
