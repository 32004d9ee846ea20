/**
 * The contract every HTTP answer of ours keeps, for the property-based tests: a request sent over
 * a real socket under a deadline (a hang fails the case), and an answer that is a 2xx or 3xx, or a
 * 4xx JSON `{error:{code,message}}` with a code of src/errors.ts answered with that code's status;
 * a 5xx only where the test says a service is down.
 */
import { ERROR_CODES, type ErrorCode } from "../../src/errors.ts";

/** How long one request may take before the case fails as a hang. */
export const REQUEST_TIMEOUT_MS = 10_000;

export type Answer = { status: number; headers: Headers; text: string };

export type Sent = {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** `label` says what kind of body it is, for reading a counterexample. */
  body?: { label: string; bytes: Uint8Array } | undefined;
};

/** Sends the request to `base` and reads the whole answer, or throws after REQUEST_TIMEOUT_MS. */
export async function send(base: string, request: Sent): Promise<Answer> {
  // fetch refuses a body on these (so does any client).
  const hasBody = request.body !== undefined && !["GET", "HEAD", "TRACE"].includes(request.method);
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    const res = await fetch(`${base}${request.path}`, {
      method: request.method,
      headers: request.headers ?? {},
      body: hasBody ? request.body?.bytes : undefined,
      redirect: "manual",
      decompress: false,
      signal,
    } as RequestInit);
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    if (signal.aborted) throw new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${request.method} ${request.path}`);
    throw err;
  }
}

export type AnswerRules = {
  /** Codes that may come with a 5xx here (a service the test keeps down). */
  outages?: readonly ErrorCode[];
  /** A 4xx may be an HTML page here (the login form's answers to a browser). */
  htmlErrors?: boolean;
  /** An answer that is not ours but passed through (the proxied site's), whatever it is. */
  passThrough?: (answer: Answer) => boolean;
};

/** What is wrong with the answer, or undefined when it keeps the contract. */
export function answerProblem(answer: Answer, rules: AnswerRules = {}, method = "GET"): string | undefined {
  const { status } = answer;
  if (rules.passThrough?.(answer)) return undefined;
  // A HEAD answer has the GET answer's status and headers but no body to read; Bun's fetch drops
  // the body of an answer to TRACE (the server sends it: checked with curl).
  const body = method === "HEAD" || method === "TRACE" ? undefined : answer.text;
  const type = answer.headers.get("content-type") ?? "";
  if (status >= 200 && status < 300) {
    if (type.includes("application/json") && body && !parses(body)) {
      return `${status} with a body that is not JSON`;
    }
    return undefined;
  }
  if (status >= 300 && status < 400) {
    if (status === 304) return undefined;
    const location = answer.headers.get("location") ?? "";
    // Our own pages only: never another site (an open redirect).
    if (!location.startsWith("/") || location.startsWith("//") || location.includes("\\")) {
      return `${status} redirects to ${JSON.stringify(location)}`;
    }
    return undefined;
  }
  if (status >= 400 && status < 500 && rules.htmlErrors && type.startsWith("text/html")) return undefined;
  if (!type.includes("application/json")) return `${status} with Content-Type ${type || "(none)"}`;
  if (body === undefined) return status >= 500 && !rules.outages?.length ? `${status} to HEAD` : undefined;
  const error = parses(body)
    ? (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error
    : undefined;
  const code = error?.code;
  if (typeof code !== "string" || !(code in ERROR_CODES))
    return `${status} without a named error code: ${body.slice(0, 300)}`;
  if (typeof error?.message !== "string") return `${status} ${code} without a message`;
  const named = ERROR_CODES[code as ErrorCode].status;
  if (code !== "HTTP_ERROR" && named !== status) return `${code} answered with ${status}, not ${named}`;
  if (status >= 500 && !rules.outages?.includes(code as ErrorCode)) return `${status} ${code}: ${body.slice(0, 300)}`;
  if (status < 400 || status >= 600) return `status ${status}`;
  return undefined;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bun.serve answers a request whose request line and headers pass 16 KiB with its own 431, before
 * any route (pinned apart in app/http.property.pg.test.ts): cases stay under it, long values
 * shortened to fit.
 */
export function withinHeaderLimit(sent: Sent): Sent {
  const budget = 14_000;
  const path = sent.path.slice(0, budget / 2);
  const entries = Object.entries(sent.headers ?? {});
  const size = entries.reduce((n, [k, v]) => n + k.length + v.length + 4, path.length);
  if (size <= budget) return { ...sent, path };
  const each = Math.floor((budget - path.length) / Math.max(1, entries.length)) - 40;
  return { ...sent, path, headers: Object.fromEntries(entries.map(([k, v]) => [k, v.slice(0, Math.max(0, each))])) };
}

/** `2xx`, `3xx`, … for tallies. */
export const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;
