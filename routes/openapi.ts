import { Hono } from "hono";
import { z } from "zod";
import { API_ERROR_CODES, ERROR_CODES } from "../src/errors.ts";
import { version } from "../src/version.ts";
import { SESSION_COOKIE } from "./auth/session.ts";
import { FAVICON_LINK } from "./favicon.ts";
import { INGEST_KEY_HEADER, INGEST_PATH, IngestEventSchema } from "./ingest.ts";
import { STATS_QUERIES, type StatsEndpoint } from "./stats.ts";
import { StatsParamsSchema } from "./stats-params.ts";

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

/**
 * What each stats parameter means: the zod schema (routes/stats-params.ts) gives names, types,
 * enums and defaults; the words are here. routes/openapi.test.ts fails when a parameter has none.
 */
export const STATS_PARAM_DOCS: Readonly<Record<string, string>> = {
  from: "Start of the period: a preset (1m, 15m, 1h, 24h, 7d, 30d: that long before `to`) or an ISO-8601 time with an offset or Z. Default 24h.",
  to: "End of the period (exclusive), ISO-8601 with an offset or Z. Default now.",
  tz: "IANA zone of the buckets (time of day, heatmap, timeseries). Default: the server's footprint zone (FOOTPRINT_TZ).",
  store:
    "Which store answers: postgres, clickhouse or both (asked at once, one result each with its own times; both compared up to the instant both hold).",
  source:
    "auto: the rollups (per day, hour and minute; the smallest family that holds what the statistic and its filters ask) where the period allows, else raw rows; raw or rollup to force one.",
  method: "Only requests with this HTTP method.",
  route: "Only this endpoint (route pattern, or the path when no pattern is known).",
  status: "Only responses of this status class.",
  exclude_bots: "true leaves out requests from known bots.",
  limit: "How many rows for top and latency.",
  bucket: "timeseries bucket size; default chosen from the period's length.",
};

const STATS_DOCS: Readonly<Record<StatsEndpoint, string>> = {
  top: "Top endpoints (method + route) by request count: the bar chart.",
  total: "Total requests in the period: the big number.",
  "time-of-day": "Requests per minute of the day, summed over the period's days: the time-of-day histogram.",
  heatmap: "Requests per weekday and hour.",
  timeseries: "Requests per bucket (minute, hour or day) across the period.",
  status: "Requests per status class (2xx … 5xx).",
  latency: "Duration percentiles per endpoint (raw rows only).",
};

/** One line per code the API answers with, from the one list of codes (src/errors.ts). */
const ERROR_CODE_DOCS = API_ERROR_CODES.map((code) => {
  const { status, meaning } = ERROR_CODES[code];
  return `- \`${code}\` (${status}): ${meaning}`;
}).join("\n");

const ErrorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          type: "string",
          enum: [...API_ERROR_CODES],
          description: `Stable: match on it, never on the message.\n${ERROR_CODE_DOCS}`,
        },
        message: { type: "string" },
        details: { description: "Per-field problems ({path, message}) or other context." },
      },
    },
  },
};

const INSTANT = { type: "string", description: "ISO-8601 in the answer's zone, e.g. 2025-05-19T12:00:00.000+09:00" };

