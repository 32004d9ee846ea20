import { createServer } from "node:net";

export const HOST = "127.0.0.1";

// Below Linux's ephemeral range (32768–60999), so a port the stack remembers is not later taken
// as the source port of some outgoing connection while the service is stopped.
const FIRST_PORT = 20_000;
const LAST_PORT = 32_000;

export function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen({ host: HOST, port, exclusive: true }, () => server.close(() => done(true)));
  });
}

/**
 * The remembered port when it is still free, else a random free one; `taken` holds ports already
 * handed out in this run, which are not listening yet and so would look free.
 */
export async function choosePort(remembered: number | undefined, taken: Set<number>): Promise<number> {
  // Claimed before the check: services choose their ports concurrently.
  const tryPort = async (port: number) => {
    if (taken.has(port)) return false;
    taken.add(port);
    if (await isPortFree(port)) return true;
    taken.delete(port);
    return false;
  };
  if (remembered !== undefined && (await tryPort(remembered))) return remembered;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT));
    if (await tryPort(port)) return port;
  }
  throw new Error(`no free port found on ${HOST} between ${FIRST_PORT} and ${LAST_PORT}`);
}
