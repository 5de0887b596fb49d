/**
 * Damaged serving state: a champion whose bundle no longer loads is replaced by the previous good
 * version (with a warning readiness repeats), and a damaged registry.json is a clear 4xx/503 naming
 * the file — never a 500 — and a clear error for the CLI.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { NetsecError } from "../../src/core/errors.ts";
import { registryModelSource } from "../../src/serve/model-holder.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";
import { fitFixturePredictor } from "./fixtures/predictor.ts";
import { makeApp } from "./helpers.ts";

const tmp = tempDir("netsec-fallback-");
afterAll(tmp.cleanup);
const made = new Map<string, Predictor>();
beforeAll(async () => {
  for (const v of ["netsec-phishing:1", "netsec-phishing:2", "netsec-phishing:3"])
    made.set(v, await fitFixturePredictor({ version: v }));
});

const meta = {
  run_id: "r",
  model: "naive_bayes_fixture",
  dataset: "phishing",
  score_name: "f1",
  score: 0.9,
  test_data_sha256: "x",
  metrics: {},
  tags: {},
};

/** A registry with versions 1..3: 1 then 3 were champions (3 is now), 2 never was. */
function registry(home: string): ModelRegistry {
  const reg = new ModelRegistry(home);
  const bundle = join(home, "bundle");
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, "bundle.json"), "{}");
  for (let i = 0; i < 3; i++) reg.addVersion("netsec-phishing", bundle, meta);
  reg.setAlias("netsec-phishing", "champion", 1, "first");
  reg.setAlias("netsec-phishing", "champion", 3, "better");
  return reg;
}

describe("a champion whose bundle no longer loads", () => {
  it("falls back to the previous champion, with a warning that /health/ready repeats (no server path)", async () => {
    const home = join(tmp.dir, "fb");
    const reg = registry(home);
    expect(reg.fallbacks("netsec-phishing", 3)).toEqual([1, 2]);
    const loads: string[] = [];
    const source = registryModelSource(reg, async (dir, version) => {
      loads.push(version);
      if (version.endsWith(":3"))
        throw new Error(`cannot read ${join(dir, "model.json")}: unexpected end of JSON`);
      return made.get(version)!;
    });
    const t = await makeApp(null, { models: source, home });
    try {
      expect(loads.slice(0, 2)).toEqual(["netsec-phishing:3", "netsec-phishing:1"]);
      expect(t.app.netsec.holder.current()?.version).toBe("netsec-phishing:1");
      const ready = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({
        status: "ready",
        model_version: "netsec-phishing:1",
        message: expect.stringMatching(
          /champion netsec-phishing:3 does not load .*model\.json.*serving the previous good version netsec-phishing:1/,
        ),
      });
      expect(ready.body).not.toContain(home);
      expect(t.logs.join("")).toMatch(/serving the previous good version/);
    } finally {
      await t.close();
    }
  });

  it("with no earlier version that loads: not ready, saying why", async () => {
    const home = join(tmp.dir, "none");
    const reg = registry(home);
    const source = registryModelSource(reg, async () => {
      throw new Error("bundle.json is truncated");
    });
    const t = await makeApp(null, { models: source, home });
    try {
      const ready = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().message).toMatch(/loading netsec-phishing:3: bundle\.json is truncated/);
    } finally {
      await t.close();
    }
  });
});

describe("a damaged registry.json", () => {
  const home = join(tmp.dir, "corrupt");
  const file = join(home, "registry", "netsec-phishing", "registry.json");
  beforeAll(() => {
    registry(home);
    writeFileSync(file, '{"name": "netsec-phishing", "versions": [');
  });

  it("ModelRegistry: STATE_CORRUPT naming the file and what to do", () => {
    const reg = new ModelRegistry(home);
    let err: unknown;
    try {
      reg.resolve("champion");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetsecError);
    expect((err as NetsecError).code).toBe("STATE_CORRUPT");
    expect((err as NetsecError).message).toContain(`registry index ${file} is damaged (not valid JSON`);
    expect((err as NetsecError).message).toContain(`mv "${file}" "${file}.damaged"`);
  });

  it("serve: readiness 503 names the file (relative to NETSEC_HOME); /models is a 409, never a 500", async () => {
    const source = registryModelSource(new ModelRegistry(home), async (_d, v) => made.get(v)!);
    const t = await makeApp(null, { models: source, home });
    try {
      const ready = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().message).toContain(
        "$NETSEC_HOME/registry/netsec-phishing/registry.json is damaged",
      );
      expect(ready.body).not.toContain(home);
      const models = await t.app.inject({ method: "GET", url: "/models" });
      expect(models.statusCode).toBe(409);
      expect(models.json().error.code).toBe("STATE_CORRUPT");
    } finally {
      await t.close();
    }
  });

  it("CLI: netsec predict --model champion exits 1 with the file named", () => {
    const r = runCli(["predict", "--model", "champion", "--input", file], { NETSEC_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("STATE_CORRUPT");
    expect(r.stderr).toContain(`${file} is damaged`);
  });
});
