import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { formatZoned } from "../src/time.ts";
import {
  type PipelineBinary,
  type PipelineResources,
  type RunningBinary,
  repoRoot,
  startPipelineBinary,
} from "../test/support/binary.ts";
import { waitFor } from "../test/support/wait-for.ts";

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the compiled
 * binary on the real stack: known footprints go through Kafka into both stores, then a person logs
 * in and sees the same figures the API gives. Screenshots land in test-artifacts/ (git-ignored).
 * Chromium is installed by scripts/install-chromium, which scripts/test runs.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(repoRoot, "test-artifacts");
const TOKEN = "browser-test-token-0123456789";
const USER = "operator";
const PASSWORD = "correct horse battery";
const TZ = "Asia/Seoul";
/** The browser's own zone: the dashboard shows it unless the server's (TZ above) is picked. */
const VIEWER_TZ = "Europe/Berlin";
const AXE_SOURCE = readFileSync(join(repoRoot, "node_modules/axe-core/axe.min.js"), "utf8");

/**
 * Closes a context whose page has routes. A route callback still running when the context closes
 * fails as an unhandled error, which bun test then blames on whichever test runs next.
 */
async function closeRouted(page: Page, context: BrowserContext): Promise<void> {
  await page.unrouteAll({ behavior: "ignoreErrors" });
  await context.close();
}

/**
 * 12 method + endpoint pairs with distinct counts (40, 37, … 7: 282 footprints), spread over the
 * last 20 hours so the heatmap and histograms have several hours; a few in the last minute.
 */
function knownFootprints(nowMs: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let n = 0;
  for (let i = 0; i < 12; i++) {
    const method = i % 4 === 3 ? "POST" : "GET";
    const route = `/api/v1/area-${String.fromCharCode(97 + i)}/:id`;
    for (let k = 0; k < 40 - 3 * i; k++, n++) {
      // The first five are in the last minute (the live count); the rest 2 min to 20 h ago.
      const agoMs = n < 5 ? 5_000 + n * 1000 : 120_000 + ((n * 257_000) % (20 * 3_600_000));
      out.push({
        method,
        link: route.replace(":id", String(k)),
        route,
        footprint_time: formatZoned((nowMs - agoMs) * 1000, TZ),
        event_id: crypto.randomUUID(),
        status: n % 10 === 0 ? 500 : n % 7 === 0 ? 404 : 200,
        duration_ms: 1 + (n % 50),
      });
    }
  }
  return out;
}

type TotalResponse = { results: { store: string; data?: { count: number } }[] };

