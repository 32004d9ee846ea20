// @ts-check
/**
 * Rendering of the panels that are plain HTML (numbers, bars, heatmap, tables) and of the parts
 * every panel shares: which store answered in how many ms, and what went wrong.
 */
import {
  describeBehind,
  formatCompact,
  formatCount,
  formatDelta,
  formatInstant,
  formatMs,
  formatOffset,
  formatPercent,
  offsetMinutes,
  STORE_LABEL,
} from "./format.js";

/** @typedef {import("./api.js").HeatmapData} HeatmapData */
/** @typedef {import("./api.js").LatencyData} LatencyData */
/** @typedef {import("./api.js").Period} Period */
/** @typedef {import("./api.js").StatusData} StatusData */
/** @typedef {import("./api.js").TopData} TopData */
/** @typedef {import("./api.js").TotalData} TotalData */
/** @typedef {import("./api.js").StoreResult<unknown>} AnyStoreResult */
/** @typedef {import("./api.js").Outcome<unknown>} AnyOutcome */

/**
 * Builds an element; children are nodes or text (never parsed as HTML). `style` is set through the
 * CSSOM: a style attribute would be an inline style, which the pages' CSP refuses.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {...(Node | string)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") el.style.cssText = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

/** @param {string | undefined} store */
const label = (store) => STORE_LABEL[store ?? ""] ?? store ?? "";

/**
 * The store badges in a panel's header ("PostgreSQL 3.2 ms": the database's own time for this
 * panel's statistic, the wall time in the title), a failed store in red. "stores differ" only when
 * the answers differ over a period both stores hold; while one is behind, the header says so.
 * @param {HTMLElement} panel
 * @param {AnyStoreResult[] | undefined} results
 * @param {{ disagree: boolean; behind: import("./api.js").Behind | null }} [comparison]
 */
export function renderTimes(panel, results, comparison = { disagree: false, behind: null }) {
  const box = panel.querySelector(".times");
  if (!box) return;
  /** @type {HTMLElement[]} */
  const badges = (results ?? []).map((r) => {
    if (r.error) {
      return h(
        "span",
        { class: `time ${r.store} failed`, title: `${r.error.code}: ${r.error.message}` },
        `${label(r.store)} failed · ${r.error.code}`,
      );
    }
    const source = r.source ? ` · ${r.source}` : "";
    const attrs = { class: `time ${r.store}`, "data-ms": String(r.ms), title: describeTimes(r) };
    if (typeof r.query_ms === "number") Object.assign(attrs, { "data-query-ms": String(r.query_ms) });
    return h("span", attrs, `${label(r.store)} ${formatMs(r.query_ms ?? r.ms)}${source}`);
  });
  const { disagree, behind } = comparison;
  if (disagree && behind) {
    badges.push(
      h(
        "span",
        {
          class: "lag",
          title: `${label(behind.store)} has not written everything ${label(behind.ahead)} holds yet: the answers differ until it catches up`,
        },
        `${label(behind.store)} catching up`,
      ),
    );
  } else if (disagree) {
    badges.push(
      h(
        "span",
        { class: "time differ", title: "The stores gave different answers for a period both hold whole" },
        "stores differ",
      ),
    );
  }
  box.replaceChildren(...badges);
}

/** @param {AnyStoreResult} r */
function describeTimes(r) {
  const wall = `${formatMs(r.ms)} from asking ${label(r.store)} to its answer, waits included`;
  if (typeof r.query_ms !== "number") return `${label(r.store)} did not report its own time; ${wall}`;
  return `${label(r.store)}: ${formatMs(r.query_ms)} ${QUERY_TIME[r.store] ?? "query time"}; ${wall}`;
}

/** What each store's query time is, as the stats API measures it. */
const QUERY_TIME = /** @type {Record<string, string>} */ ({
  postgres: "statement time on a connection held for it",
  clickhouse: "the server's own elapsed time (query summary)",
});

/**
 * The note under the period when one store is behind the other, hidden otherwise.
 * @param {HTMLElement} box
 * @param {import("./api.js").StatsResponse<unknown> | undefined} response
 */
export function renderFreshness(box, response) {
  const behind = response?.freshness?.behind;
  box.hidden = !behind;
  box.textContent = behind && response ? describeBehind(behind, response.period.to, response.period.tz) : "";
}

/**
 * Shows a panel's error, or hides it; a store that failed while the other answered is listed too.
 * @param {HTMLElement} panel
 * @param {AnyOutcome} outcome
 */
