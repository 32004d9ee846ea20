import { describe, expect, test } from "bun:test";
import { inferRoutePattern } from "./route-pattern.ts";

describe("inferRoutePattern", () => {
  test.each([
    // [path, pattern]
    ["/", "/"],
    ["", ""],
    ["/items", "/items"],
    ["/items/", "/items/"],
    ["/items/123", "/items/:id"],
    ["/items/0", "/items/:id"],
    ["/users/42/orders/7", "/users/:id/orders/:id"],
    ["/orders/0190b2f8-3c4d-7e5f-8a9b-0c1d2e3f4a5b", "/orders/:uuid"],
    ["/orders/0190B2F8-3C4D-7E5F-8A9B-0C1D2E3F4A5B/items", "/orders/:uuid/items"],
    ["/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/jobs/:id"],
    ["/reports/2025-05-19", "/reports/:date"],
    ["/commits/3f2a9c1", "/commits/:hash"],
    ["/blobs/d41d8cd98f00b204e9800998ecf8427e", "/blobs/:hash"],
    ["/objects/507f1f77bcf86cd799439011", "/objects/:hash"],
    ["/s/aB3dE5fG7hJ9kL1mN3pQ5r", "/s/:token"],
    ["/sessions/eyJhbGciOiJIUzI1NiJ9_abc-123", "/sessions/:token"],
    // Words, slugs and versions stay: they name kinds of pages.
    ["/api/v1/items/ledx", "/api/v1/items/ledx"],
    ["/api/v2/graphics-card", "/api/v2/graphics-card"],
    ["/cafe/facade/deadbeef", "/cafe/facade/deadbeef"],
    ["/e2e/h264/mp3", "/e2e/h264/mp3"],
    ["/docs/getting-started-with-the-library", "/docs/getting-started-with-the-library"],
    ["/items/123.json", "/items/123.json"],
    ["/items/-1", "/items/-1"],
    ["//double//slash/9", "//double//slash/:id"],
  ])("%p → %p", (path, pattern) => {
    expect(inferRoutePattern(path)).toBe(pattern);
  });
});
