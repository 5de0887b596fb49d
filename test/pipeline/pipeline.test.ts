/**
 * The training pipeline through the real CLI on the phishing data: artifacts, bundle + verified ONNX,
 * registry and champion, gates, predict from bundle and champion, runs list, bad config; predict from
 * the ONNX export under onnxruntime agreeing with the bundle on every test row.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import onnxProto from "onnx-proto";
import { afterAll, describe, expect, it } from "vitest";
import { at } from "../../src/core/frame.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { ColumnTransformer, type TransformerState } from "../../src/preprocess/column-transformer.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, ROOT, tempDir, writeFile } from "../helpers/env.ts";
import { parquetRows } from "../helpers/parquet.ts";

const tmp = tempDir("netsec-pipeline-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

// numpy from the project's venv reads the .npy files: an implementation that is not ours
const PYTHON = join(ROOT, ".venv/bin/python");
const haveVenv = existsSync(PYTHON);
if (!haveVenv) console.warn(`skipping numpy checks: ${PYTHON} not found (run scripts/python-env)`);
function numpy(script: string, ...args: string[]): unknown {
  const out = execFileSync(PYTHON, ["-c", script, ...args], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

interface TestMetrics {
  test: { confusion: { tn: number; fp: number; fn: number; tp: number } };
}

describe("netsec train (pipeline)", () => {
  let first: Record<string, unknown>;

  it("runs every step, writes the artifacts, registers the first model as champion", async () => {
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
      "data_ingestion/ingested/train.parquet",
      "data_ingestion/ingested/test.parquet",
      "data_ingestion/feature_store/phishing.parquet",
      "data_validation/validation.json",
      "data_validation/drift_report/report.yaml",
      "data_validation/drift_report/drift.json",
      "data_validation/drift_report/drift.html",
      "data_transformation/preprocess.json",
      "data_transformation/feature_names.json",
      "data_transformation/train.npy",
      "data_transformation/test.npy",
      "data_transformation/target_train.npy",
      "data_transformation/target_test.npy",
      "model_trainer/leaderboard.json",
      "model_trainer/leaderboard.csv",
      "model_trainer/leaderboard.html",
      "model_trainer/cv_scores.csv",
      "model_trainer/test_metrics.json",
      "model_trainer/roc.svg",
      "model_trainer/pr.svg",
      "model_trainer/confusion_matrix.svg",
      "model_trainer/test_sets.json",
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
    // 2211 test rows + 8844 train rows in the snapshots
    const trainRows = (await parquetRows(join(a, "data_ingestion/ingested/train.parquet"))).length;
    const testRows = (await parquetRows(join(a, "data_ingestion/ingested/test.parquet"))).length;
    expect(trainRows + testRows).toBe(11055);
    // the feature store is the two, one after the other
    expect(await parquetRows(join(a, "data_ingestion/feature_store/phishing.parquet"))).toEqual([
      ...(await parquetRows(join(a, "data_ingestion/ingested/train.parquet"))),
      ...(await parquetRows(join(a, "data_ingestion/ingested/test.parquet"))),
    ]);
  });

  it.skipIf(!haveVenv)(
    "data_transformation/: the bundle's preprocessing, and matrices numpy reads equal to a re-transform",
    async () => {
      const a = first.artifacts as string;
      const dt = join(a, "data_transformation");
      const pre = readFileSync(join(dt, "preprocess.json"), "utf8");
      expect(pre).toBe(readFileSync(join(a, "model_trainer/model/preprocess.json"), "utf8"));
      const names = JSON.parse(readFileSync(join(dt, "feature_names.json"), "utf8")) as string[];
      const manifest = JSON.parse(readFileSync(join(a, "model_trainer/model/bundle.json"), "utf8")) as {
        feature_names: string[];
      };
      expect(names).toEqual(manifest.feature_names);
      expect(names.length).toBeGreaterThan(0);
      const schema = getDataset("phishing", env.NETSEC_HOME);
      const train = (await loadFrame({ path: join(a, "data_ingestion/ingested/train.parquet") }, schema))
        .frame;
      const test = (await loadFrame({ path: join(a, "data_ingestion/ingested/test.parquet") }, schema)).frame;
      const pick = [0, 1, 4321, train.nRows - 1];
      const np = numpy(
        `
import json, sys, numpy
d, pick = sys.argv[1], json.loads(sys.argv[2])
L = lambda f: numpy.load(f"{d}/{f}", allow_pickle=False)
tr, te, ytr, yte = L("train.npy"), L("test.npy"), L("target_train.npy"), L("target_test.npy")
print(json.dumps({"train": [list(tr.shape), str(tr.dtype)], "test": [list(te.shape), str(te.dtype)],
  "rows": tr[pick].tolist(), "test_first": te[0].tolist(),
  "y": [str(ytr.dtype), ytr.tolist(), yte.tolist()]}))`,
        dt,
        JSON.stringify(pick),
      ) as {
        train: [number[], string];
        test: [number[], string];
        rows: number[][];
        test_first: number[];
        y: [string, number[], number[]];
      };
      expect(np.train).toEqual([[train.nRows, names.length], "float64"]);
      expect(np.test).toEqual([[test.nRows, names.length], "float64"]);
      // the real ColumnTransformer from preprocess.json on the ingested CSV snapshots
      const state = JSON.parse(pre) as TransformerState;
      const X = ColumnTransformer.fromJSON(state).transform(train);
      const Xte = ColumnTransformer.fromJSON(state).transform(test);
      pick.forEach((r, i) => {
        expect(np.rows[i]).toEqual(names.map((_, c) => at(X, r, c)));
      });
      expect(np.test_first).toEqual(names.map((_, c) => at(Xte, 0, c)));
      // and by hand for the numeric columns: (value, or the imputer's fill) - mean, over scale
      state.numeric.forEach((col, c) => {
        for (const [i, r] of pick.entries()) {
          const v = train.numeric(col.name)[r]!;
          expect(np.rows[i]![c]).toBeCloseTo(((Number.isNaN(v) ? col.fill : v) - col.mean) / col.scale, 12);
        }
      });
      // targets: 1 where the dataset's label is a threat, as int64
      const threat = (f: typeof train): number[] =>
        Array.from({ length: f.nRows }, (_, r) => (schema.isThreat(f.value(r, schema.target.name)!) ? 1 : 0));
      expect(np.y[0]).toBe("int64");
      expect(np.y[1]).toEqual(threat(train));
      expect(np.y[2]).toEqual(threat(test));
      const cm = (JSON.parse(readFileSync(join(a, "model_trainer/test_metrics.json"), "utf8")) as TestMetrics)
        .test.confusion;
      expect(np.y[2].filter((v) => v === 1)).toHaveLength(cm.tp + cm.fn);
    },
  );

  it("model_trainer/: the confusion matrix with the test counts, the leaderboard as CSV and HTML", () => {
    const a = first.artifacts as string;
    const cm = (JSON.parse(readFileSync(join(a, "model_trainer/test_metrics.json"), "utf8")) as TestMetrics)
      .test.confusion;
    const svg = readFileSync(join(a, "model_trainer/confusion_matrix.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const n of [cm.tn, cm.fp, cm.fn, cm.tp]) expect(texts).toContain(String(n));
    // phishing's own label values: -1 is the threat
    for (const t of ["actual", "predicted", "-1 (threat)", "1 (benign)"]) expect(texts).toContain(t);
    const json = JSON.parse(readFileSync(join(a, "model_trainer/leaderboard.json"), "utf8")) as {
      model: string;
      cv_mean: number;
    }[];
    const csv = parse(readFileSync(join(a, "model_trainer/leaderboard.csv"), "utf8"), {
      columns: true,
    }) as Record<string, string>[];
    expect(csv.map((r) => r.model).sort()).toEqual(json.map((r) => r.model).sort());
    for (const j of json) expect(Number(csv.find((r) => r.model === j.model)!.cv_mean)).toBe(j.cv_mean);
    expect(csv.map((r) => r.rank)).toEqual(["1", "2"]);
    const page = readFileSync(join(a, "model_trainer/leaderboard.html"), "utf8");
    expect(page).toMatch(/^<!doctype html>/);
    for (const j of json) expect(page).toContain(`<td>${j.model}</td>`);
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

  it("a new model becomes champion only if it beats the champion on the same test data (both ways)", () => {
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
    // eight AdaBoost stumps at a tiny learning rate: clearly weaker than the first run's winner
    expect(f1).toBeLessThan(champF1);
    expect(r.json).toMatchObject({ champion: false, registry: { version: 2 } });
    const reg = () =>
      JSON.parse(readFileSync(join(env.NETSEC_HOME, "registry/netsec-phishing/registry.json"), "utf8")) as {
        aliases: { champion: number };
        history: { version: number; reason: string }[];
      };
    expect(reg().aliases.champion).toBe(1);
    expect((r.json!.warnings as string[]).join("\n")).toMatch(
      /not promoted: f1 0\.\d+ vs champion v1 f1 0\.\d+/,
    );
    // a random forest on the same data beats it: promoted, and the alias history says why
    const rf = runCli(
      [
        "train",
        "--dataset",
        "phishing",
        "--models",
        "random_forest",
        "--params",
        '{"n_estimators":64}',
        "--json",
      ],
      env,
    );
    expect(rf.code, rf.stderr).toBe(0);
    const rfF1 = (rf.json!.test as { f1: number }).f1;
    expect(rfF1).toBeGreaterThan(champF1);
    expect(rf.json).toMatchObject({ champion: true, registry: { version: 3 } });
    expect(reg().aliases.champion).toBe(3);
    expect(reg().history.at(-1)).toMatchObject({ version: 3 });
    expect(reg().history.at(-1)!.reason).toContain(
      `f1 ${rfF1.toFixed(4)} vs champion v1 f1 ${champF1.toFixed(4)}`,
    );
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

  describe("netsec predict from the ONNX export (onnxruntime-node)", () => {
    type Row = Record<string, string>;
    const readCsv = (file: string): Row[] => parse(readFileSync(file, "utf8"), { columns: true }) as Row[];
    const bundleDir = (): string => join(first.artifacts as string, "model_trainer/model");
    const testCsv = (): string => join(first.artifacts as string, "data_ingestion/ingested/test.parquet");
    /** Scores `input` with `model` (+ extra args) into a fresh file; returns the run and the rows. */
    const predict = (name: string, model: string, input: string, ...extra: string[]) => {
      const out = join(tmp.dir, `${name}.csv`);
      const r = runCli(
        ["predict", "--model", model, "--input", input, "--output", out, "--json", ...extra],
        env,
      );
      expect(r.code, r.stderr).toBe(0);
      return { json: r.json!, rows: readCsv(out) };
    };
    /** Row by row: same echoed input, same label, |Δp| <= 1e-5; returns max |Δp|. */
    const expectAgree = (a: Row[], b: Row[], input: Row[]): number => {
      expect(a).toHaveLength(input.length);
      expect(b).toHaveLength(input.length);
      let maxDiff = 0;
      input.forEach((row, i) => {
        for (const [k, v] of Object.entries(row)) {
          expect(a[i]![k], `row ${i + 1} ${k}`).toBe(v);
          expect(b[i]![k], `row ${i + 1} ${k}`).toBe(v);
        }
        expect(b[i]!.prediction, `row ${i + 1} label`).toBe(a[i]!.prediction);
        maxDiff = Math.max(maxDiff, Math.abs(Number(a[i]!.probability) - Number(b[i]!.probability)));
      });
      expect(maxDiff).toBeLessThanOrEqual(1e-5);
      return maxDiff;
    };

    it("model.onnx scores the run's test split as the bundle does: every row within 1e-5, same labels", async () => {
      const input = await parquetRows(testCsv());
      const onnx = join(bundleDir(), "onnx/model.onnx");
      const b = predict("test-bundle", bundleDir(), testCsv());
      const o = predict("test-onnx", onnx, testCsv());
      expect(b.json).toMatchObject({ ok: true, engine: "bundle", model: first.winner, bundle: bundleDir() });
      expect(o.json).toMatchObject({
        ok: true,
        engine: "onnx",
        model: first.winner,
        bundle: bundleDir(),
        onnx,
        threshold: b.json.threshold,
        threats: b.json.threats,
      });
      // the split's own size, counted from the snapshot (2211 of 11,055 rows)
      expect(input.length).toBeGreaterThan(2000);
      expect(b.json.rows).toBe(input.length);
      expect(o.json.rows).toBe(input.length);
      expectAgree(b.rows, o.rows, input);
      expect(new Set(o.rows.map((r) => r.probability)).size).toBeGreaterThan(2);
      // independent of both engines' agreement: the ONNX labels reproduce the F1 the training run
      // measured on this split (threat = Result -1), and follow the threshold on the probability
      let tp = 0;
      let fp = 0;
      let fn = 0;
      const t = Number(o.json.threshold);
      o.rows.forEach((r, i) => {
        const truth = input[i]!.Result === "-1";
        const said = r.prediction === "-1";
        if (said && truth) tp++;
        else if (said) fp++;
        else if (truth) fn++;
        const p = Number(r.probability);
        if (Math.abs(p - t) > 1e-6) expect(said, `row ${i + 1}: p ${p} vs threshold ${t}`).toBe(p >= t);
      });
      expect((2 * tp) / (2 * tp + fp + fn)).toBeCloseTo((first.test as { f1: number }).f1, 10);
    });

    it("--model champion --engine onnx uses the champion's onnx/model.onnx and agrees with the bundle", async () => {
      const input = await parquetRows(testCsv());
      const b = predict("champ-bundle", "champion", testCsv());
      const o = predict("champ-onnx", "champion", testCsv(), "--engine", "onnx");
      expect(b.json.engine).toBe("bundle");
      expect(o.json).toMatchObject({ engine: "onnx", bundle: b.json.bundle, model: b.json.model });
      expect(String(o.json.bundle)).toMatch(/registry\/netsec-phishing\/versions\/\d+$/);
      expect(o.json.onnx).toBe(join(String(b.json.bundle), "onnx/model.onnx"));
      expectAgree(b.rows, o.rows, input);
      // an ONNX path is not a bundle
      const r = runCli(
        ["predict", "--model", String(o.json.onnx), "--input", testCsv(), "--engine", "bundle"],
        env,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/CONFIG_INVALID.*is an ONNX model, not a bundle/);
    });

    it("a model.onnx outside its bundle finds the schema in the registry, else asks for --schema", async () => {
      const input = await parquetRows(testCsv());
      const alone = join(tmp.dir, "onnx-alone");
      mkdirSync(alone, { recursive: true });
      const onnx = join(alone, "model.onnx");
      copyFileSync(join(bundleDir(), "onnx/model.onnx"), onnx);
      const b = predict("alone-bundle", bundleDir(), testCsv());
      // an onnx/ folder is accepted as well as the file; the dataset named in its metadata is phishing
      const o = predict("alone-onnx", alone, testCsv());
      expect(o.json).toMatchObject({ engine: "onnx", bundle: null, onnx });
      expectAgree(b.rows, o.rows, input);

      // the same graph claiming a dataset the registry does not know
      const m = onnxProto.onnx.ModelProto.decode(readFileSync(onnx));
      const ds = m.metadataProps.find((p) => p.key === "dataset");
      expect(ds?.value).toBe("phishing");
      ds!.value = "private-traffic";
      const unknown = join(tmp.dir, "unknown-dataset.onnx");
      writeFileSync(unknown, onnxProto.onnx.ModelProto.encode(m).finish());
      const r = runCli(["predict", "--model", unknown, "--input", testCsv(), "--json"], env);
      expect(r.code).toBe(1);
      expect(r.json!.error).toMatchObject({ code: "CONFIG_INVALID", status: 400 });
      expect(String((r.json!.error as { message: string }).message)).toMatch(
        /unknown-dataset\.onnx was exported for dataset "private-traffic".*pass the dataset schema with --schema <yaml>/,
      );
      const s = predict("schema-onnx", unknown, testCsv(), "--schema", join(ROOT, "datasets/phishing.yaml"));
      expectAgree(b.rows, s.rows, input);
      // a schema whose feature columns are not the model's inputs is refused before any row is read
      const w = runCli(
        [
          "predict",
          "--model",
          unknown,
          "--input",
          testCsv(),
          "--schema",
          join(ROOT, "datasets/nsl-kdd.yaml"),
        ],
        env,
      );
      expect(w.code).toBe(1);
      expect(w.stderr).toMatch(
        /SCHEMA_MISMATCH.*the model's inputs do not match schema nsl-kdd.*not feature columns of the schema: having_IP_Address/,
      );
    });

    it("an input without a feature column is the same SCHEMA_MISMATCH on both engines, naming file and column", async () => {
      const input = await parquetRows(testCsv());
      const cols = Object.keys(input[0]!).filter((c) => c !== "SSLfinal_State");
      const bad = writeFile(
        tmp.dir,
        "no-ssl.csv",
        [cols.join(","), ...input.map((r) => cols.map((c) => r[c]).join(","))].join("\n"),
      );
      const errorOf = (...args: string[]) => {
        const r = runCli(["predict", "--input", bad, "--json", ...args], env);
        expect(r.code).toBe(1);
        return r.json!.error as { code: string; status: number; message: string; details: { file: string } };
      };
      const b = errorOf("--model", bundleDir());
      const o = errorOf("--model", join(bundleDir(), "onnx/model.onnx"));
      const c = errorOf("--model", "champion", "--engine", "onnx");
      expect(b).toMatchObject({
        code: "SCHEMA_MISMATCH",
        status: 422,
        details: { file: bad, column: "SSLfinal_State" },
      });
      expect(b.message).toMatch(
        /no-ssl\.csv: the header does not match schema phishing: missing column\(s\) "SSLfinal_State"/,
      );
      expect(o).toEqual(b);
      expect(c).toEqual(b);
    });
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
    // one spelling everywhere a user reads or writes: the config's snake_case, never nEstimators
    expect(j.params).toMatchObject({ n_estimators: 100, random_state: 42 });
    expect(JSON.stringify(j.params)).not.toMatch(/[a-z][A-Z]/);
    expect(r.stderr).not.toMatch(/nEstimators|randomState/);
    expect(j.fit_seconds).toBeGreaterThan(0);
    const t = j.test as Record<string, number>;
    for (const k of ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"])
      expect(t[k]).toBeGreaterThan(0.8);
    expect(t.tpr_at_fpr_1pct).toBeGreaterThan(0.3);
    // precision and recall from the confusion counts the run saved (threat = Result -1)
    const cm = (
      JSON.parse(
        readFileSync(join(String(j.artifacts), "model_trainer/test_metrics.json"), "utf8"),
      ) as TestMetrics
    ).test.confusion;
    expect(cm.tp + cm.fp + cm.fn + cm.tn).toBe(3055);
    expect(t.precision).toBeCloseTo(cm.tp / (cm.tp + cm.fp), 12);
    expect(t.recall).toBeCloseTo(cm.tp / (cm.tp + cm.fn), 12);
    const out = join(tmp.dir, "rf-out.csv");
    const p = runCli(
      ["predict", "--model", String(j.bundle), "--input", test, "--output", out, "--json"],
      env2,
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({ rows: 3055 });
    // every input record comes back unchanged, first, followed by prediction and probability
    const input = parse(readFileSync(test, "utf8")) as string[][];
    const scored = parse(readFileSync(out, "utf8")) as string[][];
    expect(scored).toHaveLength(input.length);
    expect(scored[0]).toEqual([...input[0]!, "prediction", "probability"]);
    const result = input[0]!.indexOf("Result");
    const threshold = (
      JSON.parse(readFileSync(join(String(j.bundle), "bundle.json"), "utf8")) as { threshold: number }
    ).threshold;
    expect(p.json!.threshold).toBe(threshold);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 1; i < input.length; i++) {
      const row = scored[i]!;
      expect(row.slice(0, input[i]!.length), `record ${i}`).toEqual(input[i]);
      expect(row).toHaveLength(input[i]!.length + 2);
      // the dataset's own label values (-1 phishing, the threat; 1 legitimate), from P(threat)
      const [label, prob] = row.slice(-2) as [string, string];
      expect(["-1", "1"], `record ${i}`).toContain(label);
      const pr = Number(prob);
      expect(pr).toBeGreaterThanOrEqual(0);
      expect(pr).toBeLessThanOrEqual(1);
      expect(label === "-1", `record ${i}: p ${pr} vs threshold ${threshold}`).toBe(pr >= threshold);
      const truth = input[i]![result] === "-1";
      if (label === "-1" && truth) tp++;
      else if (label === "-1") fp++;
      else if (truth) fn++;
    }
    // the bundle labels the test file as the run evaluated it
    expect({ tp, fp, fn }).toEqual({ tp: cm.tp, fp: cm.fp, fn: cm.fn });
    expect(tp / (tp + fp)).toBeCloseTo(t.precision!, 12);
    expect(tp / (tp + fn)).toBeCloseTo(t.recall!, 12);
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
