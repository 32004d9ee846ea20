/**
 * Pure helpers of the dashboard page (numbers, periods, time zones, query strings). They run in the
 * browser and in unit tests alike, so nothing here touches the DOM.
 */

// @ts-check

/** @typedef {"15m" | "1h" | "24h" | "7d" | "30d"} Preset */
/** @typedef {"both" | "postgres" | "clickhouse"} StoreChoice */

/** @type {readonly Preset[]} */
export const PRESETS = ["15m", "1h", "24h", "7d", "30d"];
/** @type {Record<string, string>} */
export const STORE_LABEL = { postgres: "PostgreSQL", clickhouse: "ClickHouse" };

/**
 * What the page shows; kept in the address bar so a reload or a shared link shows the same.
 * `from`/`to` are ISO instants with offset, used when `preset` is "custom"; `refresh` is the
 * auto-refresh interval in seconds, 0 = paused.
 * @typedef {{
 *   preset: Preset | "custom"; from: string; to: string; tz: string; store: StoreChoice;
 *   method: string; route: string; status: "" | "2xx" | "3xx" | "4xx" | "5xx"; excludeBots: boolean;
 *   refresh: number; todView: "hour" | "minute";
 * }} DashboardState
 */

export const REFRESH_CHOICES = [5, 10, 30, 60];

/**
 * @param {string} tz
 * @returns {DashboardState}
 */
export function defaultState(tz) {
  return {
    preset: "24h",
    from: "",
    to: "",
    tz,
    store: "both",
    method: "",
    route: "",
    status: "",
    excludeBots: false,
    refresh: 5,
    todView: "hour",
  };
}

/** Reads the state from a query string, falling back to defaults for anything missing or odd. */
/**
 * @param {string} search
 * @param {string} defaultTz
 * @returns {DashboardState}
 */
export function stateFromSearch(search, defaultTz) {
  const q = new URLSearchParams(search);
  const s = defaultState(defaultTz);
  const from = q.get("from") ?? "";
  if (/** @type {readonly string[]} */ (PRESETS).includes(from)) s.preset = /** @type {Preset} */ (from);
  else if (from && q.get("to") && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(q.get("to") ?? ""))) {
    s.preset = "custom";
    s.from = from;
    s.to = q.get("to") ?? "";
  }
  const tz = q.get("tz");
  if (tz && isTimeZone(tz)) s.tz = tz;
  const store = q.get("store");
  if (store === "postgres" || store === "clickhouse" || store === "both") s.store = store;
  s.method = (q.get("method") ?? "").toUpperCase().replace(/[^A-Z]/g, "");
  s.route = q.get("route") ?? "";
  const status = q.get("status");
  if (status === "2xx" || status === "3xx" || status === "4xx" || status === "5xx") s.status = status;
  s.excludeBots = q.get("exclude_bots") === "true";
  const refresh = Number(q.get("refresh"));
  if (q.get("refresh") === "0" || REFRESH_CHOICES.includes(refresh)) s.refresh = refresh;
  if (q.get("tod") === "minute") s.todView = "minute";
  return s;
}

/** The query string of the page's own address (only what differs from the defaults). */
/**
 * @param {DashboardState} s
 * @param {string} defaultTz
 */
