/**
 * Where the library's failures go when the app gave no `onError`: a footprint that cannot be
 * recorded is never lost without a word, and a failure on every request does not flood the log.
 * Takes a message or an error (its message only, never a stack), and what else is known.
 */
export type ErrorReporter = (err: unknown, details?: Record<string, unknown>) => void;

export type ErrorReporterOptions = {
  /** At most one summary line per interval after the first failure's line. */
  intervalMs?: number;
  log?: (line: string) => void;
  /** Unix milliseconds. */
  now?: () => number;
  /** Runs `fn` once after `ms`; a timer that does not keep the process alive by default. */
  schedule?: (fn: () => void, ms: number) => void;
};

/**
 * The first failure is logged at once; later ones are counted and summed up in one line per
 * interval (how many, and the last one's message), written when the interval is over.
 *
 * @example
 * const report = createErrorReporter({ intervalMs: 10_000 });
 * app.use(footprint({ record: recorder.record, onError: report }));
 */
export function createErrorReporter(options: ErrorReporterOptions = {}): ErrorReporter {
  const intervalMs = options.intervalMs ?? 60_000;
  if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
  const log = options.log ?? ((line: string) => console.warn(line));
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? unrefTimeout;
  /** When the last line was written; -Infinity: nothing yet, the next failure is written at once. */
  let loggedAt = Number.NEGATIVE_INFINITY;
  let pending = 0;
  let last = "";
  let scheduled = false;

  const write = (line: string) => {
    loggedAt = now();
    try {
      log(line);
    } catch {
      // A failing log must not fail the request that reported.
    }
  };
  const summarize = () => {
    scheduled = false;
    if (pending === 0) return;
    const wait = loggedAt + intervalMs - now();
    if (wait > 0) {
      scheduled = true;
      schedule(summarize, wait);
      return;
    }
    const n = pending;
    pending = 0;
    write(`eft-footprint: ${n} more failure${n === 1 ? "" : "s"} in the last ${seconds(intervalMs)}; last: ${last}`);
  };

  return (err, details) => {
    try {
      last = describe(err, details);
      if (now() - loggedAt >= intervalMs && pending === 0) {
        write(`eft-footprint: ${last}`);
        return;
      }
      pending++;
      if (!scheduled) {
        scheduled = true;
        schedule(summarize, Math.max(0, loggedAt + intervalMs - now()));
      }
    } catch {
      // Reporting never throws into a request.
    }
  };
}

function unrefTimeout(fn: () => void, ms: number): void {
  const timer = setTimeout(fn, ms) as unknown as { unref?: () => void };
  timer.unref?.();
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** One line: the message, then `key=value` for plain details (an error by its message). */
function describe(err: unknown, details: Record<string, unknown> | undefined): string {
  let line = messageOf(err);
  for (const [key, value] of Object.entries(details ?? {})) {
    if (value === undefined) continue;
    const text =
      value instanceof Error
        ? messageOf(value)
        : typeof value === "object" && value !== null
          ? safeJson(value)
          : String(value);
    line += ` ${key}=${text}`;
  }
  return line.replaceAll("\n", " ");
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.name && err.name !== "Error" ? `${err.name}: ${err.message}` : err.message;
  return typeof err === "string" ? err : safeJson(err);
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}
