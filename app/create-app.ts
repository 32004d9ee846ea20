import { type Context, Hono } from "hono";
import { type AuthOptions, authRoutes, requireLogin } from "../routes/auth/index.ts";
import { dashboardRoutes } from "../routes/dashboard.ts";
import { demoSiteRoutes } from "../routes/demo-site.ts";
import { errorResponse, handleError } from "../routes/error-response.ts";
import { faviconRoutes } from "../routes/favicon.ts";
import { healthRoutes, type ReadinessCheck } from "../routes/health.ts";
import { INGEST_PATH, type IngestOptions, ingestRoutes } from "../routes/ingest.ts";
import { httpMetrics, metricsRoutes } from "../routes/metrics.ts";
import { openapiRoutes } from "../routes/openapi.ts";
import { proxyRoutes } from "../routes/proxy.ts";
import { securityHeaders } from "../routes/security-headers.ts";
import { statsRoutes } from "../routes/stats.ts";
import { AppError } from "../src/errors.ts";
import type { CapturedRequest } from "../src/footprint/capture.ts";
import { createIpHasher } from "../src/footprint/ip-hash.ts";
import type { FootprintEvent } from "../src/footprint/message.ts";
import { footprint, matchedRoute } from "../src/footprint/middleware.ts";
import { inferRoutePattern } from "../src/footprint/route-pattern.ts";
import type { Logger } from "../src/log.ts";
import type { Metrics } from "../src/metrics.ts";
import type { Store } from "../src/store/store.ts";
import { version } from "../src/version.ts";

export type AppDeps = {
  /** Takes each built footprint on the request thread (tests, the library path). */
  record?: (event: FootprintEvent) => unknown;
  /**
   * Takes what each request gave, unbuilt, instead of `record`: `serve` posts it to the capture
   * worker, which builds the footprint (and guesses proxied route patterns) off the request thread.
   */
  captureRequest?: (captured: CapturedRequest) => unknown;
  timeZone: string;
  skipPaths: readonly string[];
  stores: readonly Store[];
  checks: Record<string, ReadinessCheck>;
  logger: Logger;
  /** Our own pages and API live under this prefix (e.g. `/_footprint`) and are not recorded. */
  pathPrefix: string;
  /** Who may log in to our pages and API (everything under `pathPrefix` but the ingest endpoint). */
  auth: Omit<AuthOptions, "pathPrefix" | "publicPaths">;
  /** Mount the demo site's routes (for `serve --demo`). */
  demo?: boolean;
  /** Counts every request and serves `/metrics` (open, like the health checks). */
  metrics?: Metrics;
  /** Reverse-proxy mode and what a footprint carries (Config.capture); recording is on by default. */
  capture?: {
    /** Forward every request outside our own paths to this site (`serve --upstream`). */
    upstream?: string | undefined;
    record?: boolean;
    recordQuery?: boolean;
    trustProxyHops?: number;
    ipHashSecret?: string | undefined;
  };
  /** `POST {pathPrefix}/api/v1/footprints`; disabled (404 saying so) when absent or without keys. */
  ingest?: Omit<IngestOptions, "logger">;
};

export function createApp(deps: AppDeps): Hono {
  // Not strict: `/_footprint` and `/_footprint/` are the same page.
  const app = new Hono({ strict: false });
  const capture = deps.capture ?? {};
  if (deps.metrics) app.use(httpMetrics(deps.metrics));
  if (capture.record !== false) {
    app.use(
      footprint({
        record: deps.record,
        capture: deps.captureRequest,
        timeZone: deps.timeZone,
        skipPaths: [...deps.skipPaths, deps.pathPrefix, `${deps.pathPrefix}/*`],
        onError: (err) => deps.logger.error("footprint not recorded", { err }),
        recordQuery: capture.recordQuery ?? false,
        trustProxyHops: capture.trustProxyHops ?? 0,
        ipHash: createIpHasher({ secret: capture.ipHashSecret }),
        // A proxied path matched only the catch-all: its pattern is guessed from the path.
        routePattern: capture.upstream && !deps.captureRequest ? proxiedRoute : matchedRoute,
      }),
    );
  }
  // Health stays at the root: load balancers and systemd probe fixed paths.
  app.route("/", healthRoutes(deps.checks));
  if (deps.metrics) app.route("/", metricsRoutes(deps.metrics.registry));
  // Our pages and API only (401s and 404s included); never the proxied site's answers.
  app.use(`${deps.pathPrefix}/*`, securityHeaders());
  // Before every route under the prefix. The ingest endpoint checks its own key instead.
  const auth: AuthOptions = {
    logger: deps.logger,
    trustProxyHops: capture.trustProxyHops ?? 0,
    ...deps.auth,
    pathPrefix: deps.pathPrefix,
    publicPaths: [`${deps.pathPrefix}${INGEST_PATH}`],
  };
  app.use(requireLogin(auth));
  app.route("/", authRoutes(auth));
  app.route(deps.pathPrefix, dashboardRoutes({ pathPrefix: deps.pathPrefix, timeZone: deps.timeZone, version }));
  // Behind requireLogin above, like everything under the prefix.
  app.route(
    `${deps.pathPrefix}/api/v1/stats`,
    statsRoutes({
      stores: deps.stores,
      timeZone: deps.timeZone,
      logger: deps.logger.child({ component: "stats" }),
    }),
  );
  // The API's OpenAPI document and its docs page, behind the login like the API they describe.
  app.route(deps.pathPrefix, openapiRoutes(deps.pathPrefix));
  app.route(
    deps.pathPrefix,
    ingestRoutes({
      ...(deps.ingest ?? { keys: [], maxEvents: 1, maxBytes: 1, timeoutMs: 1, publish: async () => {} }),
      logger: deps.logger.child({ component: "ingest" }),
    }),
  );
  if (capture.upstream) {
    // Everything that is not ours is the site's; our prefix never reaches it, even where we 404.
    app.all(`${deps.pathPrefix}/*`, (c) => c.notFound());
    app.route("/", proxyRoutes({ upstream: capture.upstream, trustProxyHops: capture.trustProxyHops ?? 0 }));
  } else {
    // The root is ours: answer the browser's request for an icon (the site's own, when proxying).
    app.route("/", faviconRoutes());
    if (deps.demo) app.route("/", demoSiteRoutes());
    else app.get("/", (c) => c.redirect(`${deps.pathPrefix}/`));
  }

  app.notFound((c) => errorResponse(c, new AppError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError(handleError(deps.logger));
  return app;
}

function proxiedRoute(c: Context): string | undefined {
  const route = matchedRoute(c);
  return route && !route.includes("*") ? route : inferRoutePattern(c.req.path);
}
