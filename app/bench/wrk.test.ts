import { expect, test } from "bun:test";
import { parseWrk } from "./wrk.ts";

const output = (extra = "") => `Running 5s test @ http://127.0.0.1:8080/api/v1/items/ledx
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms    2.05ms  40.12ms   95.00%
    Req/Sec    30.01k     2.00k   33.00k    80.00%
  Latency Distribution
     50%  702.00us
     75%    1.30ms
     90%    3.96ms
     99%    1.20s
  150000 requests in 5.00s, 20.00MB read
${extra}Requests/sec:  29999.50
Transfer/sec:      4.00MB
`;

test("wrk's report gives requests, requests/s and p50/p99 in ms", () => {
  expect(parseWrk(output())).toEqual({ requests: 150000, rps: 29999.5, p50: 0.702, p99: 1200, socketErrors: 0 });
  expect(parseWrk(output("  Socket errors: connect 0, read 2, write 0, timeout 3\n")).socketErrors).toBe(5);
});

test("a run with failed answers is an error, not a figure", () => {
  expect(() => parseWrk(output("  Non-2xx or 3xx responses: 12\n"))).toThrow("12 failed responses");
  expect(() => parseWrk("wrk: something else")).toThrow("unexpected wrk output");
});
