/**
 * The site behind the proxy in the benches: a fixed small JSON answer with a Content-Length, as a
 * typical API gives. app/bench/proxy-upstream.ts serves it from a process of its own; the hot-path
 * bench serves it from the bench process, which is otherwise idle while wrk (a process of its own) runs.
 */
const body = JSON.stringify({
  id: 123,
  name: "ledx",
  price: 1_250_000,
  tags: ["medical", "rare"],
  text: "x".repeat(120),
});

export function startUpstreamSite() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response(body, { headers: { "content-type": "application/json" } }),
  });
}
