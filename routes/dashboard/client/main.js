// @ts-check
/**
 * The dashboard page's controller: reads the state from the address bar, asks the stats API for
 * every panel, draws the answers, and repeats every few seconds unless paused. Each panel stands
 * on its own: one that fails shows why, the others go on.
 */
import { fetchStats, LoggedOutError } from "./api.js";
import { createChartSlot, timeOfDayOptions, timeseriesOptions } from "./charts.js";
import {
  apiParams,
  formatCount,
  formatOffset,
  isoToZonedInput,
  isTimeZone,
  offsetMinutes,
  PRESETS,
  searchFromState,
  stateFromSearch,
  zonedInputToIso,
} from "./format.js";
import {
  describePeriod,
  renderCompare,
  renderError,
  renderFreshness,
  renderHeatmap,
  renderLatency,
  renderStatus,
  renderTimes,
  renderTop,
  renderTotal,
} from "./panels.js";

/** @typedef {import("./format.js").DashboardState} DashboardState */
/** @typedef {import("./format.js").Preset} Preset */
/** @typedef {import("./api.js").StoreResult<unknown>} AnyStoreResult */
/** @typedef {import("./api.js").Outcome<any>} AnyOutcome */
/**
 * @typedef {{ endpoint: string; panel: string; params?: Record<string, string>; draw(data: any): void }} PanelSpec
 */

const prefix = document.body.dataset.prefix ?? "";
/** The zone footprints are written in (the server's setting), offered beside the viewer's. */
const serverTz = document.body.dataset.serverTz ?? "UTC";
const viewerTz = Intl.DateTimeFormat().resolvedOptions().timeZone;
/** Hours and weekdays are shown in the viewer's own zone unless another is picked. */
const defaultTz = viewerTz && isTimeZone(viewerTz) ? viewerTz : serverTz;
/** @type {DashboardState} */
let state = stateFromSearch(location.search, defaultTz);
/** @type {{ from: string; to: string } | undefined} */
let lastPeriod;
let refreshWhenResumed = 5;

/**
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @param {string} name */
const panel = (name) => $(`panel-${name}`);

const seriesChart = createChartSlot($("series-chart"));
const todChart = createChartSlot($("tod-chart"));
/** @type {Map<string, AnyStoreResult[]>} */
const timings = new Map();

/** @type {PanelSpec[]} */
const PANELS = [
  {
    endpoint: "total",
    panel: "total",
    /** @param {import("./api.js").TotalData} data */
    draw: (data) =>
      renderTotal(
        { count: $("total-count"), delta: $("total-delta") },
        data,
        state.preset === "custom" ? "period" : state.preset,
      ),
  },
  {
    endpoint: "top",
    panel: "top",
    params: { limit: "10" },
    /** @param {import("./api.js").TopData} data */
    draw: (data) => renderTop($("top-bars"), data),
  },
  {
    endpoint: "timeseries",
    panel: "timeseries",
    /** @param {import("./api.js").TimeseriesData} data */
    draw: (data) => {
      $("series-bucket").textContent = `per ${data.bucket}`;
      const xs = data.points.map((p) => Date.parse(p.t) / 1000);
      const ys = data.points.map((p) => p.count);
      const asBars = data.points.length <= 96;
      seriesChart.show(
        `${state.tz}|${asBars}|${data.bucket}`,
        () => timeseriesOptions(state.tz, data.points.length, data.bucket),
        [xs, ys],
      );
    },
  },
  {
    endpoint: "heatmap",
    panel: "heatmap",
    /** @param {import("./api.js").HeatmapData} data */
    draw: (data) => renderHeatmap($("heatmap"), data, state.tz),
  },
  {
    endpoint: "time-of-day",
    panel: "time-of-day",
    /** @param {import("./api.js").TimeOfDayData} data */
    draw: (data) => {
      const values = state.todView === "hour" ? data.hours : data.minutes;
      const xs = values.map((_, i) => i);
      todChart.show(`${state.todView}|${state.tz}`, () => timeOfDayOptions(state.todView, state.tz), [xs, values]);
    },
  },
  {
    endpoint: "status",
    panel: "status",
    /** @param {import("./api.js").StatusData} data */
    draw: (data) => renderStatus($("status"), data),
  },
  {
    endpoint: "latency",
    panel: "latency",
    params: { limit: "10" },
    /** @param {import("./api.js").LatencyData} data */
    draw: (data) => renderLatency(/** @type {HTMLElement} */ ($("latency").querySelector("tbody")), data),
  },
];

let round = 0;
/** @type {AbortController | undefined} */
let inFlight;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;

