import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
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
    desktop = await browser.newContext({ viewport: { width: 1440, height: 1000 }, timezoneId: "Europe/Berlin" });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await pipeline?.stop();
  });

  /** A fresh browser context with a session (logged in through the session endpoint; its cookie is the context's). */
  const loggedInContext = async (options: Parameters<Browser["newContext"]>[0] = {}) => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, ...options });
    const res = await context.request.post(`${app.url}/_footprint/api/v1/session`, { data: { token: TOKEN } });
    if (res.status() !== 200) throw new Error(`login failed: HTTP ${res.status()}`);
    return context;
  };

  // Page-side code is given as strings: this file is type-checked without the DOM's types.
  const inPage = <T>(page: Page, expression: string) => page.evaluate(expression) as Promise<T>;
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
    await page.waitForFunction(`document.querySelectorAll("#top-bars .bar").length === 10`);
    const labels = await page.locator("#top-bars .bar .endpoint").allTextContents();
    const top = await api<{ results: { data: { rows: { endpoint: string }[] } }[] }>(`top?from=24h&limit=10`);
    expect(labels).toEqual(top.results[0]?.data.rows.map((r) => r.endpoint) ?? []);
    expect(labels[0]).toBe("/api/v1/area-a/:id");

    // Heatmap: 7 × 24 cells holding every footprint, in the same cells as the API says.
    await page.waitForFunction(`document.querySelectorAll("#heatmap .cell").length === 168`);
    const cells = await inPage<number[]>(
      page,
      `[...document.querySelectorAll("#heatmap .cell")].map((e) => Number(e.getAttribute("data-value")))`,
    );
    const heatmap = await api<{ results: { data: { cells: number[][] } }[] }>(`heatmap?from=24h`);
    expect(cells).toEqual(heatmap.results[0]?.data.cells.flat() ?? []);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(footprints.length);

    // Both stores answered every panel; each shows its own query time.
    await page.waitForFunction(`document.querySelectorAll("#panel-total .time").length === 2`);
    expect(await storeBadges(page, "total")).toEqual(["postgres", "clickhouse"]);
    expect(await storeBadges(page, "top")).toEqual(["postgres", "clickhouse"]);
    expect(await page.locator("#compare thead th").allTextContents()).toEqual([
      "Query",
      "PostgreSQL",
      "ClickHouse",
      "PostgreSQL ÷ ClickHouse",
    ]);
    // The charts were drawn (uPlot canvases) and the live count shows the last minute's five.
    expect(await page.locator(".chart canvas").count()).toBeGreaterThanOrEqual(2);
    await page.waitForFunction(`document.getElementById("live-count")?.textContent === "5"`);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-desktop.png"), fullPage: true });

    // ClickHouse only: one badge per panel, and the figures stay the same.
    await page.click('#stores button[data-store="clickhouse"]');
    await page.waitForFunction(
      `document.querySelectorAll("#panel-total .time.postgres").length === 0 && document.querySelectorAll("#panel-total .time.clickhouse").length === 1`,
    );
    expect(new URL(page.url()).searchParams.get("store")).toBe("clickhouse");
    expect(await page.getAttribute("#total-count", "data-count")).toBe(String(count));
    await page.click('#stores button[data-store="postgres"]');
    await page.waitForFunction(`document.querySelectorAll("#panel-top .time.clickhouse").length === 0`);
    expect(await storeBadges(page, "top")).toEqual(["postgres"]);
    await page.click('#stores button[data-store="both"]');
    await page.waitForFunction(`document.querySelectorAll("#panel-latency .time").length === 2`);
    expect(await storeBadges(page, "latency")).toEqual(["postgres", "clickhouse"]);

    // Time zone and period are the page's: the period line names the zone shown.
    expect(await page.textContent("#period")).toContain("Asia/Seoul (UTC+09:00)");
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
      await page.waitForFunction(`document.querySelectorAll("#top-bars .bar").length === 10`);
      await page.waitForFunction(`document.querySelectorAll("#heatmap .cell").length === 168`);
      await page.waitForFunction(`document.querySelectorAll(".chart canvas").length >= 2`);
      const overflow = await inPage<number>(page, "document.documentElement.scrollWidth - window.innerWidth");
      expect(overflow).toBeLessThanOrEqual(0);
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
    await context.close();
  }, 60_000);

  test("logging out ends the session", async () => {
    const context = await loggedInContext();
    const page = await context.newPage();
    await page.goto(`${app.url}/_footprint/`);
    await page.waitForSelector("#total-count[data-count]");
    await page.click("#logout");
    await page.waitForURL(/\/_footprint\/login/);
    const res = await page.request.get(`${app.url}/_footprint/api/v1/stats/total`);
    expect(res.status()).toBe(401);
    await context.close();
  }, 60_000);
});