describe("dashboard in a browser (compiled binary, real stack)", () => {
  let pipeline: PipelineBinary | undefined;
  let topic: PipelineResources["topic"];
  let app: RunningBinary;
  let browser: Browser;
  let desktop: BrowserContext;
  const footprints = knownFootprints(Date.now());

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${app.url}/_footprint/api/v1/stats/${path}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run ./scripts/install-chromium (scripts/test does)`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    pipeline = await startPipelineBinary(["serve"], {
      FOOTPRINT_TZ: TZ,
      DASHBOARD_TOKEN: TOKEN,
      DASHBOARD_USER: USER,
      DASHBOARD_PASSWORD: PASSWORD,
    });
    ({ app } = pipeline);
    topic = pipeline.resources.topic;

    const producer = new Kafka({ brokers: topic.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: topic.topic, messages: footprints.map((f) => ({ value: JSON.stringify(f) })) });
    await producer.disconnect();
    await waitFor(
      "every footprint in both stores, as the stats API counts them",
      () => api<TotalResponse>(`total?from=24h&store=both`),
      (r) => r.results.length === 2 && r.results.every((x) => x.data?.count === footprints.length),
      90_000,
      250,
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    desktop = await browser.newContext({ viewport: { width: 1440, height: 1000 }, timezoneId: VIEWER_TZ });
    watchCsp(desktop);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await pipeline?.stop();
  });

  /**
   * What the browser refused under the pages' Content-Security-Policy (it says so on the console),
   * from every page of every context: the last test expects none.
   */
  const cspViolations: string[] = [];
  const watchCsp = (target: BrowserContext | Page) => {
    target.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(`${msg.location().url}: ${msg.text()}`);
    });
  };
  /** A page of its own context with no session, watched for CSP violations. */
  const anonymousPage = async () => {
    const page = await browser.newPage();
    watchCsp(page);
    return page;
  };

  /** A fresh browser context with a session (logged in through the session endpoint; its cookie is the context's). */
  const loggedInContext = async (options: Parameters<Browser["newContext"]>[0] = {}) => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, ...options });
    watchCsp(context);
    const res = await context.request.post(`${app.url}/_footprint/api/v1/session`, { data: { token: TOKEN } });
    if (res.status() !== 200) throw new Error(`login failed: HTTP ${res.status()}`);
    return context;
  };

  // Page-side code is given as strings: this file is type-checked without the DOM's types.
  const inPage = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;
  /**
   * Until `expression` is true in the page. Not page.waitForFunction: that evaluates the string from
   * within the page, which the pages' CSP (no 'unsafe-eval') refuses; page.evaluate is not the page's.
   */
  const waitInPage = (page: Page, expression: string) =>
    waitFor(expression, () => inPage<boolean>(page, expression), Boolean, 30_000, 50);
  const storeBadges = (page: Page, panel: string) =>
    inPage<string[]>(
      page,
      `[...document.querySelectorAll("#panel-${panel} .times .time")].map((e) => e.className.replace("time ", ""))`,
    );

  test("log in, see the API's total, the top-10 bars and the heatmap; toggle the store", async () => {
    const page = await desktop.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (err) => pageErrors.push(err.message));

    // Not logged in: the dashboard sends us to the login form.
    await page.goto(`${app.url}/_footprint/`);
    expect(new URL(page.url()).pathname).toBe("/_footprint/login");
    await page.fill('input[name="user"]', USER);
    await page.fill('input[name="password"]', "wrong password");
    await page.click('button[type="submit"]');
    await page.waitForSelector('[role="alert"]');
    expect(await page.textContent('[role="alert"]')).toContain("Wrong");
    await page.fill('input[name="user"]', USER);
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${app.url}/_footprint/`);

    // The big number is the API's total for the same period, store and zone.
    await page.waitForSelector("#total-count[data-count]");
    const apiTotal = await api<TotalResponse>(`total?from=24h&tz=${encodeURIComponent(TZ)}&store=both`);
    const count = apiTotal.results[0]?.data?.count;
    expect(count).toBe(footprints.length);
    expect(await page.getAttribute("#total-count", "data-count")).toBe(String(count));
    expect(await page.textContent("#total-count")).toBe(count?.toLocaleString("en-US") ?? "");

    // Top 10: ten bars, in the API's order.
    await waitInPage(page, `document.querySelectorAll("#top-bars .bar").length === 10`);
    const labels = await page.locator("#top-bars .bar .endpoint").allTextContents();
    const top = await api<{ results: { data: { rows: { endpoint: string }[] } }[] }>(`top?from=24h&limit=10`);
    expect(labels).toEqual(top.results[0]?.data.rows.map((r) => r.endpoint) ?? []);
    expect(labels[0]).toBe("/api/v1/area-a/:id");

    // Heatmap: 7 × 24 cells holding every footprint, in the same cells as the API says.
    await waitInPage(page, `document.querySelectorAll("#heatmap .cell").length === 168`);
    const cells = await inPage<number[]>(
      page,
      `[...document.querySelectorAll("#heatmap .cell")].map((e) => Number(e.getAttribute("data-value")))`,
    );
    const heatmap = await api<{ results: { data: { cells: number[][] } }[] }>(
      `heatmap?from=24h&tz=${encodeURIComponent(VIEWER_TZ)}`,
    );
    expect(cells).toEqual(heatmap.results[0]?.data.cells.flat() ?? []);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(footprints.length);

    // Both stores answered every panel; each shows its own query time.
    await waitInPage(page, `document.querySelectorAll("#panel-total .time").length === 2`);
    expect(await storeBadges(page, "total")).toEqual(["postgres", "clickhouse"]);
    expect(await storeBadges(page, "top")).toEqual(["postgres", "clickhouse"]);
    // Each badge is the database's own time for the query; the table has it beside the wall time.
    const queryMs = await inPage<(string | null)[]>(
      page,
      `[...document.querySelectorAll("#panel-total .times .time")].map((e) => e.getAttribute("data-query-ms"))`,
    );
    expect(queryMs).toEqual([expect.stringMatching(/^\d+(\.\d+)?$/), expect.stringMatching(/^\d+(\.\d+)?$/)]);
    await waitInPage(page, `document.querySelectorAll("#compare thead th").length === 6`);
    expect(await page.locator("#compare thead th").allTextContents()).toEqual([
      "Query",
      "PostgreSQL query",
      "PostgreSQL wall",
      "ClickHouse query",
      "ClickHouse wall",
      "PostgreSQL ÷ ClickHouse",
    ]);
    expect(await page.textContent("#compare caption")).toContain("ClickHouse's elapsed time from its query summary");
    // The charts were drawn (uPlot canvases) and the live count shows the last minute's five.
    expect(await page.locator(".chart canvas").count()).toBeGreaterThanOrEqual(2);
    await waitInPage(page, `document.getElementById("live-count")?.textContent === "5"`);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });

    // ClickHouse only: one badge per panel, and the figures stay the same.
    await page.click('#stores button[data-store="clickhouse"]');
    await waitInPage(
      page,
      `document.querySelectorAll("#panel-total .time.postgres").length === 0 && document.querySelectorAll("#panel-total .time.clickhouse").length === 1`,
    );
    expect(new URL(page.url()).searchParams.get("store")).toBe("clickhouse");
    expect(await page.getAttribute("#total-count", "data-count")).toBe(String(count));
    await page.click('#stores button[data-store="postgres"]');
    await waitInPage(page, `document.querySelectorAll("#panel-top .time.clickhouse").length === 0`);
    expect(await storeBadges(page, "top")).toEqual(["postgres"]);
    await page.click('#stores button[data-store="both"]');
    await waitInPage(page, `document.querySelectorAll("#panel-latency .time").length === 2`);
    expect(await storeBadges(page, "latency")).toEqual(["postgres", "clickhouse"]);

    // The viewer's zone by default; the server's (footprint) zone is offered and can be picked.
    expect(await page.inputValue("#tz")).toBe(VIEWER_TZ);
    expect(await page.textContent("#period")).toContain(VIEWER_TZ);
    expect(await page.locator("#tz option").allTextContents()).toContainEqual(
      expect.stringMatching(/^Asia\/Seoul \(UTC\+09:00\) · server$/),
    );
    await page.selectOption("#tz", TZ);
    await waitInPage(page, `document.getElementById("period")?.textContent?.includes("Asia/Seoul (UTC+09:00)")`);
    expect(new URL(page.url()).searchParams.get("tz")).toBe(TZ);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 120_000);

  test("on a phone the page fits the screen", async () => {
    const phone = await loggedInContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    try {
      const page = await phone.newPage();
      await page.goto(`${app.url}/_footprint/?tod=minute`);
      await waitInPage(page, `document.querySelectorAll("#top-bars .bar").length === 10`);
      await waitInPage(page, `document.querySelectorAll("#heatmap .cell").length === 168`);
      await waitInPage(page, `document.querySelectorAll(".chart canvas").length >= 2`);
      const overflow = await inPage<number>(page, "document.documentElement.scrollWidth - window.innerWidth");
      expect(overflow).toBeLessThanOrEqual(0);
      // The latency table is not cut: it fits its box (the endpoint wraps), on screen.
      await waitInPage(page, `document.querySelectorAll("#latency tbody tr").length === 10`);
      const latency = await inPage<{ fits: boolean; boxRight: number; viewport: number }>(
        page,
        `(() => {
          const table = document.getElementById("latency");
          const box = table.closest(".table-wrap");
          const clipped = [...document.querySelectorAll("#panel-latency, #panel-latency *")].some((e) => {
            if (e === box || box.contains(e) || !e.contains(box)) return false;
            const s = getComputedStyle(e);
            return s.overflowX !== "visible" && e.scrollWidth > e.clientWidth;
          });
          return {
            fits: table.getBoundingClientRect().width <= box.clientWidth + 0.5 && !clipped,
            boxRight: box.getBoundingClientRect().right,
            viewport: window.innerWidth,
          };
        })()`,
      );
      // All five columns in view: a sideways scroll with no cue reads as a table cut off.
      expect(latency).toMatchObject({ fits: true });
      expect(latency.boxRight).toBeLessThanOrEqual(latency.viewport);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    } finally {
      await phone.close();
    }
  }, 60_000);

  test("a store that fails is shown on each panel; the other store's figures stay", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    const failed = { code: "STORE_UNAVAILABLE", message: "clickhouse: connection refused" };
    // The real answers, with ClickHouse's part replaced by an error; the heatmap as if both were down.
    await page.route("**/api/v1/stats/top?*", async (route) => {
      const body = (await (await route.fetch()).json()) as { results: Record<string, unknown>[] };
      body.results = body.results.map((r) =>
        r.store === "clickhouse" ? { store: "clickhouse", ms: 2.5, error: failed } : r,
      );
      await route.fulfill({ json: body });
    });
    await page.route("**/api/v1/stats/heatmap?*", (route) =>
      route.fulfill({
        status: 503,
        json: {
          endpoint: "heatmap",
          period: { from: "2025-05-19T00:00:00.000+09:00", to: "2025-05-20T00:00:00.000+09:00", tz: TZ },
          results: [
            { store: "postgres", ms: 1, error: { code: "STORE_UNAVAILABLE", message: "postgres: timeout" } },
            { store: "clickhouse", ms: 1, error: failed },
          ],
        },
      }),
    );
    await page.goto(`${app.url}/_footprint/?refresh=0`);
    await page.waitForSelector("#panel-top .time.clickhouse.failed");
    expect(await page.locator("#top-bars .bar").count()).toBe(10);
    expect(await page.textContent("#panel-top .error")).toContain(
      "ClickHouse: STORE_UNAVAILABLE — clickhouse: connection refused",
    );
    await page.waitForSelector("#panel-heatmap .error:not([hidden])");
    expect(await page.textContent("#panel-heatmap .error")).toContain(
      "PostgreSQL: STORE_UNAVAILABLE — postgres: timeout",
    );
    // The other panels are untouched.
    await page.waitForSelector("#total-count[data-count]");
    expect(await page.getAttribute("#total-count", "data-count")).toBe(String(footprints.length));
    expect(await page.isHidden("#panel-status .error")).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-store-down.png"), fullPage: true });
    await closeRouted(page, context);
  }, 60_000);

  test("the page asks for one panel at a time: no store ever has two of its queries in flight", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    let inFlight = 0;
    let most = 0;
    let asked = 0;
    await page.route("**/api/v1/stats/**", async (route) => {
      inFlight++;
      asked++;
      most = Math.max(most, inFlight);
      const response = await route.fetch();
      inFlight--;
      await route.fulfill({ response });
    });
    await page.goto(`${app.url}/_footprint/?refresh=0`);
    // Seven panels and the live count.
    await waitInPage(page, `document.body.dataset.rounds === "1"`);
    expect({ asked, most }).toEqual({ asked: 8, most: 1 });
    await closeRouted(page, context);
  }, 60_000);

  test("one store a batch behind: the page says how far, not that the stores differ; a real difference is named", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    type Body = { period: { to: string }; freshness?: unknown; results: { store: string; data?: { count: number } }[] };
    // The real answers, as if ClickHouse were 2.5 s and 40 events behind and had not written them yet.
    await page.route("**/api/v1/stats/total?*", async (route) => {
      const body = (await (await route.fetch()).json()) as Body;
      body.freshness = {
        requested_to: body.period.to,
        newest: { postgres: body.period.to, clickhouse: body.period.to },
        behind: { store: "clickhouse", ahead: "postgres", seconds: 2.5, events: 40 },
      };
      for (const r of body.results) if (r.store === "clickhouse" && r.data) r.data.count -= 1;
      await route.fulfill({ json: body });
    });
    // Top: neither behind, and still different answers: a real difference.
    await page.route("**/api/v1/stats/top?*", async (route) => {
      const body = (await (await route.fetch()).json()) as Body & {
        results: { store: string; data?: { rows: unknown[] } }[];
      };
      for (const r of body.results) if (r.store === "clickhouse" && r.data) r.data.rows = r.data.rows.slice(1);
      await route.fulfill({ json: body });
    });
    await page.goto(`${app.url}/_footprint/?refresh=0`);
    await page.waitForSelector("#freshness:not([hidden])");
    expect(await page.textContent("#freshness")).toStartWith(
      "ClickHouse is 2.5 s and 40 events behind PostgreSQL: both are shown up to ",
    );
    expect(await page.textContent("#panel-total .times .lag")).toBe("ClickHouse catching up");
    expect(await page.locator("#panel-total .time.differ").count()).toBe(0);
    await page.waitForSelector("#panel-top .time.differ");
    expect(await page.locator("#panel-top .lag").count()).toBe(0);
    await closeRouted(page, context);
  }, 60_000);

  test("a 24 h view whose traffic all falls in the current hour draws its newest bucket inside the chart", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    // The real answer with every bucket emptied but the newest: all traffic in this very hour.
    await page.route("**/api/v1/stats/timeseries?*", async (route) => {
      const body = (await (await route.fetch()).json()) as {
        results: { data?: { bucket: string; points: { t: string; count: number }[] } }[];
      };
      for (const r of body.results) {
        const points = r.data?.points ?? [];
        points.forEach((p, i) => {
          p.count = i === points.length - 1 ? 120 : 0;
        });
      }
      await route.fulfill({ json: body });
    });
    await page.goto(`${app.url}/_footprint/?refresh=0`);
    await waitInPage(page, `document.getElementById("series-bucket")?.textContent === "per hour"`);
    // Pixels of the series' colour (the accent, a saturated blue) on the chart's canvas.
    const drawn = await inPage<number>(
      page,
      `(() => {
        const canvas = document.querySelector("#series-chart canvas");
        const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 200 && data[i + 2] - data[i] > 100) n++;
        return n;
      })()`,
    );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-current-hour.png") });
    expect(drawn).toBeGreaterThan(100);
    await closeRouted(page, context);
  }, 60_000);

  test("no page load asks for something that is not there (favicon included)", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    const missing: string[] = [];
    page.on("response", (res) => {
      if (res.status() >= 400) missing.push(`${res.status()} ${new URL(res.url()).pathname}`);
    });
    for (const path of ["/_footprint/?refresh=0", "/_footprint/api/docs"]) {
      await page.goto(`${app.url}${path}`, { waitUntil: "networkidle" });
    }
    const anonymous = await anonymousPage();
    anonymous.on("response", (res) => {
      if (res.status() >= 400) missing.push(`${res.status()} ${new URL(res.url()).pathname}`);
    });
    await anonymous.goto(`${app.url}/_footprint/login`, { waitUntil: "networkidle" });
    expect(missing).toEqual([]);
    const favicon = await fetch(`${app.url}/favicon.ico`);
    expect(favicon.status === 204 || favicon.headers.get("content-type")?.startsWith("image/")).toBe(true);
    await anonymous.close();
    await context.close();
  }, 60_000);

  test("axe-core: no serious or critical violation on the dashboard, the login page and the API docs", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    type Violation = { id: string; impact: string; nodes: { target: string[] }[] };
    const audit = async (p: Page) => {
      // Evaluated, not added as an inline <script>: the pages' CSP refuses inline scripts.
      await inPage(p, AXE_SOURCE);
      const result = await inPage<{ violations: Violation[] }>(p, "axe.run(document)");
      return result.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical" || v.id === "region")
        .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    };
    await page.goto(`${app.url}/_footprint/?refresh=0`);
    await waitInPage(page, `document.querySelectorAll("#latency tbody tr").length === 10`);
    await waitInPage(page, `document.querySelectorAll("#panel-total .time").length === 2`);
    expect(await audit(page)).toEqual([]);
    await page.goto(`${app.url}/_footprint/api/docs`);
    expect(await audit(page)).toEqual([]);
    const anonymous = await anonymousPage();
    await anonymous.goto(`${app.url}/_footprint/login`);
    expect(await audit(anonymous)).toEqual([]);
    await anonymous.goto(`${app.url}/_footprint/login?next=%2F_footprint%2F`);
    await anonymous.fill('input[name="password"]', "wrong");
    await anonymous.click('button[type="submit"]');
    await anonymous.waitForSelector('[role="alert"]');
    expect(await audit(anonymous)).toEqual([]);
    await anonymous.close();
    await context.close();
  }, 90_000);

  test("logging out ends the session", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/_footprint/`);
    await page.waitForSelector("#total-count[data-count]");
    const cookie = (await context.cookies(`${app.url}/_footprint/`)).map((c) => `${c.name}=${c.value}`).join("; ");
    // Each ask on a fresh connection and bounded, asked again until answered: one of these hung
    // now and then in CI (never here), and a test's timeout takes the browser down with it.
    const totalStatus = (want: number) =>
      waitFor(
        `GET stats/total with the session's cookie to answer ${want}`,
        async () =>
          (
            await fetch(`${app.url}/_footprint/api/v1/stats/total`, {
              headers: { cookie },
              keepalive: false,
              signal: AbortSignal.timeout(3000),
            }).catch(() => undefined)
          )?.status,
        (status) => status === want,
        20_000,
        100,
      );
    await totalStatus(200);
    // The page asks the server to end the session, then goes to the login page. A panel answered
    // 401 meanwhile goes there too, and one navigation aborts the other: what is checked is that the
    // session was ended and the login page asked for, not which navigation won.
    const seen = { ended: undefined as number | undefined, loginAsked: false };
    page.on("response", (r) => {
      if (r.url().endsWith("/api/v1/session") && r.request().method() === "DELETE") seen.ended = r.status();
    });
    page.on("request", (r) => {
      if (r.isNavigationRequest() && /\/_footprint\/login/.test(r.url())) seen.loginAsked = true;
    });
    await page.click("#logout");
    await waitFor(
      "the DELETE of the session answered and the login page asked for",
      async () => seen,
      (s) => s.ended !== undefined && s.loginAsked,
      20_000,
      50,
    );
    expect(seen.ended).toBe(204);
    // The session's cookie is refused from now on, whoever still holds it.
    await totalStatus(401);
    await context.close();
  }, 60_000);

  test("no page broke its Content-Security-Policy (which is enforced, and whose breaches are seen)", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    const res = await page.goto(`${app.url}/_footprint/?refresh=0`);
    expect(res?.headers()["content-security-policy"]).toContain("style-src 'self'");
    await page.waitForSelector("#total-count[data-count]");
    const before = [...cspViolations];
    // The check itself: an inline style set now is refused, and the console says so.
    await inPage(page, `document.body.setAttribute("style", "outline: 1px solid red")`);
    await waitFor(
      "the browser to report the inline style it refused",
      async () => cspViolations.length,
      (n) => n > before.length,
      10_000,
    );
    expect(await inPage<string>(page, "getComputedStyle(document.body).outlineStyle")).toBe("none");
    expect(before).toEqual([]);
    await context.close();
  }, 60_000);
});
