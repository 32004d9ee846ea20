/**
 * A fixed-rate HTTP load generator (what wrk2 does and Debian's wrk cannot): requests are due at
 * start + i/rate whatever the answers do, and each latency counts from when its request was due,
 * not from when a connection was free to send it. A server that falls behind therefore shows its
 * queueing in the percentiles instead of silently lowering the rate (no coordinated omission).
 *
 * Raw keep-alive sockets and a prebuilt request: a fetch() client costs several times the server's
 * own CPU per request and could not hold tens of thousands per second from one core.
 */
import type { Socket } from "bun";
import { summarizeLatencies } from "./summary.ts";

export type FixedRateResult = {
  /** Requests per second asked for, and answered per second over the run. */
  rate: number;
  achievedRate: number;
  answered: number;
  failed: number;
  /** ms from when each request was due until its answer was read. */
  p50: number;
  p99: number;
  p999: number;
};

type Conn = { socket?: Socket<undefined>; due: number; buffer: string };

/** Bytes of a whole HTTP/1.1 answer at the head of `text` (Content-Length bodies only), or 0. */
export function answerLength(text: string): number {
  const head = text.indexOf("\r\n\r\n");
  if (head < 0) return 0;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, head));
  if (!m) throw new Error(`an answer without Content-Length: ${text.slice(0, head)}`);
  const total = head + 4 + Number(m[1]);
  return text.length >= total ? total : 0;
}

export async function runFixedRate(
  url: string,
  o: { rate: number; seconds: number; connections: number },
): Promise<FixedRateResult> {
  const target = new URL(url);
  const request = Buffer.from(
    `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUser-Agent: eft-bench\r\n\r\n`,
  );
  const total = Math.round(o.rate * o.seconds);
  const latencies = new Float64Array(total);
  let answered = 0;
  let failed = 0;
  let next = 0; // the next request to send
  let start = 0;
  const due = (i: number) => start + (i * 1000) / o.rate;
  const idle: Conn[] = [];
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => {
    finish = r;
  });

  // From the answer path a due request waited for a free connection: the server's doing, counted
  // from when it was due. From the timer it waited for our next tick (≤ 1 ms): counted from the send.
  const send = (c: Conn, fromTimer = false) => {
    const now = performance.now();
    if (next >= total || now < due(next)) {
      idle.push(c);
      return;
    }
    c.due = fromTimer ? now : due(next);
    next++;
    c.socket?.write(request);
  };
  const onData = (c: Conn, data: Buffer) => {
    c.buffer += data.toString("latin1");
    for (let n = answerLength(c.buffer); n > 0; n = answerLength(c.buffer)) {
      const status = c.buffer.slice(9, 12);
      c.buffer = c.buffer.slice(n);
      latencies[answered++] = performance.now() - c.due;
      if (status[0] !== "2") failed++;
      if (answered >= total) finish();
      else send(c);
    }
  };

  const conns: Conn[] = Array.from({ length: o.connections }, () => ({ due: 0, buffer: "" }));
  await Promise.all(
    conns.map(async (c) => {
      c.socket = await Bun.connect({
        hostname: target.hostname,
        port: Number(target.port || 80),
        socket: {
          data: (_s, data) => onData(c, data),
          close: () => {
            if (answered < total) failed += total - answered;
            finish();
          },
          error: () => {},
        },
      });
    }),
  );
  start = performance.now();
  idle.push(...conns);
  // Every millisecond, hand the requests that fell due to idle connections; the rest queue up and
  // are sent as answers free their connection (their latency still counts from when they were due).
  const timer = setInterval(() => {
    while (idle.length > 0 && next < total && performance.now() >= due(next)) send(idle.pop() as Conn, true);
  }, 1);
  const deadline = setTimeout(finish, o.seconds * 1000 + 30_000);
  await finished;
  clearInterval(timer);
  clearTimeout(deadline);
  const seconds = (performance.now() - start) / 1000;
  for (const c of conns) c.socket?.end();
  const s = summarizeLatencies(latencies.subarray(0, answered));
  return {
    rate: o.rate,
    achievedRate: Math.round(answered / seconds),
    answered,
    failed,
    p50: s.p50,
    p99: s.p99,
    p999: s.p999,
  };
}
