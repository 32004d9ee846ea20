import { Hono } from "hono";
import { AppError } from "../src/errors.ts";
import { answerAppError } from "./error-response.ts";

/**
 * A stand-in for the site being recorded (the old system's game wiki API), mounted by
 * `serve --demo` so the demo traffic has real routes, statuses and latencies to record.
 */
export function demoSiteRoutes(): Hono {
  const items = ["bitcoin", "ledx", "gpu", "salewa", "graphics-card", "moonshine", "tetriz"];
  // Its errors are answered like ours (a named code), so every answer of `serve --demo` is one shape.
  return new Hono()
    .onError(answerAppError)
    .get("/api/v1/items", (c) => c.json({ items }))
    .get("/api/v1/items/:id", (c) => {
      const id = c.req.param("id");
      if (!items.includes(id)) throw new AppError("NOT_FOUND", `no such item: ${id}`);
      return c.json({ id });
    })
    .get("/api/v1/quests", (c) => c.json({ quests: 42 }))
    .get("/api/v1/quests/:id", (c) => c.json({ id: c.req.param("id") }))
    .get("/api/v1/traders/:name", (c) => c.json({ name: c.req.param("name") }))
    .get("/api/v1/maps/:map", (c) => c.json({ map: c.req.param("map") }))
    .get("/api/v1/search", async (c) => {
      await Bun.sleep(5 + Math.random() * 20); // a slower endpoint, for the latency figures
      return c.json({ q: c.req.query("q") ?? "" });
    })
    .post("/api/v1/auth/login", () => {
      throw new AppError("UNAUTHENTICATED", "bad credentials");
    })
    .post("/api/v1/comments", (c) => c.json({ ok: true }, 201));
}
