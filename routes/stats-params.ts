/**
 * The stats API's query parameters: one zod schema, every problem reported at once with the
 * parameter it is about. See /tmp/stats-api-contract.md (the contract with the dashboard).
 */
import { z } from "zod";
import type { BucketKind, StatsFilters } from "../src/stats/index.ts";
import { autoBucket } from "../src/stats/index.ts";
import { type EpochMicros, parseTimestamp } from "../src/time.ts";
import { TimeZoneSchema } from "../src/time-schema.ts";

/** Presets for `from`: that long before `to` (default now). `1m` is the dashboard's live count. */
export const PRESETS = { "1m": 60, "15m": 900, "1h": 3600, "24h": 86_400, "7d": 604_800, "30d": 2_592_000 } as const;

const SECOND_US = 1_000_000;
const MAX_SPAN_DAYS = 400;
// Periods are kept to 2000–2099: every zone offset is a whole number of minutes there (the bucket
// arithmetic relies on it), and epoch minutes stay positive (integer division is floor).
const EARLIEST = Date.UTC(2000, 0, 1) * 1000;
const LATEST = Date.UTC(2100, 0, 1) * 1000;

const instant = z.string().transform((text, ctx) => {
  const micros = parseTimestamp(text);
  if (micros === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "must be an ISO-8601 time with an offset or Z, e.g. 2025-05-19T00:00:00+09:00",
    });
    return z.NEVER;
  }
  return micros;
});

/**
 * The stores cannot hold NUL (PostgreSQL refuses it in text) and no recorded route has a control
 * character or a lone surrogate, so such a filter is a bad request, not a store outage.
 */
function isPlainText(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return !/[\u0000-\u001f\u007f]/.test(text) && text.isWellFormed();
}

const presetNames = Object.keys(PRESETS).join(", ");

export const StatsParamsSchema = z.strictObject(
  {
    from: z
      .union([z.enum(Object.keys(PRESETS) as [keyof typeof PRESETS]), instant], {
        error: `must be a preset (${presetNames}) or an ISO-8601 time with an offset or Z`,
      })
      .default("24h"),
    to: instant.optional(),
    tz: TimeZoneSchema.optional(),
    store: z.enum(["postgres", "clickhouse", "both"], "must be postgres, clickhouse or both").default("both"),
    source: z.enum(["auto", "raw", "rollup"], "must be auto, raw or rollup").default("auto"),
    method: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, "must be an HTTP method such as GET")
      .optional(),
    route: z
      .string()
      .min(1, "must not be empty")
      .max(2048, "must be at most 2048 characters")
      .refine(isPlainText, "must be text without control characters (NUL, newline, …) or broken UTF-16")
      .optional(),
    status: z.enum(["2xx", "3xx", "4xx", "5xx"], "must be 2xx, 3xx, 4xx or 5xx").optional(),
    exclude_bots: z
      .enum(["true", "false"], "must be true or false")
      .default("false")
      .transform((v) => v === "true"),
    limit: z.coerce
      .number<string>("must be a whole number from 1 to 100")
      .int("must be a whole number from 1 to 100")
      .min(1, "must be a whole number from 1 to 100")
      .max(100, "must be a whole number from 1 to 100")
      .default(10),
    bucket: z.enum(["minute", "hour", "day"], "must be minute, hour or day").optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? "unknown parameter" : undefined) },
);

export type StatsParams = {
  from: EpochMicros;
  to: EpochMicros;
  timeZone: string;
  stores: ("postgres" | "clickhouse")[];
  source: "auto" | "raw" | "rollup";
  filters: StatsFilters;
  limit: number;
  /** Timeseries bucket: the `bucket` parameter, else chosen by the period's length. */
  bucket: BucketKind;
};

export type ParamProblem = { path: string; message: string };

/**
 * Validates the query string; `now` (epoch ms) anchors presets. Returns the parameters or every
 * problem found, each naming its parameter.
 */
export function parseStatsParams(
  query: Record<string, string>,
  defaults: { timeZone: string; now: number },
): { ok: true; params: StatsParams } | { ok: false; problems: ParamProblem[] } {
  const parsed = StatsParamsSchema.safeParse(query);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.flatMap((issue) =>
        issue.code === "unrecognized_keys"
          ? issue.keys.map((key) => ({ path: key, message: "unknown parameter" }))
          : [{ path: issue.path.join(".") || "query", message: issue.message }],
      ),
    };
  }
  const p = parsed.data;
  const problems: ParamProblem[] = [];
  const to = p.to ?? defaults.now * 1000;
  const from = typeof p.from === "number" ? p.from : to - PRESETS[p.from] * SECOND_US;
  if (to <= from) problems.push({ path: "to", message: "must be after from" });
  else if (to - from > MAX_SPAN_DAYS * 86_400 * SECOND_US) {
    problems.push({ path: "from", message: `the period may span at most ${MAX_SPAN_DAYS} days` });
  }
  if (from < EARLIEST || from >= LATEST) problems.push({ path: "from", message: "must be in the years 2000 to 2099" });
  if (to <= EARLIEST || to > LATEST) problems.push({ path: "to", message: "must be in the years 2000 to 2099" });
  if (problems.length) return { ok: false, problems };
  const filters: StatsFilters = { excludeBots: p.exclude_bots };
  if (p.method !== undefined) filters.method = p.method;
  if (p.route !== undefined) filters.route = p.route;
  if (p.status !== undefined) filters.status = p.status;
  return {
    ok: true,
    params: {
      from,
      to,
      timeZone: p.tz ?? defaults.timeZone,
      stores: p.store === "both" ? ["postgres", "clickhouse"] : [p.store],
      source: p.source,
      filters,
      limit: p.limit,
      bucket: p.bucket ?? autoBucket(from, to),
    },
  };
}
