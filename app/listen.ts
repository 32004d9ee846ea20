import { AppError } from "../src/errors.ts";

export type ListenOptions = {
  hostname: string;
  port: number;
  fetch: (request: Request) => Response | Promise<Response>;
  /** The settings that choose the address, named in the message: "HOST and PORT". */
  settings: { host: string; port: string };
};

/**
 * Bun.serve, where an address that cannot be had is one line saying what to change (Bun throws
 * "Failed to start server. Is port 8080 in use?" with a trace and a source excerpt).
 */
export function listen(options: ListenOptions): ReturnType<typeof Bun.serve> {
  const { hostname, port, fetch, settings } = options;
  try {
    return Bun.serve({ hostname, port, fetch });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const where = `port ${port} on ${hostname}`;
    const cause = { cause: err };
    if (code === "EADDRINUSE") {
      throw new AppError(
        "PORT_IN_USE",
        `${where} is in use: set ${settings.port} or stop the other process`,
        undefined,
        cause,
      );
    }
    if (code === "EACCES") {
      throw new AppError(
        "PORT_IN_USE",
        `${where} needs privileges this process lacks: set ${settings.port} to 1024 or above`,
        undefined,
        cause,
      );
    }
    if (code === "EADDRNOTAVAIL") {
      throw new AppError(
        "PORT_IN_USE",
        `${hostname} is not an address of this host: set ${settings.host} (0.0.0.0 listens on all)`,
        undefined,
        cause,
      );
    }
    throw err;
  }
}
