import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import api from "./client/api.js" with { type: "text" };
import charts from "./client/charts.js" with { type: "text" };
import format from "./client/format.js" with { type: "text" };
import main from "./client/main.js" with { type: "text" };
import panels from "./client/panels.js" with { type: "text" };
import dashboardCss from "./dashboard.css" with { type: "text" };

export type Asset = { body: string; type: string; etag: string };

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/**
 * The page's scripts and styles by file name, embedded in the binary. The browser code is served
 * as written, unbundled: its modules import each other by these names.
 */
export const DASHBOARD_ASSETS: ReadonlyMap<string, Asset> = new Map(
  (
    [
      ["uplot.js", uplotJs, JS],
      ["uplot.css", uplotCss, CSS],
      ["dashboard.css", dashboardCss, CSS],
      ["main.js", main, JS],
      ["api.js", api, JS],
      ["charts.js", charts, JS],
      ["format.js", format, JS],
      ["panels.js", panels, JS],
    ] as const
  ).map(([name, body, type]) => [name, { body, type, etag: `"${Bun.hash(body).toString(36)}"` }]),
);
