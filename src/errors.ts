/**
 * Every error code there is, with the HTTP status it is answered with and what it means. Tests and
 * operators match on codes, never on message text. `api: true` codes are answered by the HTTP API
 * (as `{error:{code,message,details}}`, or inside a stats result) and listed in its OpenAPI
 * document; the others end a CLI command, fail start-up or label a dead letter, and their status
 * only says what the API would answer should one ever reach it.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, api: true, meaning: "A parameter or the body is invalid; `details` names each problem." },
  ROLLUP_UNAVAILABLE: {
    status: 400,
    api: true,
    meaning: "The statistic cannot be answered from the per-minute rollup.",
  },
  INGEST_NOT_JSON: { status: 400, api: true, meaning: "The ingest body is not JSON." },
  INGEST_INVALID: {
    status: 400,
    api: true,
    meaning: "An ingested event is invalid; `details.issues` names each field.",
  },
  UNAUTHENTICATED: { status: 401, api: true, meaning: "Not logged in, or wrong token, user or password." },
  INGEST_KEY_MISSING: { status: 401, api: true, meaning: "No X-Footprint-Key was sent to the ingest endpoint." },
  INGEST_KEY_INVALID: { status: 401, api: true, meaning: "The X-Footprint-Key is not one of INGEST_KEYS." },
  NOT_FOUND: { status: 404, api: true, meaning: "No such route or asset." },
  INGEST_DISABLED: { status: 404, api: true, meaning: "The ingest endpoint is off: INGEST_KEYS is not set." },
  METHOD_NOT_ALLOWED: { status: 405, api: true, meaning: "The path exists but not for this method; see Allow." },
  PAYLOAD_TOO_LARGE: { status: 413, api: true, meaning: "The body is larger than INGEST_MAX_BYTES." },
  TOO_MANY_EVENTS: { status: 413, api: true, meaning: "More events in one request than INGEST_MAX_EVENTS." },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    api: true,
    meaning: "The body's Content-Type is not one the endpoint reads (application/json).",
  },
  TOO_MANY_ATTEMPTS: {
    status: 429,
    api: true,
    meaning: "Too many failed logins from this address, or for this account from any address; see Retry-After.",
  },
  INTERNAL: { status: 500, api: true, meaning: "An unexpected error; it is logged, its text is not answered." },
  HTTP_ERROR: { status: 500, api: true, meaning: "An error the HTTP framework raised, with its own status." },
  WEBSOCKET_NOT_PROXIED: { status: 501, api: true, meaning: "WebSocket upgrades are not proxied to the upstream." },
  UPSTREAM_UNAVAILABLE: { status: 502, api: true, meaning: "The proxied upstream site did not answer." },
  KAFKA_UNAVAILABLE: { status: 503, api: true, meaning: "Kafka did not acknowledge ingested events in time." },
  TOPIC_MISSING: {
    status: 503,
    api: true,
    meaning: "The Kafka topic (TOPIC) does not exist: run `eft-footprint migrate` to create it.",
  },
  STORE_UNAVAILABLE: { status: 503, api: true, meaning: "A store did not answer a stats query (per store result)." },
  SESSION_STORE_UNAVAILABLE: {
    status: 503,
    api: true,
    meaning:
      "PostgreSQL, which keeps dashboard sessions, did not answer: a session cannot be checked, started or ended.",
  },
  USAGE: { status: 400, api: false, meaning: "The command line is wrong (exit 2)." },
  CONFIG_INVALID: {
    status: 500,
    api: false,
    meaning: "The configuration is invalid; `details` lists every problem (exit 2).",
  },
  MIGRATION_FAILED: { status: 500, api: false, meaning: "A store's schema migration failed (exit 1)." },
  INSTALL_FAILED: { status: 500, api: false, meaning: "A step of install or uninstall failed (exit 1)." },
  PORT_IN_USE: { status: 500, api: false, meaning: "serve or consume cannot listen on its port (exit 1)." },
  SERVICE_UNREACHABLE: { status: 503, api: false, meaning: "A command cannot reach Kafka or a store (exit 1)." },
  MESSAGE_EMPTY: { status: 400, api: false, meaning: "A Kafka message has no value (dead-lettered)." },
  MESSAGE_TOO_LARGE: { status: 400, api: false, meaning: "A Kafka message is over 64 KiB (dead-lettered)." },
  MESSAGE_NOT_UTF8: { status: 400, api: false, meaning: "A Kafka message is not UTF-8 (dead-lettered)." },
  MESSAGE_NOT_JSON: { status: 400, api: false, meaning: "A Kafka message is not JSON (dead-lettered)." },
  MESSAGE_INVALID: { status: 400, api: false, meaning: "A Kafka message is not a valid footprint (dead-lettered)." },
  MESSAGE_REJECTED_BY_STORE: {
    status: 400,
    api: false,
    meaning: "A store refused a valid footprint for its content (dead-lettered by that store's group).",
  },
} as const satisfies Record<string, { status: number; api: boolean; meaning: string }>;

/** Stable error codes: tests and operators match on these, never on message text. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes the HTTP API answers with, in the order of the list. */
export const API_ERROR_CODES: readonly ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
  (code) => ERROR_CODES[code].api,
);

/** What the HTTP API answers for an error, and what a stats result holds for a store that failed. */
export type ErrorBody = { error: { code: ErrorCode; message: string; details?: unknown } };

export type AppErrorOptions = ErrorOptions & {
  /** Only for an error that carries its own status (HTTP_ERROR); otherwise the code's. */
  status?: number;
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  /** The HTTP status it is answered with. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: AppErrorOptions) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.details = details;
    this.status = options?.status ?? ERROR_CODES[code].status;
  }
}

/**
 * The JSON of an error: `details` only when there are some.
 *
 * @example
 * toErrorBody(new AppError("NOT_FOUND", "no asset x.js")) // { error: { code: "NOT_FOUND", message: "no asset x.js" } }
 */
export function toErrorBody(err: AppError): ErrorBody {
  const { code, message, details } = err;
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
