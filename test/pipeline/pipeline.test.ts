/**
 * The training pipeline through the real CLI on the phishing data: artifacts, bundle + verified ONNX,
 * registry and champion, gates, predict from bundle and champion, runs list, bad config.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-pipeline-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

describe("netsec train (pipeline)", () => {
  let first: Record<string, unknown>;

  it("runs every step, writes the artifacts, registers the first model as champion", () => {
    const r = runCli(
      ["train", "--dataset", "phishing", "--models", "decision_tree,logistic_regression", "--json"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    first = r.json!;
    expect(first).toMatchObject({
      status: "FINISHED",
      champion: true,
      split: "duplicate_aware",
      registry: { name: "netsec-phishing", version: 1 },
    });
    const lb = first.leaderboard as { model: string; cv_mean: number }[];
    expect(lb.map((x) => x.model).sort()).toEqual(["decision_tree", "logistic_regression"]);
    expect(lb[0]!.cv_mean).toBeGreaterThanOrEqual(lb[1]!.cv_mean); // winner chosen on CV
    expect(first.winner).toBe(lb[0]!.model);
    const test = first.test as Record<string, number>;
    for (const k of ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "tpr_at_fpr_1pct"])
      expect(test[k]).toBeGreaterThan(0.5);
    expect(test.onnx_max_abs_diff).toBeLessThanOrEqual(1e-5);
    const a = first.artifacts as string;
    for (const f of [
      "data_ingestion/ingested/train.csv",
      "data_ingestion/ingested/test.csv",
      "data_ingestion/feature_store/phishing.csv",
      "data_validation/validation.json",
      "data_validation/drift_report/report.yaml",
      "data_validation/drift_report/drift.json",
      "data_validation/drift_report/drift.html",
      "model_trainer/leaderboard.json",
      "model_trainer/cv_scores.csv",
      "model_trainer/test_metrics.json",
      "model_trainer/roc.svg",
      "model_trainer/pr.svg",
      "model_trainer/model/bundle.json",
      "model_trainer/model/model.json",
      "model_trainer/model/preprocess.json",
      "model_trainer/model/reference_profile.json",
      "model_trainer/model/model_card.md",
      "model_trainer/model/model_card.html",
      "model_trainer/model/onnx/model.onnx",
      "model_trainer/model/onnx/MLmodel",
      "run.json",
    ]) {
      expect(existsSync(join(a, f)), f).toBe(true);
    }
    // 2211 test rows + 8844 train rows in the snapshots (header + rows)
    const trainRows =
      readFileSync(join(a, "data_ingestion/ingested/train.csv"), "utf8").trim().split("\n").length - 1;
    const testRows =
      readFileSync(join(a, "data_ingestion/ingested/test.csv"), "utf8").trim().split("\n").length - 1;
    expect(trainRows + testRows).toBe(11055);
  });

  it("predict --model champion writes the dataset's own labels and threat probabilities", () => {
    const out = join(tmp.dir, "scored.csv");
    const input = writeFile(
      tmp.dir,
      "in.csv",
      readFileSync(PHISHING_CSV, "utf8").split("\n").slice(0, 301).join("\n"),
    );
    const r = runCli(["predict", "--model", "champion", "--input", input, "--output", out, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(301);
    expect(lines[0]).toMatch(/,Result,prediction,probability$/);
    for (const l of lines.slice(1)) {
      const f = l.split(",");
      expect(["-1", "1"]).toContain(f.at(-2));
      const p = Number(f.at(-1));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });

  it("a failed gate fails the run with the reason, exit 1, and leaves the champion unchanged", () => {
    const cfg = writeFile(
      tmp.dir,
      "strict.yaml",
      "dataset: phishing\nmodels: [decision_tree]\nsearch: { kind: none, params: { decision_tree: { max_depth: 1 } } }\ngates: { min_score: 0.99 }\n",
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ status: "FAILED", champion: false });
    expect(String(r.json!.failure)).toMatch(/gate: test f1 0\.\d+ is below min_score 0\.99/);
    const runs = runCli(["runs", "list", "--json"], env).json!.runs as {
      id: string;
      status: string;
      champion: boolean;
    }[];
    expect(runs[0]).toMatchObject({ status: "FAILED" });
    expect(runs.find((x) => x.id === first.run_id)).toMatchObject({ status: "FINISHED", champion: true });
    const again = runCli(
      [
        "predict",
        "--model",
        "champion",
        "--input",
        PHISHING_CSV,
        "--output",
        join(tmp.dir, "all.csv"),
        "--json",
      ],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(String(again.json!.bundle)).toMatch(/registry\/netsec-phishing\/versions\/1$/);
  });

  it("a new model becomes champion only if it beats the champion on the same test data", () => {
    const r = runCli(
      [
        "train",
        "--dataset",
        "phishing",
        "--models",
        "adaboost",
        "--params",
        '{"n_estimators":8,"learning_rate":0.001}',
        "--json",
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const f1 = (r.json!.test as { f1: number }).f1;
    const champF1 = (first.test as { f1: number }).f1;
    expect(r.json!.champion).toBe(f1 > champF1);
    expect(r.json!.registry).toMatchObject({ version: 2 });
  });

  it("a pipeline YAML with an unknown key or a bad value is refused naming them", () => {
    const cfg = writeFile(
      tmp.dir,
      "bad.yaml",
      "dataset: phishing\nsearch: { kind: grid, cv: 1, folds: 3 }\n",
    );
    const r = runCli(["train", "--config", cfg], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml: .*search\.cv: .*>=2/);
    expect(r.stderr).toMatch(/"folds"/);
  });
});

describe("netsec train with files and fixed hyperparameters (the engine's CLI path)", () => {
  it("trains on --data, evaluates on --test-data, prints the summary; predict uses the bundle", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split("\n");
    const train = writeFile(tmp.dir, "train.csv", [lines[0], ...lines.slice(1, 8001)].join("\n"));
    const test = writeFile(tmp.dir, "test.csv", [lines[0], ...lines.slice(8001)].join("\n"));
    const env2 = { NETSEC_HOME: join(tmp.dir, "home2"), NETSEC_STORE_URI: "" };
    const r = runCli(
      [
        "train",
        "--dataset",
        "phishing",
        "--data",
        train,
        "--test-data",
        test,
        "--models",
        "random_forest",
        "--params",
        '{"n_estimators":100}',
        "--json",
      ],
      env2,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = r.json!;
    expect(j).toMatchObject({ model: "random_forest", split: "predefined" });
    expect((j.params as { nEstimators: number }).nEstimators).toBe(100);
    expect(j.fit_seconds).toBeGreaterThan(0);
    const t = j.test as Record<string, number>;
    for (const k of ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"])
      expect(t[k]).toBeGreaterThan(0.8);
    expect(t.tpr_at_fpr_1pct).toBeGreaterThan(0.3);
    const out = join(tmp.dir, "rf-out.csv");
    const p = runCli(
      ["predict", "--model", String(j.bundle), "--input", test, "--output", out, "--json"],
      env2,
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({ rows: 3055 });
  });

  it("bad hyperparameters are refused naming the parameter and value", () => {
    const r = runCli(
      ["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"n_estimators":-3}'],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/n_estimators = -3/);
    const r2 = runCli(
      ["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"trees":10}'],
      env,
    );
    expect(r2.stderr).toMatch(/unknown parameter\(s\) "trees"/);
  });
});

describe("netsec train on NSL-KDD (predefined split)", () => {
  it("trains on KDDTrain+, reports KDDTest+ and KDDTest-21 separately, each with its own row count", () => {
    const home = { NETSEC_HOME: join(tmp.dir, "home-kdd"), NETSEC_STORE_URI: "" };
    const r = runCli(["train", "--dataset", "nsl-kdd", "--models", "decision_tree", "--json"], home);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json!;
    expect(j.split).toBe("predefined");
    const sets = j.test_sets as Record<string, Record<string, number>>;
    expect(Object.keys(sets)).toEqual(["KDDTest+", "KDDTest-21"]);
    // the files' own sizes (SHA-256-checked in the registry)
    expect(sets["KDDTest+"]!.rows).toBe(22544);
    expect(sets["KDDTest-21"]!.rows).toBe(11850);
    // the main test set is the one `test` reports; KDDTest-21 holds the records most learners miss
    expect(sets["KDDTest+"]!.f1).toBeCloseTo((j.test as Record<string, number>).f1!, 12);
    for (const s of Object.values(sets))
      for (const k of ["accuracy", "f1", "roc_auc", "tpr_at_fpr_1pct"]) {
        expect(s[k]).toBeGreaterThanOrEqual(0);
        expect(s[k]).toBeLessThanOrEqual(1);
      }
    expect(sets["KDDTest-21"]!.accuracy).toBeLessThan(sets["KDDTest+"]!.accuracy!);
    expect(r.stderr).toMatch(/KDDTest-21\s+11850/);
    const saved = JSON.parse(
      readFileSync(join(j.artifacts as string, "model_trainer/test_sets.json"), "utf8"),
    );
    expect(saved).toEqual(sets);
  }, 300_000);
});
