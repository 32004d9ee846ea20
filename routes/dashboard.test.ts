import { describe, expect, test } from "bun:test";
import { dashboardRoutes } from "./dashboard.ts";

const app = () => dashboardRoutes({ pathPrefix: "/_footprint", timeZone: "Asia/Seoul", version: "1.2.3" });

describe("dashboardRoutes", () => {
  test("the page carries the prefix, the server's zone and the version, and loads only our own assets", async () => {
    const res = await app().request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain('<body data-prefix="/_footprint" data-server-tz="Asia/Seoul">');
    expect(html).toContain("eft-footprint 1.2.3");
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual([
      expect.stringMatching(/^data:image\/svg\+xml,/), // the icon, inline: no request, no 404
      "/_footprint/assets/uplot.css",
      "/_footprint/assets/dashboard.css",
      "/_footprint/assets/uplot.js",
      "/_footprint/assets/main.js",
    ]);
    // Every element the script looks up by id exists on the page.
    const main = await (await app().request("/assets/main.js")).text();
    const ids = new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]));
    const wanted = [...main.matchAll(/\$\("([a-z-]+)"\)/g)].map((m) => m[1]);
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.filter((id) => !ids.has(id))).toEqual([]);
  });

  test.each([
    ["main.js", "text/javascript"],
    ["format.js", "text/javascript"],
    ["uplot.js", "text/javascript"],
    ["dashboard.css", "text/css"],
    ["uplot.css", "text/css"],
  ])("asset %s is served as %s and revalidated by ETag", async (name, type) => {
    const res = await app().request(`/assets/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith(type);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const etag = res.headers.get("etag") ?? "";
    expect((await res.text()).length).toBeGreaterThan(500);
    const again = await app().request(`/assets/${name}`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  test("the browser modules import only each other, by the names they are served under", async () => {
    for (const name of ["main.js", "api.js", "charts.js", "format.js", "panels.js"]) {
      const text = await (await app().request(`/assets/${name}`)).text();
      for (const [, spec] of text.matchAll(/^import[^"]*"([^"]+)"/gm)) {
        expect(spec).toMatch(/^\.\/[a-z]+\.js$/);
        expect((await app().request(`/assets/${spec?.slice(2)}`)).status).toBe(200);
      }
    }
  });

  test("an unknown asset is a JSON 404", async () => {
    const res = await app().request("/assets/nope.js");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "no asset nope.js" } });
  });
});