export function renderError(panel, outcome) {
  /** @type {HTMLElement | null} */
  const box = panel.querySelector(".error");
  if (!box) return;
  const failedStores = (outcome.ok ? outcome.response.results : (outcome.results ?? [])).filter((r) => r.error);
  if (outcome.ok && failedStores.length === 0) {
    box.hidden = true;
    box.replaceChildren();
    panel.classList.remove("failed");
    return;
  }
  const lines = [
    ...(outcome.ok ? [] : [outcome.message, ...(outcome.details ?? [])]),
    ...failedStores.map((r) => `${label(r.store)}: ${r.error?.code} — ${r.error?.message}`),
  ];
  const [first, ...rest] = lines;
  box.replaceChildren(first ?? "", ...(rest.length ? [h("ul", {}, ...rest.map((l) => h("li", {}, l)))] : []));
  box.hidden = false;
  panel.classList.toggle("failed", !outcome.ok);
}

/**
 * @param {{ count: HTMLElement; delta: HTMLElement }} el
 * @param {TotalData} data
 * @param {string} periodLabel
 */
export function renderTotal(el, data, periodLabel) {
  el.count.textContent = formatCount(data.count);
  el.count.dataset.count = String(data.count);
  const delta = formatDelta(data.count, data.previous);
  el.delta.replaceChildren(
    h("b", { class: delta.direction }, delta.text),
    ` vs the previous ${periodLabel} (${formatCount(data.previous)})`,
  );
}

/**
 * @param {HTMLElement} list
 * @param {TopData} data
 */
export function renderTop(list, data) {
  if (data.rows.length === 0) {
    list.replaceChildren(h("li", { class: "empty" }, "No requests in this period."));
    return;
  }
  const max = Math.max(...data.rows.map((r) => r.count), 1);
  list.replaceChildren(
    ...data.rows.map((r) =>
      h(
        "li",
        { class: "bar", title: `${r.method} ${r.endpoint}: ${formatCount(r.count)} (${formatPercent(r.share)})` },
        h(
          "span",
          { class: "label" },
          h("span", { class: "method" }, r.method),
          h("span", { class: "endpoint" }, r.endpoint),
        ),
        h(
          "span",
          { class: "track" },
          h("span", { class: "fill", style: `width:${((r.count / max) * 100).toFixed(2)}%` }),
        ),
        h("span", { class: "value" }, formatCount(r.count), h("small", {}, formatPercent(r.share))),
      ),
    ),
  );
}

/**
 * Weekday × hour as a grid of cells whose opacity grows with the count (a square-root scale, so
 * quiet hours still show beside a burst).
 * @param {HTMLElement} box
 * @param {HeatmapData} data
 * @param {string} tz
 */
export function renderHeatmap(box, data, tz) {
  const max = Math.max(1, ...data.cells.flat());
  /** @type {Node[]} */
  const nodes = [h("span")];
  for (let hour = 0; hour < 24; hour++) nodes.push(h("span", { class: "hh" }, hour % 3 === 0 ? String(hour) : ""));
  data.cells.forEach((row, d) => {
    const day = data.weekdays[d] ?? String(d);
    nodes.push(h("span", { class: "wd" }, day));
    row.forEach((n, hour) => {
      const alpha = n === 0 ? 0.06 : 0.12 + 0.88 * Math.sqrt(n / max);
      const span = `${String(hour).padStart(2, "0")}:00–${String(hour + 1).padStart(2, "0")}:00`;
      nodes.push(
        h("span", {
          class: "cell",
          "data-value": String(n),
          style: `background:rgba(var(--heat-rgb),${alpha.toFixed(3)})`,
          title: `${day} ${span} (${tz}): ${formatCount(n)}`,
        }),
      );
    });
  });
  nodes.push(h("div", { class: "legend" }, "0", h("span", { class: "ramp" }), formatCompact(max)));
  box.replaceChildren(...nodes);
}

/** @type {readonly (keyof StatusData)[]} */
const STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx", "other"];

/**
 * @param {HTMLElement} box
 * @param {StatusData} data
 */
export function renderStatus(box, data) {
  /** @param {keyof StatusData} k */
  const n = (k) => data[k] ?? 0;
  const total = STATUS_CLASSES.reduce((sum, k) => sum + n(k), 0);
  const bar = h(
    "div",
    { class: "status-bar", role: "img", "aria-label": STATUS_CLASSES.map((k) => `${k} ${n(k)}`).join(", ") },
    ...STATUS_CLASSES.filter((k) => n(k) > 0).map((k) =>
      h("span", {
        class: `c${k}`,
        style: `width:${((n(k) / total) * 100).toFixed(2)}%`,
        title: `${k}: ${formatCount(n(k))}`,
      }),
    ),
  );
  const list = h(
    "ul",
    { class: "status-list" },
    ...STATUS_CLASSES.map((k) =>
      h(
        "li",
        { class: `c${k}`, "data-class": k },
        k,
        h("b", {}, formatCount(n(k))),
        total ? formatPercent(n(k) / total) : "–",
      ),
    ),
  );
  box.replaceChildren(bar, list);
}

/**
 * @param {HTMLElement} tbody
 * @param {LatencyData} data
 */
