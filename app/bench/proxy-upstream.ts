/**
 * The site behind the proxy in app/bench/proxy.ts (app/bench/upstream-site.ts), served from its own
 * process so that it does not share an event loop with the proxy or the load generator. Prints its
 * port on stdout.
 */
import { startUpstreamSite } from "./upstream-site.ts";

const server = startUpstreamSite();
console.log(server.port);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