/**
 * One round: every panel, then the live count, one request at a time; the next round is scheduled
 * when this one ends. One at a time because a store's time must be its query's alone: the API asks
 * both stores at once for each panel, so neither waits behind the other, and no store ever has
 * more than one of the dashboard's queries in flight (all seven at once queued behind each other,
 * on a ClickHouse that runs one query at a time, and were timed waiting).
 */
/** Set by the logout button: the page is leaving, its panels stop. */
let loggingOut = false;

async function refresh() {
  clearTimeout(timer);
  inFlight?.abort();
  if (loggingOut) return;
  const controller = new AbortController();
  inFlight = controller;
  const mine = ++round;
  if (document.hidden) return schedule(); // nobody is looking: ask again later
  try {
    for (const spec of PANELS) await loadPanel(spec, controller.signal);
    await loadLive(controller.signal);
  } catch (err) {
    if (err instanceof LoggedOutError) {
      // Logging out navigates itself: a second navigation would abort the first.
      if (!loggingOut)
        location.assign(`${prefix}/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    if (!controller.signal.aborted) console.error(err);
  }
  if (mine !== round) return;
  $("updated").textContent =
    `updated ${new Date().toLocaleTimeString("en-GB", { timeZone: state.tz, hourCycle: "h23" })}`;
  document.body.dataset.rounds = String(Number(document.body.dataset.rounds ?? 0) + 1);
  schedule();
}

function schedule() {
  clearTimeout(timer);
  if (state.refresh > 0) timer = setTimeout(refresh, state.refresh * 1000);
}

/**
 * @param {PanelSpec} spec
 * @param {AbortSignal} signal
 */
async function loadPanel(spec, signal) {
  const el = panel(spec.panel);
  el.classList.add("loading");
  /** @type {AnyOutcome} */
  let outcome;
  try {
    outcome = await fetchStats(prefix, spec.endpoint, apiParams(state, spec.params), signal);
  } finally {
    el.classList.remove("loading");
  }
  if (signal.aborted) return;
  renderError(el, outcome);
  const results = outcome.ok ? outcome.response.results : outcome.results;
  renderTimes(el, results, outcome.ok ? outcome : undefined);
  if (results) timings.set(spec.endpoint, results);
  else timings.delete(spec.endpoint);
  renderCompare(/** @type {HTMLTableElement} */ ($("compare")), timings);
  if (!outcome.ok || outcome.data === undefined) return;
  try {
    spec.draw(outcome.data);
  } catch (err) {
    renderError(el, { ok: false, message: `Could not draw this panel: ${/** @type {Error} */ (err).message}` });
  }
  if (spec.endpoint === "total") {
    renderFreshness($("freshness"), outcome.response);
    lastPeriod = outcome.response.period;
    $("period").textContent = describePeriod(outcome.response.period);
  }
}

/**
 * Requests in the last minute, with the same filters and store.
 * @param {AbortSignal} signal
 */
async function loadLive(signal) {
  const params = apiParams(state);
  params.set("from", "1m");
  params.delete("to");
  /** @type {import("./api.js").Outcome<import("./api.js").TotalData>} */
  const outcome = await fetchStats(prefix, "total", params, signal);
  if (signal.aborted) return;
  const live = $("live-count");
  if (outcome.ok && outcome.data) {
    live.textContent = formatCount(outcome.data.count);
    live.title = "";
  } else {
    live.textContent = "?";
    live.title = outcome.ok ? "" : outcome.message;
  }
}

/**
 * Applies a change from a control: address bar, controls, and a fresh round at once.
 * @param {Partial<DashboardState>} change
 */
function update(change) {
  state = { ...state, ...change };
  history.replaceState(null, "", `${location.pathname}${searchFromState(state, defaultTz)}`);
  syncControls();
  refresh();
}

/**
 * @param {HTMLElement} container
 * @param {string} attr
 * @param {string} value
 */
function pressed(container, attr, value) {
  for (const b of container.querySelectorAll(`button[${attr}]`)) {
    b.setAttribute("aria-pressed", String(b.getAttribute(attr) === value));
  }
}

function syncControls() {
  pressed($("presets"), "data-preset", state.preset);
  pressed($("stores"), "data-store", state.store);
  pressed($("tod-view"), "data-view", state.todView);
  $("custom").hidden = state.preset !== "custom";
  /** @type {HTMLSelectElement} */ ($("f-method")).value = state.method;
  /** @type {HTMLInputElement} */
  const route = $("f-route");
  if (document.activeElement !== route) route.value = state.route;
  /** @type {HTMLSelectElement} */ ($("f-status")).value = state.status;
  /** @type {HTMLInputElement} */ ($("f-bots")).checked = state.excludeBots;
  const paused = state.refresh === 0;
  const pause = $("pause");
  pause.textContent = paused ? "Resume" : "Pause";
  pause.setAttribute("aria-pressed", String(paused));
  if (!paused) /** @type {HTMLSelectElement} */ ($("refresh")).value = String(state.refresh);
  $("live").classList.toggle("paused", paused);
  fillTimeZones();
}

/** The viewer's zone, the server's and UTC, each with its current offset. */
function fillTimeZones() {
  /** @type {HTMLSelectElement} */
  const select = $("tz");
  const zones = [...new Set([defaultTz, serverTz, state.tz, "UTC"].filter(Boolean))];
  const now = Date.now();
  select.replaceChildren(
    ...zones.map((z) => {
      const o = document.createElement("option");
      o.value = z;
      const whose = z === serverTz ? " · server" : z === viewerTz ? " · yours" : "";
      o.textContent = `${z} (UTC${formatOffset(offsetMinutes(now, z))})${whose}`;
      return o;
    }),
  );
  select.value = state.tz;
}

/**
 * @param {Event} e
 * @param {string} key
 */
const buttonData = (e, key) => /** @type {HTMLElement} */ (e.target).closest("button")?.dataset[key];
/** @param {Event} e */
const fieldValue = (e) => /** @type {HTMLInputElement | HTMLSelectElement} */ (e.target).value;

function wireControls() {
  $("presets").addEventListener("click", (e) => {
    const value = buttonData(e, "preset");
    if (value === "custom") {
      const to = lastPeriod?.to ?? new Date().toISOString();
      const from = lastPeriod?.from ?? new Date(Date.now() - 86_400_000).toISOString();
      /** @type {HTMLInputElement} */ ($("custom-from")).value = isoToZonedInput(from, state.tz);
      /** @type {HTMLInputElement} */ ($("custom-to")).value = isoToZonedInput(to, state.tz);
      $("custom").hidden = false;
      pressed($("presets"), "data-preset", "custom");
    } else if (value && /** @type {readonly string[]} */ (PRESETS).includes(value)) {
      update({ preset: /** @type {Preset} */ (value), from: "", to: "" });
    }
  });
  $("custom-apply").addEventListener("click", () => {
    const from = zonedInputToIso(/** @type {HTMLInputElement} */ ($("custom-from")).value, state.tz);
    const to = zonedInputToIso(/** @type {HTMLInputElement} */ ($("custom-to")).value, state.tz);
    if (!from || !to || Date.parse(to) <= Date.parse(from)) {
      $("period").textContent = "Custom period: pick a start, and an end after it.";
      return;
    }
    update({ preset: "custom", from, to });
  });
  $("stores").addEventListener("click", (e) => {
    const value = buttonData(e, "store");
    if (value === "both" || value === "postgres" || value === "clickhouse") {
      timings.clear();
      update({ store: value });
    }
  });
  $("tod-view").addEventListener("click", (e) => {
    const value = buttonData(e, "view");
    if (value === "hour" || value === "minute") update({ todView: value });
  });
  $("f-method").addEventListener("change", (e) => update({ method: fieldValue(e) }));
  $("f-status").addEventListener("change", (e) =>
    update({ status: /** @type {DashboardState["status"]} */ (fieldValue(e)) }),
  );
  $("f-bots").addEventListener("change", (e) =>
    update({ excludeBots: /** @type {HTMLInputElement} */ (e.target).checked }),
  );
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typing;
  $("f-route").addEventListener("input", (e) => {
    clearTimeout(typing);
    const value = fieldValue(e).trim();
    typing = setTimeout(() => update({ route: value }), 400);
  });
  $("controls").addEventListener("submit", (e) => e.preventDefault());
  $("pause").addEventListener("click", () => {
    if (state.refresh > 0) {
      refreshWhenResumed = state.refresh;
      state = { ...state, refresh: 0 };
      clearTimeout(timer);
      history.replaceState(null, "", `${location.pathname}${searchFromState(state, defaultTz)}`);
      syncControls();
    } else update({ refresh: refreshWhenResumed });
  });
  $("refresh").addEventListener("change", (e) => update({ refresh: Number(fieldValue(e)) }));
  $("tz").addEventListener("change", (e) => update({ tz: fieldValue(e) }));
  $("logout").addEventListener("click", async () => {
    // No panel is asked for from here on, and none in flight navigates on its 401.
    loggingOut = true;
    clearTimeout(timer);
    inFlight?.abort();
    await fetch(`${prefix}/api/v1/session`, { method: "DELETE" }).catch(() => {});
    location.assign(`${prefix}/login`);
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.refresh > 0) refresh();
  });
}

wireControls();
syncControls();
refresh();
