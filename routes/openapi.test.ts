import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { API_ERROR_CODES } from "../src/errors.ts";
import { FIELD_MAX_LENGTH } from "../src/footprint/message.ts";
import { createMemoryLogger } from "../src/log.ts";
import { buildOpenApiDocument, openapiRoutes, STATS_PARAM_DOCS } from "./openapi.ts";
import { statsRoutes } from "./stats.ts";
import { StatsParamsSchema } from "./stats-params.ts";

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { parameters?: { name: string; description?: string }[] }>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
};

const doc = buildOpenApiDocument("/_footprint") as unknown as Doc;

describe("OpenAPI document", () => {
  test("is OpenAPI 3.1 and describes exactly the stats endpoints the router serves", () => {
    expect(doc.openapi).toBe("3.1.0");
    const served = statsRoutes({ stores: [], timeZone: "UTC", logger: createMemoryLogger() })
      .routes.filter((r) => r.method === "GET")
      .map((r) => `/_footprint/api/v1/stats${r.path}`)
      .sort();
    const documented = Object.keys(doc.paths)
      .filter((p) => p.startsWith("/_footprint/api/v1/stats/"))
      .sort();
    expect(documented).toEqual(served);
    expect(Object.keys(doc.paths)).toContain("/_footprint/api/v1/footprints");
    expect(Object.keys(doc.paths)).toContain("/healthz");
  });

  test("stats parameters come from the zod schema, each with a description", () => {
    const names = Object.keys(StatsParamsSchema.shape).sort();
    const params = doc.paths["/_footprint/api/v1/stats/top"]?.get?.parameters ?? [];
    expect(params.map((p) => p.name).sort()).toEqual(names);
    expect(params.filter((p) => !p.description).map((p) => p.name)).toEqual([]);
    expect(Object.keys(STATS_PARAM_DOCS).sort()).toEqual(names);
  });

  test("the ingest body is the consumer's message schema: the seed's three fields are required", () => {
    const footprint = doc.components.schemas.Footprint;
    expect(footprint?.required?.sort()).toEqual(["footprint_time", "link", "method"]);
    expect(Object.keys(footprint?.properties ?? {})).toContain("event_id");
  });

  test("the Error schema's codes are the list's API codes, and every code a route answers with is among them", () => {
    const error = doc.components.schemas.Error?.properties?.error as { properties: { code: { enum: string[] } } };
    const documented = error.properties.code.enum;
    expect(documented).toEqual([...API_ERROR_CODES]);
    const used = codesAnsweredByRoutes();
    expect(used).toContain("INGEST_KEY_INVALID");
    expect(used.filter((code) => !documented.includes(code))).toEqual([]);
  });

  test("the ingest body documents the message's length limits", () => {
    type Property = { maxLength?: number; anyOf?: Property[] };
    const properties = (doc.components.schemas.Footprint?.properties ?? {}) as Record<string, Property>;
    // A nullable field is `anyOf: [{type: "string", maxLength}, {type: "null"}]`.
    const maxLength = (p: Property | undefined) => p?.maxLength ?? p?.anyOf?.[0]?.maxLength;
    const documented = Object.fromEntries(Object.keys(FIELD_MAX_LENGTH).map((k) => [k, maxLength(properties[k])]));
    expect(documented).toEqual({ ...FIELD_MAX_LENGTH });
    expect(FIELD_MAX_LENGTH).toMatchObject({ link: 8192, host: 255, user_agent: 2048 });
  });

  test("credentials are security schemes: the ingest key, the login's cookie and the bearer token", () => {
    const full = buildOpenApiDocument("/_footprint") as {
      paths: Record<string, Record<string, { security?: unknown; parameters?: { in: string }[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(full.components.securitySchemes).toMatchObject({
      ingestKey: { type: "apiKey", in: "header", name: "X-Footprint-Key" },
      session: { type: "apiKey", in: "cookie", name: "eft_session" },
      token: { type: "http", scheme: "bearer" },
    });
    const ingest = full.paths["/_footprint/api/v1/footprints"]?.post;
    expect(ingest?.security).toEqual([{ ingestKey: [] }]);
    expect(ingest?.parameters ?? []).toEqual([]);
    for (const open of ["/healthz", "/readyz", "/metrics"]) expect(full.paths[open]?.get?.security).toEqual([]);
  });

  test("every operation has an operationId, unique, and a server and licence are named", () => {
    const full = buildOpenApiDocument("/_footprint") as {
      servers: unknown[];
      info: { license?: { name: string } };
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ids = Object.values(full.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(full.servers.length).toBeGreaterThan(0);
    expect(full.info.license?.name).toEqual(expect.any(String));
  });

  test("Redocly's lint (recommended rules) finds no error; warnings are printed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "eft-openapi-"));
    try {
      const file = join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(buildOpenApiDocument("/_footprint")));
      const cli = resolve(import.meta.dir, "../node_modules/@redocly/cli/bin/cli.js");
      // Run with Bun itself: no Node.js needed on the machine; no telemetry, no update check.
      const lint = Bun.spawn([process.execPath, cli, "lint", "--format=json", file], {
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", CI: "true" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = await new Response(lint.stdout).text();
      await lint.exited;
      const report = JSON.parse(out.slice(out.indexOf("{"))) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
      };
      const describe = (p: (typeof report.problems)[number]) =>
        `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`;
      for (const p of report.problems.filter((p) => p.severity !== "error")) console.log(`redocly: ${describe(p)}`);
      expect(report.problems.filter((p) => p.severity === "error").map(describe)).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  test("is served as JSON under the prefix", async () => {
    const routes = openapiRoutes("/x");
    expect(await (await routes.request("/api/openapi.json")).json()).toEqual(buildOpenApiDocument("/x"));
  });
});

/**
 * Every code written in routes/ and in createApp, as `new AppError("X"` or `code: "X"`: found in
 * the source, so a route that answers with a code the list does not mark `api` fails the test.
 */
function codesAnsweredByRoutes(): string[] {
  const root = resolve(import.meta.dir, "..");
  const files = [...new Bun.Glob("routes/**/*.ts").scanSync({ cwd: root })].filter((f) => !f.endsWith(".test.ts"));
  const codes = new Set<string>();
  for (const file of [...files, "app/create-app.ts"]) {
    const text = readFileSync(join(root, file), "utf8");
    for (const m of text.matchAll(/new AppError\(\s*"([A-Z_]+)"|\bcode: "([A-Z_]+)"/g))
      codes.add((m[1] ?? m[2]) as string);
  }
  return [...codes].sort();
}
