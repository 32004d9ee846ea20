import { Hono } from "hono";
import { AppError } from "../src/errors.ts";
import { DASHBOARD_ASSETS } from "./dashboard/assets.ts";
import { renderDashboardPage } from "./dashboard/page.ts";
import { answerAppError } from "./error-response.ts";

export type DashboardOptions = {
  /** Where the page lives (`/_footprint`); its assets and the stats API hang off it. */
  pathPrefix: string;
  /** The zone hours and weekdays are shown in until the viewer picks another (FOOTPRINT_TZ). */
  timeZone: string;
  version: string;
};

/**
 * `{prefix}/` — the traffic dashboard — and `{prefix}/assets/<name>`, its scripts and styles,
 * embedded in the binary (no CDN). Mount under the prefix, behind `requireLogin`.
 *
 * @example
 * app.route("/_footprint", dashboardRoutes({ pathPrefix: "/_footprint", timeZone: "Asia/Seoul", version }));
 */
export function dashboardRoutes(options: DashboardOptions): Hono {
  const page = renderDashboardPage(options);
  return new Hono()
    .onError(answerAppError)
    .get("/", (c) => {
      c.header("Cache-Control", "no-store");
      return c.html(page);
    })
    .get("/assets/:name", (c) => {
      const asset = DASHBOARD_ASSETS.get(c.req.param("name"));
      if (!asset) throw new AppError("NOT_FOUND", `no asset ${c.req.param("name")}`);
      // Revalidated on every load: a new binary's assets are picked up at once, unchanged ones cost a 304.
      c.header("Cache-Control", "no-cache");
      c.header("ETag", asset.etag);
      if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
      c.header("Content-Type", asset.type);
      return c.body(asset.body);
    });
}
