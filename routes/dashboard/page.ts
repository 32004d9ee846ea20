import { FAVICON_LINK } from "../favicon.ts";

/**
 * The dashboard page: a static shell; main.js fills it from the stats API. `timeZone` is the
 * server's (the footprints' zone), offered beside the viewer's own, which is shown first.
 */
export type DashboardPageOptions = { pathPrefix: string; timeZone: string; version: string };

export function renderDashboardPage(o: DashboardPageOptions): string {
  const assets = `${attr(o.pathPrefix)}/assets`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
<title>Traffic · eft-footprint</title>
${FAVICON_LINK}
<link rel="stylesheet" href="${assets}/uplot.css">
<link rel="stylesheet" href="${assets}/dashboard.css">
</head>
<body data-prefix="${attr(o.pathPrefix)}" data-server-tz="${attr(o.timeZone)}">
<header class="top">
  <h1>eft-footprint <span class="sub">traffic</span></h1>
  <div class="live" id="live" title="Requests in the last minute, refreshed with the page">
    <span class="dot"></span><span class="live-count" id="live-count">–</span><span class="live-label">in the last minute</span>
  </div>
  <div class="top-right">
    <label class="tz" title="Time zone of hours, weekdays and buckets">
      <span class="tz-label">Time zone</span>
      <select id="tz"></select>
    </label>
    <button type="button" class="link" id="logout">Log out</button>
  </div>
</header>

<main>
<form class="controls" id="controls" autocomplete="off" aria-label="What to show">
  <div class="group" role="group" aria-label="Period">
    <div class="seg" id="presets">
      <button type="button" data-preset="15m">15m</button>
      <button type="button" data-preset="1h">1h</button>
      <button type="button" data-preset="24h">24h</button>
      <button type="button" data-preset="7d">7d</button>
      <button type="button" data-preset="30d">30d</button>
      <button type="button" data-preset="custom">Custom</button>
    </div>
    <div class="custom" id="custom" hidden>
      <label>From <input type="datetime-local" id="custom-from" required></label>
      <label>To <input type="datetime-local" id="custom-to" required></label>
      <button type="button" id="custom-apply">Apply</button>
    </div>
  </div>
  <div class="group" role="group" aria-label="Store">
    <div class="seg" id="stores">
      <button type="button" data-store="postgres">PostgreSQL</button>
      <button type="button" data-store="clickhouse">ClickHouse</button>
      <button type="button" data-store="both">Both</button>
    </div>
  </div>
  <div class="group filters">
    <select id="f-method" aria-label="Method">
      <option value="">Any method</option>
      <option>GET</option><option>POST</option><option>PUT</option><option>PATCH</option>
      <option>DELETE</option><option>HEAD</option><option>OPTIONS</option>
    </select>
    <input id="f-route" type="search" placeholder="Route prefix, e.g. /api/v1/items" aria-label="Route prefix" spellcheck="false">
    <select id="f-status" aria-label="Status class">
      <option value="">Any status</option>
      <option>2xx</option><option>3xx</option><option>4xx</option><option>5xx</option>
    </select>
    <label class="check"><input type="checkbox" id="f-bots"> Exclude bots</label>
  </div>
  <div class="group refresh">
    <button type="button" id="pause" aria-pressed="false">Pause</button>
    <select id="refresh" aria-label="Refresh every">
      <option value="5">every 5 s</option><option value="10">every 10 s</option>
      <option value="30">every 30 s</option><option value="60">every 60 s</option>
    </select>
    <span class="updated" id="updated"></span>
  </div>
</form>
<p class="period" id="period"></p>
<p class="freshness" id="freshness" role="status" hidden></p>

<div class="grid">
  <section class="panel p-total" id="panel-total" aria-labelledby="h-total">
    <header><h2 id="h-total">Requests</h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <div class="body">
      <div class="big" id="total-count">–</div>
      <div class="delta" id="total-delta"></div>
    </div>
  </section>
  <section class="panel p-top" id="panel-top" aria-labelledby="h-top">
    <header><h2 id="h-top">Top 10 method + endpoint</h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <ol class="body bars" id="top-bars"></ol>
  </section>
  <section class="panel p-series" id="panel-timeseries" aria-labelledby="h-series">
    <header><h2 id="h-series">Requests over time <span class="note" id="series-bucket"></span></h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <div class="body chart" id="series-chart"></div>
  </section>
  <section class="panel p-heatmap" id="panel-heatmap" aria-labelledby="h-heatmap">
    <header><h2 id="h-heatmap">Weekday × hour</h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <div class="body heatmap" id="heatmap"></div>
  </section>
  <section class="panel p-tod" id="panel-time-of-day" aria-labelledby="h-tod">
    <header>
      <h2 id="h-tod">Time of day</h2>
      <div class="seg small" id="tod-view">
        <button type="button" data-view="hour">By hour</button>
        <button type="button" data-view="minute">By minute</button>
      </div>
      <div class="times"></div>
    </header>
    <div class="error" role="alert" hidden></div>
    <div class="body chart" id="tod-chart"></div>
  </section>
  <section class="panel p-status" id="panel-status" aria-labelledby="h-status">
    <header><h2 id="h-status">Status</h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <div class="body" id="status"></div>
  </section>
  <section class="panel p-latency" id="panel-latency" aria-labelledby="h-latency">
    <header><h2 id="h-latency">Latency by endpoint</h2><div class="times"></div></header>
    <div class="error" role="alert" hidden></div>
    <div class="body table-wrap"><table id="latency"><thead><tr><th>Endpoint</th><th>Requests</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section class="panel p-compare" id="panel-compare" aria-labelledby="h-compare">
    <header><h2 id="h-compare">Query time per store</h2></header>
    <div class="body table-wrap"><table id="compare"><caption>
      <b>query</b>: the database's own time for the panel's statistic — ClickHouse's elapsed time from its query summary, PostgreSQL's statement time on a connection held for it (no wait for one);
      <b>wall</b>: from the server asking the store to its answer, any wait included. Panels are asked one at a time, both stores at once; the ratio is of query times. On a narrow screen the wall times are in each badge's title.
    </caption><thead></thead><tbody></tbody></table></div>
  </section>
</div>
</main>
<footer class="foot">eft-footprint ${attr(o.version)} · figures from the stats API; a store's time is its database's own for that query, its wall time in the badge's title and the table</footer>
<script src="${assets}/uplot.js"></script>
<script type="module" src="${assets}/main.js"></script>
</body>
</html>
`;
}

function attr(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}
