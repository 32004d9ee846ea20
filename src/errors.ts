/** Stable error codes: tests and operators match on these, never on message text. */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "USAGE"
  | "MESSAGE_INVALID"
  | "MIGRATION_FAILED"
  | "STORE_UNAVAILABLE"
  | "BAD_REQUEST"
  | "ROLLUP_UNAVAILABLE"
  | "INSTALL_FAILED";

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: ErrorOptions) {
    super(message, options);
    this.name = "AppError";
    this.code = code;
    this.details = details;
  }
}
