import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { validate } from "dockerfile-utils";
import { EnvSchema } from "../src/config.ts";

/**
 * What deploy/ and the Dockerfile ship, checked without a container engine (none runs here or in
 * CI): the Dockerfile with dockerfile-utils' validator (hadolint is neither a Debian package nor
 * reachable otherwise), the compose file with Debian's docker-compose `config`, and the settings
 * documented wherever an operator looks for them.
 */
const root = join(import.meta.dir, "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const variables = Object.keys(EnvSchema.shape);

describe("Dockerfile", () => {
  const text = read("Dockerfile");
  const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const finalStage = instructions.slice(instructions.findLastIndex((l) => l.startsWith("FROM ")));

  test("passes the Dockerfile validator", () => {
    expect(validate(text)).toEqual([]);
  });

  test("the validator does reject a broken Dockerfile", () => {
    const problems = validate("FROM x\nHEALTHCHECK --intervl=5s CMD true\nCOPY a\n").map((d) => d.message);
    expect(problems).toEqual(["Unknown flag: intervl", "COPY requires at least two arguments"]);
  });

  test("builds with Bun in one stage and runs the binary on a minimal base as non-root", () => {
    const froms = instructions.filter((l) => l.startsWith("FROM "));
    expect(froms).toHaveLength(2);
    expect(froms[0]).toMatch(/^FROM oven\/bun:1\.4\.4 AS build$/);
    expect(instructions.some((l) => l.includes("./compile.sh /out/eft-footprint"))).toBe(true);
    expect(finalStage[0]).toMatch(/^FROM gcr\.io\/distroless\/cc-debian12:nonroot$/);
    const user = finalStage.find((l) => l.startsWith("USER "));
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (0|root)\b/);
    expect(finalStage).toContain('ENTRYPOINT ["/usr/local/bin/eft-footprint"]');
    expect(finalStage).toContain('CMD ["serve"]');
  });

  test("HEALTHCHECK asks /healthz through the binary itself (the base has no curl)", () => {
    const healthcheck = finalStage.find((l) => l.startsWith("HEALTHCHECK "));
    expect(healthcheck).toMatch(/CMD \["\/usr\/local\/bin\/eft-footprint", "healthcheck"\]$/);
  });

  test(".dockerignore keeps the build context small and free of secrets", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const entry of [".git", "node_modules", "eft-footprint", ".env", "dist"]) expect(ignored).toContain(entry);
  });
});

describe("deploy/compose.yaml", () => {
  const text = read("deploy/compose.yaml");
  type Service = {
    image?: string;
    build?: unknown;
    command?: string[];
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition: string }>;
    healthcheck?: { disable?: boolean; test?: string[] };
    deploy?: { replicas?: number };
  };
  const compose = Bun.YAML.parse(text) as { services: Record<string, Service> };
  const { services } = compose;

  const composeConfig = (file: string) => {
    const r = Bun.spawnSync(["docker-compose", "-f", file, "config", "-q"], {
      env: { PATH: process.env.PATH ?? "" },
    });
    return { code: r.exitCode, err: r.stderr.toString() };
  };

  test("docker-compose config accepts it", () => {
    const r = composeConfig(join(root, "deploy/compose.yaml"));
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
  });

  test("docker-compose config does reject a broken copy", () => {
    const dir = mkdtempSync(join(tmpdir(), "eft-compose-"));
    try {
      const broken = text.replace("condition: service_healthy", "condition: service_is_up");
      writeFileSync(join(dir, "compose.yaml"), broken);
      const r = composeConfig(join(dir, "compose.yaml"));
      expect(r.code).not.toBe(0);
      expect(r.err).toContain("service_is_up");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("runs the production versions: Kafka 4 in KRaft mode, PostgreSQL 17, ClickHouse 25.4", () => {
    expect(services.kafka?.image).toMatch(/^apache\/kafka:4\./);
    expect(services.kafka?.environment?.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(services.postgres?.image).toBe("postgres:17");
    expect(services.clickhouse?.image).toBe("clickhouse/clickhouse-server:25.4");
  });

  test("serve and consume run the one image, after `migrate` made the topic and the schema on healthy stores", () => {
    const { serve, consume, migrate } = services;
    expect(serve?.image).toBe(consume?.image as string);
    expect(serve?.command).toEqual(["serve", "--no-consumer"]);
    expect(consume?.command).toEqual(["consume"]);
    expect(consume?.deploy?.replicas).toBeGreaterThan(1);
    // A consumer answers /healthz on METRICS_PORT (default 9464), not on serve's PORT.
    expect(consume?.healthcheck?.test).toEqual([
      "CMD",
      "/usr/local/bin/eft-footprint",
      "healthcheck",
      "--url",
      "http://127.0.0.1:9464/healthz",
    ]);
    for (const s of [serve, consume]) {
      expect(s?.depends_on).toEqual({ migrate: { condition: "service_completed_successfully" } });
    }
    expect(migrate?.image).toBe(serve?.image as string);
    expect(migrate?.command).toEqual(["migrate"]);
    expect(migrate?.depends_on).toEqual({
      kafka: { condition: "service_healthy" },
      postgres: { condition: "service_healthy" },
      clickhouse: { condition: "service_healthy" },
    });
  });

  test("every setting it gives eft-footprint is one eft-footprint knows", () => {
    for (const name of ["serve", "consume"]) {
      const unknown = Object.keys(services[name]?.environment ?? {}).filter((k) => !variables.includes(k));
      expect({ service: name, unknown }).toEqual({ service: name, unknown: [] });
    }
  });
});

describe("every setting is documented where an operator looks", () => {
  // A variable added to EnvSchema must be added to both: the configuration reference's tables
  // (docs/configuration.md) and the env template that `eft-footprint install` writes to
  // /etc/eft-footprint/env.
  test("deploy/eft-footprint.env (the installed env template) lists every variable", () => {
    const template = read("deploy/eft-footprint.env");
    const listed = new Set([...template.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    expect(variables.filter((v) => !listed.has(v))).toEqual([]);
  });

  test("docs/configuration.md's tables name every variable in their first column", () => {
    // Only a table row's first cell counts: a variable merely mentioned in prose is not documented.
    const named = new Set(
      read("docs/configuration.md")
        .split("\n")
        .filter((line) => line.startsWith("|"))
        .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1])),
    );
    expect(variables.filter((v) => !named.has(v))).toEqual([]);
  });
});

describe("README.md and docs/ link only within the repository", () => {
  const pages = [
    "README.md",
    ...readdirSync(join(root, "docs"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".md"))
      .map((f) => join("docs", f)),
  ];

  test.each(pages)("%s: every relative link names a file of the repository", (page) => {
    const text = read(page).replace(/```[\s\S]*?```/g, "");
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => (m[1] ?? "").split("#")[0] ?? "")
      .filter((target) => target && !/^https?:\/\//.test(target))
      .filter((target) => {
        const path = relative(root, join(root, dirname(page), target));
        return path.startsWith("..") || !existsSync(join(root, path));
      });
    expect(broken).toEqual([]);
  });
});
