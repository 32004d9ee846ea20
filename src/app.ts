import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { demoSiteRoutes } from "../routes/demo-site.ts";
import { healthRoutes, type ReadinessCheck } from "../routes/health.ts";
import { overviewRoutes } from "../routes/overview.ts";
import { type AuthOptions, authRoutes, requireLogin } from "./auth/index.ts";
import type { FootprintEvent } from "./footprint/event.ts";
import { footprint } from "./footprint/middleware.ts";
import type { Logger } from "./log.ts";
import type { Store } from "./store/store.ts";

export type AppDeps = {
  record: (event: FootprintEvent) => unknown;
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
};

export function createApp(deps: AppDeps): Hono {
  // Not strict: `/_footprint` and `/_footprint/` are the same page.
  const app = new Hono({ strict: false });
  app.use(
    footprint({
      record: deps.record,
      timeZone: deps.timeZone,
      skipPaths: [...deps.skipPaths, deps.pathPrefix, `${deps.pathPrefix}/*`],
      onError: (err) => deps.logger.error("footprint not recorded", { err }),
    }),
  );
  // Health stays at the root: load balancers and systemd probe fixed paths.
  app.route("/", healthRoutes(deps.checks));
  // Before every route under the prefix. The ingest endpoint checks its own key instead.
  const auth: AuthOptions = {
    logger: deps.logger,
    ...deps.auth,
    pathPrefix: deps.pathPrefix,
    publicPaths: [`${deps.pathPrefix}/api/v1/footprints`],
  };
  app.use(requireLogin(auth));
  app.route("/", authRoutes(auth));
  app.route(deps.pathPrefix, overviewRoutes(deps.stores, deps.pathPrefix));
  if (deps.demo) app.route("/", demoSiteRoutes());
  else app.get("/", (c) => c.redirect(`${deps.pathPrefix}/`));

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return c.json({ error: { code: "HTTP_ERROR", message: err.message } }, err.status);
    }
    deps.logger.error("request failed", { err, method: c.req.method, path: c.req.path });
    return c.json({ error: { code: "INTERNAL", message: "internal error" } }, 500);
  });
  return app;
}
