/**
 * The icon of our pages: a small SVG, given inline to each page (`<link rel="icon">` as a data URL,
 * so no request is made and no login is needed), and answered at `/favicon.ico` where the root is
 * ours (no upstream site), so a browser's own request for it is not a 404 on every load.
 */
import { Hono } from "hono";

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f56b8"/>' +
  '<path d="M7 23V15M13 23V9M19 23V13M25 23V6" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/></svg>';

/** `<link rel="icon">` for a page's head. */
export const FAVICON_LINK = `<link rel="icon" type="image/svg+xml" href="data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}">`;

/** `GET /favicon.ico`: the SVG (browsers read an icon by its content type, not its name). */
export function faviconRoutes(): Hono {
  return new Hono().get("/favicon.ico", (c) => {
    c.header("Content-Type", "image/svg+xml");
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(FAVICON_SVG);
  });
}