export function renderLatency(tbody, data) {
  if (data.rows.length === 0) {
    tbody.replaceChildren(
      h("tr", {}, h("td", { colspan: "5", class: "empty" }, "No durations recorded in this period.")),
    );
    return;
  }
  tbody.replaceChildren(
    ...data.rows.map((r) =>
      h(
        "tr",
        {},
        h("td", { title: r.endpoint }, r.endpoint),
        h("td", {}, formatCount(r.count)),
        h("td", {}, formatMs(r.p50)),
        h("td", {}, formatMs(r.p95)),
        h("td", {}, formatMs(r.p99)),
      ),
    ),
  );
}

/**
 * One row per query; per store its own query time and its wall time; the ratio of query times.
 * @param {HTMLTableElement} table
 * @param {Map<string, AnyStoreResult[]>} timings
 */
export function renderCompare(table, timings) {
  const stores = [...new Set([...timings.values()].flat().map((r) => r.store))];
  const pair = stores.length === 2;
  const thead = table.tHead ?? table.createTHead();
  const tbody = table.tBodies[0] ?? table.createTBody();
  thead.replaceChildren(
    h(
      "tr",
      {},
      h("th", {}, "Query"),
      ...stores.flatMap((s) => [h("th", {}, `${label(s)} query`), h("th", { class: "wall" }, `${label(s)} wall`)]),
      ...(pair ? [h("th", {}, `${label(stores[0])} ÷ ${label(stores[1])}`)] : []),
    ),
  );
  /** @type {Map<string, { query: number; wall: number; unreported: boolean }>} */
  const sums = new Map(stores.map((s) => [s, { query: 0, wall: 0, unreported: false }]));
  const rows = [...timings.entries()].map(([endpoint, results]) => {
    const ok = results.filter((r) => !r.error);
    const fastest = ok.length > 1 ? Math.min(...ok.map(queryTime)) : undefined;
    const cells = stores.flatMap((s) => {
      const r = results.find((x) => x.store === s);
      if (!r) return [h("td", {}, "–"), h("td", { class: "wall" }, "–")];
      if (r.error) {
        return [h("td", { class: "failed", title: r.error.message }, r.error.code), h("td", { class: "wall" }, "–")];
      }
      const sum = /** @type {{ query: number; wall: number; unreported: boolean }} */ (sums.get(s));
      sum.wall += r.ms;
      if (typeof r.query_ms === "number") sum.query += r.query_ms;
      else sum.unreported = true;
      return [
        h("td", { class: queryTime(r) === fastest ? "faster" : "" }, timeOrDash(r.query_ms)),
        h("td", { class: "wall" }, formatMs(r.ms)),
      ];
    });
    return h("tr", {}, h("td", {}, endpoint), ...cells, ...(pair ? [h("td", {}, ratio(results, stores))] : []));
  });
  const sumCells = stores.flatMap((s) => {
    const sum = sums.get(s);
    const any = rows.length > 0 && sum;
    return [
      h("td", {}, any && !sum.unreported ? formatMs(sum.query) : "–"),
      h("td", { class: "wall" }, any ? formatMs(sum.wall) : "–"),
    ];
  });
  const [a, b] = stores.map((s) => sums.get(s));
  const sumRatio = pair ? [h("td", {}, a?.unreported || b?.unreported ? "–" : ratioOf(a?.query, b?.query))] : [];
  tbody.replaceChildren(...rows, h("tr", { class: "sum" }, h("th", {}, "all panels"), ...sumCells, ...sumRatio));
}

/** @param {AnyStoreResult} r */
const queryTime = (r) => (typeof r.query_ms === "number" ? r.query_ms : Number.POSITIVE_INFINITY);

/** @param {number | null | undefined} ms */
const timeOrDash = (ms) => (typeof ms === "number" ? formatMs(ms) : "–");

/**
 * @param {AnyStoreResult[]} results
 * @param {string[]} stores
 */
function ratio(results, stores) {
  /** @param {string | undefined} s */
  const ms = (s) => {
    const r = results.find((x) => x.store === s && !x.error);
    return typeof r?.query_ms === "number" ? r.query_ms : undefined;
  };
  return ratioOf(ms(stores[0]), ms(stores[1]));
}

/**
 * How many times longer the first store took than the second ("12.4×", "0.033×").
 * @param {number | undefined} a
 * @param {number | undefined} b
 */
function ratioOf(a, b) {
  if (a === undefined || b === undefined || a <= 0 || b <= 0) return "–";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×`;
}

/** @param {Period} period */
export function describePeriod(period) {
  const offset = formatOffset(offsetMinutes(Date.parse(period.to), period.tz));
  return `${formatInstant(period.from, period.tz)} – ${formatInstant(period.to, period.tz)} · ${period.tz} (UTC${offset})`;
}