export function searchFromState(s, defaultTz) {
  const d = defaultState(defaultTz);
  const q = new URLSearchParams();
  if (s.preset === "custom") {
    q.set("from", s.from);
    q.set("to", s.to);
  } else if (s.preset !== d.preset) q.set("from", s.preset);
  if (s.tz !== d.tz) q.set("tz", s.tz);
  if (s.store !== d.store) q.set("store", s.store);
  if (s.method) q.set("method", s.method);
  if (s.route) q.set("route", s.route);
  if (s.status) q.set("status", s.status);
  if (s.excludeBots) q.set("exclude_bots", "true");
  if (s.refresh !== d.refresh) q.set("refresh", String(s.refresh));
  if (s.todView !== d.todView) q.set("tod", s.todView);
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** Query parameters of a stats API call for this state (the API's names, see the contract). */
/**
 * @param {DashboardState} s
 * @param {Record<string, string>} [extra]
 */
export function apiParams(s, extra = {}) {
  const q = new URLSearchParams();
  if (s.preset === "custom") {
    q.set("from", s.from);
    q.set("to", s.to);
  } else q.set("from", s.preset);
  q.set("tz", s.tz);
  q.set("store", s.store);
  if (s.method) q.set("method", s.method);
  if (s.route) q.set("route", s.route);
  if (s.status) q.set("status", s.status);
  if (s.excludeBots) q.set("exclude_bots", "true");
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}

const integer = new Intl.NumberFormat("en-US");

/** @param {number} n */
export function formatCount(n) {
  return integer.format(n);
}

/** 12345 → "12.3k": for axis ticks, where width matters more than the last digit. */
/** @param {number} n */
export function formatCompact(n) {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${trim(n / 1e9)}G`;
  if (abs >= 1e6) return `${trim(n / 1e6)}M`;
  if (abs >= 1e4) return `${trim(n / 1e3)}k`;
  return integer.format(n);
}

/** @param {number} n */
function trim(n) {
  return n.toFixed(1).replace(/\.0$/, "");
}

/** @param {number} ms */
export function formatMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** @param {number} share */
export function formatPercent(share) {
  const p = share * 100;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/**
 * Change against the previous period: "+12.5%", "−3.0%", "new" (from nothing), "±0%".
 * @param {number} count
 * @param {number} previous
 * @returns {{ text: string; direction: "up" | "down" | "flat" }}
 */
export function formatDelta(count, previous) {
  if (previous === 0) return count === 0 ? { text: "±0%", direction: "flat" } : { text: "new", direction: "up" };
  const change = (count - previous) / previous;
  if (Math.abs(change) < 0.0005) return { text: "±0%", direction: "flat" };
  const pct = Math.abs(change * 100);
  const digits = pct >= 100 ? 0 : 1;
  return { text: `${change > 0 ? "+" : "\u2212"}${pct.toFixed(digits)}%`, direction: change > 0 ? "up" : "down" };
}

/** @param {string} name */
export function isTimeZone(name) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** @typedef {{ year: number; month: number; day: number; hour: number; minute: number; second: number }} WallTime */

/**
 * The browser's copy of src/time.ts's wallClock/offsetMinutes/formatOffset. It cannot import them:
 * this file is served to the browser as written, unbundled (routes/dashboard/assets.ts), and the
 * server's are TypeScript in the core, tuned for the request path (a formatter and an offset cached
 * per zone). format.test.ts pins this copy to the same answers.
 * @param {number} epochMs
 * @param {string} tz
 * @returns {WallTime}
 */
function wallTime(epochMs, tz) {
  /** @type {Record<string, number>} */
  const parts = {};
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  for (const p of f.formatToParts(new Date(epochMs))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  return /** @type {WallTime} */ (/** @type {unknown} */ (parts));
}

/**
 * Offset of `tz` from UTC at an instant, in minutes (Asia/Seoul → 540).
 * @param {number} epochMs
 * @param {string} tz
 */
export function offsetMinutes(epochMs, tz) {
  const w = wallTime(epochMs, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60_000);
}

/**
 * "+09:00", "-04:00", "+05:30".
 * @param {number} minutes
 */
export function formatOffset(minutes) {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * A wall-clock time typed in a `datetime-local` field ("2025-05-19T13:45"), read in `tz`, as an
 * ISO instant with that zone's offset ("2025-05-19T13:45:00+09:00"). A time that does not exist
 * (skipped by a DST change) comes out as the instant it would be on the old offset.
 * @param {string} local
 * @param {string} tz
 * @returns {string | undefined}
 */
export function zonedInputToIso(local, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0));
  const asUtc = Date.UTC(Number(y), Number(mo) - 1, d, h, mi, s);
  // Candidates from the offsets near that wall time; one that reads back with its own offset is
  // the answer (the earlier one in an overlap). None does in a DST gap: use the offset before it.
  const near = [...new Set([offsetMinutes(asUtc - 86_400_000, tz), offsetMinutes(asUtc + 86_400_000, tz)])];
  const valid = near.map((o) => asUtc - o * 60_000).filter((e) => asUtc - offsetMinutes(e, tz) * 60_000 === e);
  const epoch = valid.length > 0 ? Math.min(...valid) : asUtc - Number(near[0]) * 60_000;
  return `${formatWall(wallTime(epoch, tz))}${formatOffset(offsetMinutes(epoch, tz))}`;
}

/**
 * An instant as the value of a `datetime-local` field in `tz` ("2025-05-19T13:45").
 * @param {string} iso
 * @param {string} tz
 */
export function isoToZonedInput(iso, tz) {
  return formatWall(wallTime(Date.parse(iso), tz)).slice(0, 16);
}

/** @param {WallTime} w */
function formatWall(w) {
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/**
 * "19 May 2025, 13:45" in `tz`.
 * @param {string} iso
 * @param {string} tz
 */
export function formatInstant(iso, tz) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

/**
 * Minute of day 0..1439 → "13:45".
 * @param {number} minute
 */
export function formatMinuteOfDay(minute) {
  return `${pad(Math.floor(minute / 60) % 24)}:${pad(minute % 60)}`;
}

/** @param {number} n */
function pad(n) {
  return String(n).padStart(2, "0");
}

/**
 * One store behind the other, in words: how far (seconds, events) and up to when the two are
 * compared ("ClickHouse is 2.5 s and 40 events behind PostgreSQL; both are compared up to 12:00:23").
 * @param {import("./api.js").Behind} behind
 * @param {string} comparedTo ISO instant: where the answers end
 * @param {string} tz
 */
export function describeBehind(behind, comparedTo, tz) {
  const who = STORE_LABEL[/** @type {keyof typeof STORE_LABEL} */ (behind.store)] ?? behind.store;
  const ahead = STORE_LABEL[/** @type {keyof typeof STORE_LABEL} */ (behind.ahead)] ?? behind.ahead;
  const events =
    behind.events === null ? "" : `${formatCount(behind.events)} ${behind.events === 1 ? "event" : "events"}`;
  if (behind.seconds === null) {
    return `${who} holds none of this period yet${events ? ` (${ahead}: ${events})` : ""}; its figures catch up as it writes.`;
  }
  const how = [formatSeconds(behind.seconds), events].filter(Boolean).join(" and ");
  const until = new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(comparedTo));
  return `${who} is ${how} behind ${ahead}: both are shown up to ${until}, which both hold.`;
}

/** @param {number} seconds */
function formatSeconds(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.round(seconds / 60)} min`;
}