const StatsResponseSchema: JsonSchema = {
  type: "object",
  required: ["endpoint", "period", "results"],
  properties: {
    endpoint: { type: "string" },
    period: {
      type: "object",
      description:
        "What the answers cover, [from, to). With both stores asked, `to` may be earlier than asked: the instant both hold (see `freshness`).",
      properties: { from: INSTANT, to: INSTANT, tz: { type: "string" } },
    },
    freshness: {
      type: "object",
      description:
        "Only when both stores are asked: each store's newest footprint in the period asked and, when one is behind the other (its consumer a batch behind), by how much. The answers are compared up to the instant both hold, so they differ only where the stores do.",
      required: ["requested_to", "newest", "behind"],
      properties: {
        requested_to: { ...INSTANT, description: "The end of the period as asked." },
        newest: {
          type: "object",
          description: "Per store, its newest footprint in the period asked; null when it holds none there.",
          additionalProperties: { type: ["string", "null"] },
        },
        behind: {
          type: ["object", "null"],
          description: "null when neither store is behind.",
          required: ["store", "ahead", "seconds", "events"],
          properties: {
            store: { type: "string", enum: ["postgres", "clickhouse"], description: "The store that is behind." },
            ahead: { type: "string", enum: ["postgres", "clickhouse"] },
            seconds: {
              type: ["number", "null"],
              description: "Between the two stores' newest footprints; null when `store` holds none of the period yet.",
            },
            events: {
              type: ["integer", "null"],
              description: "Footprints of the period `ahead` holds after the newest of `store` (null: not counted).",
            },
          },
        },
      },
    },
    results: {
      type: "array",
      description:
        "One per store asked, PostgreSQL first; `data` or `error`. The stores are asked at once; each one's times are its own.",
      items: {
        type: "object",
        required: ["store", "source", "ms", "query_ms"],
        properties: {
          store: { type: "string", enum: ["postgres", "clickhouse"] },
          source: { type: "string", enum: ["raw", "rollup"] },
          ms: {
            type: "number",
            description:
              "Wall time in milliseconds: from asking the store to its answer, any wait included (for a pool connection, in a busy server's queue).",
          },
          query_ms: {
            type: ["number", "null"],
            description:
              "The database's own time for this statistic, in milliseconds: ClickHouse's elapsed time from its query summary (X-ClickHouse-Summary elapsed_ns, ClickHouse 23.9 and later), PostgreSQL's statement time on a connection held for it (no wait for one). null when the store did not say.",
          },
          data: { description: "The statistic; its shape depends on the endpoint." },
          error: { $ref: "#/components/schemas/Error/properties/error" },
        },
      },
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** Served without a login: probes and scrapers reach them with no credentials. */
const OPEN: readonly Record<string, string[]>[] = [];

/**
 * No licence is granted by the repository (package.json is private and names none); the document
 * says so rather than implying one. Change it here when the project picks a licence.
 */
const LICENSE = { name: "UNLICENSED (no licence granted)" };

/** JSON Schema of a zod schema as its callers send it (before transforms), without `$schema`. */
function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas the routes validate
 * with, so it cannot drift from what they accept.
 */
export function buildOpenApiDocument(pathPrefix: string): Record<string, unknown> {
  const params = inputSchema(StatsParamsSchema);
  const parameters = Object.entries(params.properties ?? {}).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    description: STATS_PARAM_DOCS[name],
    schema,
  }));
  const stats = Object.fromEntries(
    (Object.keys(STATS_QUERIES) as StatsEndpoint[]).map((endpoint) => [
      `${pathPrefix}/api/v1/stats/${endpoint}`,
      {
        get: {
          tags: ["stats"],
          operationId: `stats-${endpoint}`,
          summary: STATS_DOCS[endpoint],
          security: [{ session: [] }, { token: [] }],
          parameters,
          responses: {
            200: {
              description: "At least one store answered.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/StatsResponse" } } },
            },
            400: errorResponse("A parameter is invalid; `details` names each one."),
            401: errorResponse("Not logged in."),
            503: {
              description: "No store answered.",
              content: { "application/json": { schema: { $ref: "#/components/schemas/StatsResponse" } } },
            },
          },
        },
      },
    ]),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "eft-footprint",
      version,
      description:
        "Records every request of a web service through Kafka into PostgreSQL and ClickHouse, and serves traffic statistics from either. Errors are JSON `{error:{code,message,details}}`.",
      license: LICENSE,
    },
    // Relative: the document's own server, whatever host or port it is reached on; paths hold PATH_PREFIX.
    servers: [{ url: "/", description: "The server this document is served by." }],
    paths: {
      "/healthz": {
        get: {
          tags: ["health"],
          operationId: "healthz",
          summary: "The process is alive (for restarts).",
          security: OPEN,
          responses: { 200: { description: "`{status: ok}`" } },
        },
      },
      "/readyz": {
        get: {
          tags: ["health"],
          operationId: "readyz",
          summary: "Every dependency answers (for load balancers); names each one that does not.",
          security: OPEN,
          responses: { 200: { description: "Ready." }, 503: { description: "Not ready: `checks` says which." } },
        },
      },
      "/metrics": {
        get: {
          tags: ["health"],
          operationId: "metrics",
          summary: "Every metric of the process in Prometheus text format (when metrics are on).",
          security: OPEN,
          responses: {
            200: {
              description: "Prometheus exposition format.",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      [`${pathPrefix}${INGEST_PATH}`]: {
        post: {
          tags: ["ingest"],
          operationId: "ingest-footprints",
          summary: "Send footprints without a Kafka client: one event or an array, all or nothing.",
          description:
            "The same schema the consumer applies to Kafka messages, strict: an unknown field is a 400. 202 means Kafka acknowledged every event (acks=all). Disabled (404) unless INGEST_KEYS is set.",
          security: [{ ingestKey: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  oneOf: [
                    { $ref: "#/components/schemas/Footprint" },
                    { type: "array", items: { $ref: "#/components/schemas/Footprint" } },
                  ],
                },
              },
            },
          },
          responses: {
            202: {
              description: "Kafka acknowledged every event.",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      accepted: { type: "integer" },
                      event_ids: { type: "array", items: { type: "string", format: "uuid" } },
                    },
                  },
                },
              },
            },
            400: errorResponse("Not JSON, or an event is invalid; `details` names each field."),
            401: errorResponse("No or an unknown X-Footprint-Key."),
            404: errorResponse("The endpoint is disabled (no INGEST_KEYS)."),
            405: errorResponse("Not POST (`Allow: POST`)."),
            413: errorResponse("Larger than INGEST_MAX_BYTES."),
            415: errorResponse("Not sent as `Content-Type: application/json`."),
            503: errorResponse("Kafka did not acknowledge in time; `details.event_ids` lets a retry not count twice."),
          },
        },
      },
      ...stats,
    },
    components: {
      schemas: {
        Footprint: inputSchema(IngestEventSchema),
        StatsResponse: StatsResponseSchema,
        Error: ErrorSchema,
      },
      securitySchemes: {
        session: { type: "apiKey", in: "cookie", name: SESSION_COOKIE, description: "After the login form." },
        token: { type: "http", scheme: "bearer", description: "DASHBOARD_TOKEN." },
        ingestKey: { type: "apiKey", in: "header", name: INGEST_KEY_HEADER, description: "One of INGEST_KEYS." },
      },
    },
  };
}

