/**
 * The site behind the proxy in app/bench/proxy.ts: a fixed small JSON answer with a
 * Content-Length, as a typical API gives, served from its own process so that it does not share
 * an event loop with the proxy or the load generator. Prints its port on stdout.
 */
const body = JSON.stringify({
  id: 123,
  name: "ledx",
  price: 1_250_000,
  tags: ["medical", "rare"],
  text: "x".repeat(120),
});
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
});
console.log(server.port);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
