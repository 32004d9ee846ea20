import { getLatencyPercentiles } from "./get-latency-percentiles.ts";
import { getStatusClasses } from "./get-status-classes.ts";
import { getTimeOfDay } from "./get-time-of-day.ts";
import { getTimeseries } from "./get-timeseries.ts";
import { getTopEndpoints } from "./get-top-endpoints.ts";
import { getTotalCount } from "./get-total-count.ts";
import { getWeekdayHeatmap } from "./get-weekday-heatmap.ts";

/**
 * Every statistic, by the name the stats API serves it under (`/api/v1/stats/<name>`) and the
 * bench reports it by.
 */
export const STATISTICS = {
  top: getTopEndpoints,
  total: getTotalCount,
  "time-of-day": getTimeOfDay,
  heatmap: getWeekdayHeatmap,
  timeseries: getTimeseries,
  status: getStatusClasses,
  latency: getLatencyPercentiles,
} as const;

export type StatisticName = keyof typeof STATISTICS;
