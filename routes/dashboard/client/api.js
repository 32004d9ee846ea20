// @ts-check
/** Calls to the stats API (see the contract: `{prefix}/api/v1/stats/<endpoint>`) from the page. */

/** @typedef {{ code: string; message: string }} StoreError */
/**
 * `ms`: wall time, from the server asking the store to its answer; `query_ms`: the database's own
 * time for the statistic (null when it did not say).
 * @template T
 * @typedef {{ store: string; source?: string; ms: number; query_ms?: number | null; data?: T; error?: StoreError }} StoreResult
 */
/** @typedef {{ from: string; to: string; tz: string }} Period */
/** @typedef {{ store: string; ahead: string; seconds: number | null; events: number | null }} Behind */
/** @typedef {{ requested_to: string; newest: Record<string, string | null>; behind: Behind | null }} Freshness */
/**
 * @template T
 * @typedef {{ endpoint: string; period: Period; freshness?: Freshness; results: StoreResult<T>[] }} StatsResponse
 */
/** @typedef {{ rows: { method: string; endpoint: string; count: number; share: number }[] }} TopData */
/** @typedef {{ count: number; previous: number }} TotalData */
/** @typedef {{ hours: number[]; minutes: number[] }} TimeOfDayData */
/** @typedef {{ weekdays: string[]; cells: number[][] }} HeatmapData */
/** @typedef {{ bucket: "minute" | "hour" | "day"; points: { t: string; count: number }[] }} TimeseriesData */
/** @typedef {Record<"2xx" | "3xx" | "4xx" | "5xx" | "other", number>} StatusData */
/** @typedef {{ rows: { endpoint: string; count: number; p50: number; p95: number; p99: number }[] }} LatencyData */
/**
 * What one panel gets: the answer of every store asked, or why there is none. `disagree`: the
 * stores' answers differ (over the period both hold); `behind`: one store has not written all the
 * other holds yet.
 * @template T
 * @typedef {{ ok: true; response: StatsResponse<T>; data: T | undefined; disagree: boolean; behind: Behind | null }
 *   | { ok: false; message: string; details?: string[]; results?: StoreResult<T>[] }} Outcome
 */

export class LoggedOutError extends Error {}

/**
 * GETs one stats endpoint. Stores that failed are reported inside a successful outcome (the other
 * store's data is still shown); a 400 or 503 or an unreachable server becomes `ok: false` with a
 * message for that panel only. A 401 means the session ended: the caller goes to the login page.
 * @template T
 * @param {string} base
 * @param {string} endpoint
 * @param {URLSearchParams} params
 * @param {AbortSignal} signal
 * @returns {Promise<Outcome<T>>}
 */
export async function fetchStats(base, endpoint, params, signal) {
  /** @type {Response} */
  let res;
  try {
    res = await fetch(`${base}/api/v1/stats/${endpoint}?${params}`, {
      signal,
      headers: { accept: "application/json" },
      credentials: "same-origin",
    });
  } catch (err) {
    if (signal.aborted) throw err;
    return { ok: false, message: "The server does not answer." };
  }
  if (res.status === 401) throw new LoggedOutError("session ended");
  /** @type {(StatsResponse<T> & { error?: { code: string; message: string; details?: unknown } }) | undefined} */
  const body = await res.json().catch(() => undefined);
  if (!body) return { ok: false, message: `HTTP ${res.status}: the answer is not JSON.` };
  if (body.error) {
    return {
      ok: false,
      message: `${body.error.code}: ${body.error.message}`,
      details: describeDetails(body.error.details),
    };
  }
  if (!res.ok || !Array.isArray(body.results)) {
    return { ok: false, message: `HTTP ${res.status}: no store answered.`, results: body.results };
  }
  const answered = body.results.filter((r) => r.data !== undefined);
  if (answered.length === 0) return { ok: false, message: "No store answered.", results: body.results };
  const first = answered[0]?.data;
  const disagree = answered.some((r) => JSON.stringify(r.data) !== JSON.stringify(first));
  return { ok: true, response: body, data: first, disagree, behind: body.freshness?.behind ?? null };
}

/**
 * @param {unknown} details
 * @returns {string[] | undefined}
 */
function describeDetails(details) {
  if (!Array.isArray(details)) return undefined;
  return details.map((d) => {
    const { path, message } = d ?? {};
    const where = Array.isArray(path) ? path.join(".") : String(path ?? "");
    return where ? `${where}: ${String(message)}` : String(message);
  });
}
