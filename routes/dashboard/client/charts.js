// @ts-check
/**
 * The two uPlot charts: requests over time (x = instants, drawn in the chosen time zone) and the
 * time-of-day histogram (x = hour 0–23 or minute of day 0–1439). uPlot comes from its own
 * embedded script (`uplot.js`, the IIFE build) as the global `uPlot`.
 */
import { formatCompact, formatCount, formatMinuteOfDay } from "./format.js";

/** @typedef {import("uplot")} UPlot */
/** @typedef {import("uplot").Options} Options */
/** @typedef {import("uplot").Axis} Axis */
/** @typedef {import("uplot").AlignedData} AlignedData */

const uPlot = /** @type {{ uPlot: typeof import("uplot") }} */ (/** @type {unknown} */ (globalThis)).uPlot;

/**
 * A chart in a container: rebuilt when its kind (`key`) changes, else only given new data; it
 * follows the container's width.
 * @typedef {{ show(key: string, options: () => Options, data: AlignedData): void }} ChartSlot
 */

/**
 * @param {HTMLElement} container
 * @param {number} [height]
 * @returns {ChartSlot}
 */
export function createChartSlot(container, height = 220) {
  /** @type {UPlot | undefined} */
  let chart;
  let shownKey = "";
  const width = () => Math.max(200, Math.floor(container.clientWidth));
  new ResizeObserver(() => chart?.setSize({ width: width(), height })).observe(container);
  return {
    show(key, options, data) {
      if (chart && key === shownKey) {
        chart.setData(data);
        return;
      }
      chart?.destroy();
      shownKey = key;
      chart = new uPlot({ ...options(), width: width(), height }, data, container);
    },
  };
}

/**
 * @param {string} name
 * @param {string} fallback
 */
function cssColor(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** @returns {Axis} */
function axisStyle() {
  const muted = cssColor("--muted", "#5b6475");
  const line = cssColor("--line", "#dde2ea");
  return { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
}

/** @returns {Axis} */
const yAxis = () => ({ ...axisStyle(), size: 52, values: (_u, ticks) => ticks.map(formatCompact) });

/**
 * Starts the y axis at 0 and leaves a little room above the highest value.
 * @type {import("uplot").Range.Function}
 */
const fromZero = (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1];

/** @param {number | null} v */
const countValue = (v) => (v == null ? "–" : formatCount(v));

/** Nominal length of a bucket in seconds (a day around a DST change is an hour off; it only pads). */
const BUCKET_SECONDS = { minute: 60, hour: 3600, day: 86_400 };

/**
 * Requests per bucket over the period: bars while there are few enough to tell apart, else an area.
 * A point is its bucket's start and a bar is drawn rightwards from it, so the x axis runs to the
 * end of the newest bucket: else that bar (the current hour, say) falls past the right edge.
 * @param {string} tz
 * @param {number} points
 * @param {"minute" | "hour" | "day"} bucket
 * @returns {Options}
 */
export function timeseriesOptions(tz, points, bucket) {
  const accent = cssColor("--accent", "#2f6fde");
  const asBars = points <= 96;
  return {
    width: 0,
    height: 0,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
    legend: { show: true },
    cursor: { points: { show: !asBars } },
    scales: {
      x: { time: true, range: (_u, min, max) => [min, max + BUCKET_SECONDS[bucket]] },
      y: { range: fromZero },
    },
    axes: [axisStyle(), yAxis()],
    series: [
      {},
      {
        label: "Requests",
        stroke: accent,
        width: asBars ? 0 : 1.5,
        fill: asBars ? accent : `${accent}33`,
        paths: asBars ? uPlot.paths.bars?.({ size: [0.8, 60], align: 1 }) : undefined,
        points: { show: false },
        value: (_u, v) => countValue(v),
      },
    ],
  };
}

/**
 * Count per hour of day (24 bars) or per minute of day (1,440 thin bars, where bursts show).
 * @param {"hour" | "minute"} view
 * @param {string} tz
 * @returns {Options}
 */
export function timeOfDayOptions(view, tz) {
  const accent = cssColor("--accent", "#2f6fde");
  const hourly = view === "hour";
  /** @param {number} i */
  const xLabel = (i) => (hourly ? `${String(i).padStart(2, "0")}:00` : formatMinuteOfDay(i));
  return {
    width: 0,
    height: 0,
    legend: { show: true },
    cursor: { points: { show: false } },
    scales: {
      x: { time: false, range: hourly ? [-0.5, 23.5] : [-0.5, 1439.5] },
      y: { range: fromZero },
    },
    axes: [
      {
        ...axisStyle(),
        // Every 3 hours, or every 6 where the labels would collide (a phone, the minute view).
        splits: (u) => {
          const step = hourly ? 3 : u.width < 640 ? 360 : 180;
          return Array.from({ length: Math.ceil((hourly ? 24 : 1440) / step) }, (_, i) => i * step);
        },
        values: (_u, ticks) => ticks.map((t) => (hourly ? String(t) : formatMinuteOfDay(t))),
      },
      yAxis(),
    ],
    series: [
      { label: tz, value: (_u, v) => (v == null ? "–" : xLabel(v)) },
      {
        label: hourly ? "Requests per hour" : "Requests per minute",
        stroke: accent,
        fill: accent,
        width: 0,
        paths: uPlot.paths.bars?.({ size: hourly ? [0.8, 100] : [1, 100], gap: hourly ? 2 : 0 }),
        points: { show: false },
        value: (_u, v) => countValue(v),
      },
    ],
  };
}
