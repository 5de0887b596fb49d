/**
 * The deployment files, checked by the tools their ecosystems use (built by scripts/go-tools from pinned
 * modules): the CI workflow by actionlint, the compose file by compose-go (the loader `docker compose`
 * runs, with the Compose Specification's schema). Then what those tools cannot know: the compose stack
 * is configured only through variables netsec declares, runs the commands the tests run outside
 * containers, and keeps its secrets out of the file; the Dockerfile keeps the rules of the image.
 * The image itself is built and run by scripts/test-container (in .ci/run).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { ENV_VARS } from "../../src/config/env.ts";
import { ROOT } from "../helpers/env.ts";

const TOOLS = join(ROOT, ".tools/bin");
const COMPOSE = join(ROOT, "compose.yaml");
const SECRETS = { NETSEC_API_TOKEN: "t0ken-for-the-test", S3_SECRET_KEY: "s3cret-for-the-test" };

function tool(name: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(join(TOOLS, name), args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  if (r.error) throw new Error(`${name} did not run (scripts/go-tools builds it): ${r.error.message}`);
  return r;
}

const Service = z.object({
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.unknown()).optional(),
  volumes: z.array(z.string()).optional(),
});
const Compose = z.object({
  services: z.record(z.string(), Service),
  volumes: z.record(z.string(), z.unknown()),
});

describe("CI workflow", () => {
  it("passes actionlint and runs the project's own CI script", () => {
    const r = tool("actionlint", [".github/workflows/ci.yml"]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
    const text = readFileSync(join(ROOT, ".github/workflows/ci.yml"), "utf8");
    expect(text).toContain("bash .ci/run");
    // pushes only on a version tag, with credentials from secrets, never written in the file
    expect(text).toMatch(/if: startsWith\(github\.ref, 'refs\/tags\/v'\)[\s\S]*push: true/);
    expect(text).toContain("secrets.REGISTRY_PASSWORD");
    expect(text).not.toMatch(/password:\s*['"]?[A-Za-z0-9]{8,}/);
  });
});

describe("compose.yaml", () => {
  it("is a valid Compose file (compose-go, with the schema) once its required secrets are set", () => {
    const r = tool("compose-check", [COMPOSE], SECRETS);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").map((l) => l.split("\t")[0])).toEqual(
      expect.arrayContaining(["netsec", "mongodb", "mlflow", "s3"]),
    );
  });

  it("refuses to start without the API token and the S3 secret (no default secrets)", () => {
    const r = tool("compose-check", [COMPOSE]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/required variable NETSEC_API_TOKEN is missing/);
    expect(r.stderr).toMatch(/required variable S3_SECRET_KEY is missing/);
    expect(readFileSync(COMPOSE, "utf8")).not.toContain(SECRETS.S3_SECRET_KEY);
  });

  it("configures netsec only through declared variables and runs the commands the tests run", () => {
    const c = Compose.parse(parse(readFileSync(COMPOSE, "utf8"), { merge: true }));
    const netsec = c.services.netsec!;
    expect(netsec.command).toEqual(["serve"]);
    expect(netsec.volumes).toContain("netsec-home:/data");
    const declared = new Set(Object.keys(ENV_VARS));
    // the AWS SDK's own variables are the standard way to reach S3-compatible storage
    const unknown = Object.keys(netsec.environment ?? {}).filter(
      (k) => !declared.has(k) && !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|ENDPOINT_URL|REGION)$/.test(k),
    );
    expect(unknown).toEqual([]);
    // MLflow as scripts/test-services starts it for the integration tests
    const testServices = readFileSync(join(ROOT, "scripts/test-services"), "utf8");
    for (const flag of ["--serve-artifacts", "--artifacts-destination", "--backend-store-uri"]) {
      expect(testServices).toContain(flag);
      expect(c.services.mlflow!.command!.some((a) => a.startsWith(flag))).toBe(true);
    }
    // SeaweedFS as scripts/test-services starts it for the S3 integration tests
    for (const flag of ["-filer", "-s3", "-s3.config", "-s3.port.iceberg=0", "-iam=false"]) {
      expect(testServices).toContain(flag);
      expect(c.services.s3!.command!.some((a) => a === flag || a.startsWith(`${flag}=`))).toBe(true);
    }
    // a named volume for each stateful service
    expect(Object.keys(c.volumes).sort()).toEqual(["mlflow-data", "mongodb-data", "netsec-home", "s3-data"]);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  const instr = (name: string): string[] =>
    text
      .replace(/\\\n/g, " ")
      .split("\n")
      .filter((l) => l.startsWith(`${name} `))
      .map((l) => l.slice(name.length + 1).trim());

  it("builds on debian:bookworm-slim in stages and runs netsec as a non-root user", () => {
    expect(text).toMatch(/^ARG BASE_IMAGE=debian:bookworm-slim$/m);
    const base = ["$", "{BASE_IMAGE}"].join(""); // the Dockerfile's own placeholder, not a template
    expect(instr("FROM")).toEqual([`${base} AS build`, base]);
    expect(instr("USER")).toEqual(["netsec"]);
    expect(instr("EXPOSE")).toEqual(["8000"]);
    expect(instr("VOLUME")).toEqual(['["/data"]']);
    expect(instr("ENTRYPOINT")).toEqual(['["node", "/app/bin/netsec.js"]']);
    expect(instr("CMD")).toEqual(['["serve"]']);
    expect(instr("HEALTHCHECK").join(" ")).toContain("/health/ready");
    // production packages only in the image; no secret baked into a layer
    expect(text).toContain("npm ci --omit=dev");
    expect(instr("ENV").join(" ")).not.toMatch(/TOKEN|PASSWORD|SECRET/);
  });
});