/**
 * `GET {prefix}/api/openapi.json` and a docs page `GET {prefix}/api/docs` (with its stylesheet
 * `GET {prefix}/api/docs.css`), rendered here from the document (no script, nothing fetched from
 * elsewhere: the binary works offline).
 */
export function openapiRoutes(pathPrefix: string): Hono {
  const document = buildOpenApiDocument(pathPrefix);
  const page = renderDocsPage(document, `${pathPrefix}/api/openapi.json`, `${pathPrefix}/api/docs.css`);
  return new Hono()
    .get("/api/openapi.json", (c) => c.json(document))
    .get("/api/docs", (c) => c.html(page))
    .get("/api/docs.css", (c) => {
      c.header("Content-Type", "text/css; charset=utf-8");
      return c.body(DOCS_CSS);
    });
}

/** The docs page's style: served, not inline, so the pages' CSP needs no 'unsafe-inline'. */
const DOCS_CSS = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{font:13px ui-monospace,monospace}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.m{background:#246;color:#fff;border-radius:3px;padding:0 .4rem;font-size:13px}section{margin:2rem 0}
`;

type Operation = {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  responses?: Record<string, { description: string }>;
};

function renderDocsPage(document: Record<string, unknown>, jsonUrl: string, cssUrl: string): string {
  const paths = document.paths as Record<string, Record<string, Operation>>;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const rows = (op.parameters ?? [])
        .map(
          (p) =>
            `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? ", required" : ""}</td><td><code>${esc(typeOf(p.schema))}</code></td><td>${esc(p.description ?? "")}</td></tr>`,
        )
        .join("");
      const responses = Object.entries(op.responses ?? {})
        .map(([status, r]) => `<li><code>${esc(status)}</code> ${esc(r.description)}</li>`)
        .join("");
      return `<section><h2><span class="m">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h2>
<p>${esc(op.summary ?? "")}</p>${op.description ? `<p>${esc(op.description)}</p>` : ""}
${rows ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>${rows}</table>` : ""}
<ul>${responses}</ul></section>`;
    }),
  );
  const info = document.info as { title: string; version: string; description: string };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)} API</title>
${FAVICON_LINK}
<link rel="stylesheet" href="${esc(cssUrl)}"></head>
<body><main><h1>${esc(info.title)} API <small>${esc(info.version)}</small></h1><p>${esc(info.description)}</p>
<p>Machine-readable: <a href="${esc(jsonUrl)}">${esc(jsonUrl)}</a> (OpenAPI 3.1).</p>${sections.join("\n")}</main></body></html>`;
}

function typeOf(schema: JsonSchema | undefined): string {
  if (!schema) return "";
  if (Array.isArray(schema.enum)) return (schema.enum as unknown[]).join(" | ");
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(" | ");
  return String(schema.type ?? "");
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
