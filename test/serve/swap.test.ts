/**
 * Model lifecycle: many requests in flight while the champion is swapped (zero failures, each answer
 * from exactly one of the two versions, header = body), and a registry-backed server picking up a new
 * champion alias by polling, without a restart; a failed load keeps the old model.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { registryModelSource } from "../../src/serve/model-holder.ts";
import { tempDir } from "../helpers/env.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, multipart } from "./helpers.ts";

let p1: Predictor;
let p2: Predictor;
let recs: Record<string, number>[];

beforeAll(async () => {
  p1 = await fitFixturePredictor({ version: "phishing-nb:1" });
  p2 = await fitFixturePredictor({ version: "phishing-nb:2", alpha: 20, threshold: 0.4 });
  const lines = phishingCsvSlice(25).trim().split("\n");
  const h = lines[0]!.replace(/"/g, "").split(",");
  recs = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [h[i]!, Number(v)])));
});

describe("champion swap under load", () => {
  it("serves every request with one consistent version while swapping", async () => {
    // 330 requests at once: all of them queue for a scoring slot (none refused), so all are answered
    const t = await makeApp(p1, { limits: { scoringQueue: 1000 } });
    try {
      // the two models differ on these records, so a mixed answer would show
      const byVersion = new Map<string, string>();
      for (const p of [p1, p2]) {
        t.app.netsec.holder.swap(p);
        const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs });
        byVersion.set(
          p.version,
          JSON.stringify(r.json().predictions.map((q: { probability: number }) => q.probability)),
        );
      }
      expect(byVersion.get("phishing-nb:1")).not.toBe(byVersion.get("phishing-nb:2"));
      t.app.netsec.holder.swap(p1);

      const N = 300;
      let swaps = 0;
      const timer = setInterval(() => {
        t.app.netsec.holder.swap(swaps++ % 2 === 0 ? p2 : p1);
      }, 1);
      const pending: Promise<{
        status: number;
        header: unknown;
        body: Record<string, unknown> | null;
        kind: string;
      }>[] = [];
      for (let i = 0; i < N; i++) {
        if (i % 10 === 0) {
          pending.push(
            t.app
              .inject({ method: "POST", url: "/predict?format=json", ...multipart(phishingCsvSlice(25)) })
              .then((r) => ({
                status: r.statusCode,
                header: r.headers["x-model-version"],
                body: r.json(),
                kind: "csv",
              })),
          );
        }
        pending.push(
          t.app.inject({ method: "POST", url: "/predict/records", payload: recs }).then((r) => ({
            status: r.statusCode,
            header: r.headers["x-model-version"],
            body: r.json(),
            kind: "records",
          })),
        );
        // let the swap timer fire between batches of requests
        if (i % 25 === 0) await new Promise((res) => setImmediate(res));
      }
      const results = await Promise.all(pending);
      clearInterval(timer);
      expect(swaps).toBeGreaterThan(2);
      const seen = new Set<string>();
      for (const r of results) {
        expect(r.status).toBe(200);
        const v = r.body!.model_version as string;
        expect(["phishing-nb:1", "phishing-nb:2"]).toContain(v);
        expect(r.header).toBe(v);
        seen.add(v);
        if (r.kind === "records") {
          const preds = r.body!.predictions as { model_version: string; probability: number }[];
          for (const q of preds) expect(q.model_version).toBe(v);
          expect(JSON.stringify(preds.map((q) => q.probability))).toBe(byVersion.get(v));
        }
      }
      expect(seen.size).toBe(2);
    } finally {
      await t.close();
    }
  });
});

describe("registry-backed model source", () => {
  const tmp = tempDir("netsec-registry-");
  afterAll(() => tmp.cleanup());

  it("loads the champion at start and picks up a new champion by polling, without a restart", async () => {
    const reg = new ModelRegistry(tmp.dir);
    const bundle = join(tmp.dir, "bundle");
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "bundle.json"), "{}");
    const meta = {
      run_id: "r1",
      model: "naive_bayes_fixture",
      dataset: "phishing",
      score_name: "f1",
      score: 0.9,
      test_data_sha256: "x",
      metrics: {},
      tags: {},
    };
    reg.addVersion("phishing-nb", bundle, meta);
    reg.addVersion("phishing-nb", bundle, { ...meta, run_id: "r2" });
    reg.setAlias("phishing-nb", "champion", 1, "first");
    const loads: string[] = [];
    let failNext = false;
    const source = registryModelSource(reg, async (dir, version) => {
      loads.push(version);
      if (failNext) throw new Error(`corrupt bundle in ${dir}`);
      return version.endsWith(":2") ? p2 : p1;
    });
    const t = await makeApp(null, { models: source, modelPollMs: 20, home: tmp.dir });
    try {
      expect(t.app.netsec.holder.current()?.version).toBe("phishing-nb:1");
      const models = (await t.app.inject({ method: "GET", url: "/models" })).json();
      expect(models.serving).toBe("phishing-nb:1");
      expect(models.models[0].versions).toHaveLength(2);
      expect(models.models[0].aliases).toEqual({ champion: 1 });

      // a failed load keeps serving the old model
      failNext = true;
      reg.setAlias("phishing-nb", "champion", 2, "better");
      await waitFor(() => loads.length >= 2);
      expect(t.app.netsec.holder.current()?.version).toBe("phishing-nb:1");
      expect(t.app.netsec.holder.error).toContain("corrupt bundle");
      const ok = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs.slice(0, 2) });
      expect(ok.statusCode).toBe(200);

      failNext = false;
      await waitFor(() => t.app.netsec.holder.current()?.version === "phishing-nb:2");
      const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs.slice(0, 2) });
      expect(r.headers["x-model-version"]).toBe("phishing-nb:2");
      const metrics = (await t.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toContain('netsec_model_info{version="phishing-nb:2"} 1');
      expect(metrics).not.toContain('netsec_model_info{version="phishing-nb:1"}');
      expect(metrics).toMatch(/netsec_model_reloads_total\{result="failed"\} [1-9]/);
    } finally {
      await t.close();
    }
  });
});

describe("a home with several registered models (phishing and NSL-KDD trained in one home)", () => {
  const tmp = tempDir("netsec-registry-many-");
  afterAll(() => tmp.cleanup());
  const meta = (dataset: string) => ({
    run_id: `r-${dataset}`,
    model: "naive_bayes_fixture",
    dataset,
    score_name: "f1",
    score: 0.9,
    test_data_sha256: "x",
    metrics: {},
    tags: {},
  });

  it("serves the most recently promoted champion, keeps that model, or the one named", async () => {
    const reg = new ModelRegistry(tmp.dir);
    const bundle = join(tmp.dir, "bundle");
    mkdirSync(bundle, { recursive: true });
    writeFileSync(join(bundle, "bundle.json"), "{}");
    reg.addVersion("netsec-phishing", bundle, meta("phishing"));
    reg.setAlias("netsec-phishing", "champion", 1, "first");
    await new Promise((r) => setTimeout(r, 5));
    reg.addVersion("netsec-nsl-kdd", bundle, meta("nsl-kdd"));
    reg.setAlias("netsec-nsl-kdd", "champion", 1, "first");
    // the CLI's bare "champion" is ambiguous here (it asks for <name>@champion); a server picks one
    expect(() => reg.resolve("champion")).toThrow(/ambiguous/);
    // the fixture predictor stands in for each bundle; the loads say which model and version were asked for
    const loads: string[] = [];
    const made = new Map<string, Predictor>();
    const loader = async (_dir: string, version: string) => {
      loads.push(version);
      if (!made.has(version)) made.set(version, await fitFixturePredictor({ version }));
      return made.get(version)!;
    };
    const latest = await makeApp(null, {
      models: registryModelSource(reg, loader),
      modelPollMs: 20,
      home: tmp.dir,
    });
    const named = await makeApp(null, {
      models: registryModelSource(reg, loader, { name: "netsec-phishing" }),
      modelPollMs: 20,
      home: tmp.dir,
    });
    try {
      expect(loads).toEqual(["netsec-nsl-kdd:1", "netsec-phishing:1"]);
      expect(latest.app.netsec.holder.current()?.version).toBe("netsec-nsl-kdd:1");
      expect((await latest.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(200);
      expect(named.app.netsec.holder.current()?.version).toBe("netsec-phishing:1");
      // a later promotion under the other name does not change the model a running server serves
      reg.addVersion("netsec-phishing", bundle, { ...meta("phishing"), run_id: "r-phishing-2" });
      reg.setAlias("netsec-phishing", "champion", 2, "better");
      await waitFor(() => loads.includes("netsec-phishing:2"));
      await new Promise((r) => setTimeout(r, 200));
      expect(loads.filter((l) => l.startsWith("netsec-phishing"))).toEqual([
        "netsec-phishing:1",
        "netsec-phishing:2",
      ]);
      expect(loads.filter((l) => l.startsWith("netsec-nsl-kdd"))).toEqual(["netsec-nsl-kdd:1"]);
      expect(latest.app.netsec.holder.current()?.version).toBe("netsec-nsl-kdd:1");
    } finally {
      await latest.close();
      await named.close();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
