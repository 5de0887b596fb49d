/**
 * Real fitted pipelines → PipelineIR → ONNX → onnxruntime, against the models' own predictProba on
 * every test row: phishing (all numeric, KNN imputer, NaNs injected) and NSL-KDD (one-hot of
 * protocol_type/service/flag with services unseen in training, median imputer, binary and 5-class;
 * hist_gradient_boosting also with those blocks as native category features).
 * Tolerances: the IR's TypeScript reference must match the model to 1e-12 (same float64 arithmetic,
 * only summation order differs); onnxruntime to 1e-5 (float32 outputs, see export.ts).
 */
import { describe, expect, it } from "vitest";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import { labelsIR, modelIR, pipelineIRFromModels } from "../../../src/bundle/onnx/from-models.ts";
import type { ColumnIR, PipelineIR } from "../../../src/bundle/onnx/ir.ts";
import { evaluatePipelineIR } from "../../../src/bundle/onnx/reference.ts";
import { verifyOnnx } from "../../../src/bundle/onnx/verify.ts";
import type { Column, Frame } from "../../../src/core/frame.ts";
import { allocMatrix, Frame as FrameClass } from "../../../src/core/frame.ts";
import { Rng } from "../../../src/core/rng.ts";
import { loadFrame } from "../../../src/datasets/load.ts";
import { getDataset } from "../../../src/datasets/registry.ts";
import type { DatasetSchema } from "../../../src/datasets/schema.ts";
import { createModel } from "../../../src/models/registry.ts";
import { ColumnTransformer, type ImputeStrategy } from "../../../src/preprocess/column-transformer.ts";
import { tempDir } from "../../helpers/env.ts";

const PHISHING = "/work/shared/datasets/phishing/phisingData.csv";
const KDD_TRAIN = "/work/shared/datasets/nsl-kdd/KDDTrain+_20Percent.txt";
const KDD_TEST = "/work/shared/datasets/nsl-kdd/KDDTest+.txt";

const MODELS: [string, Record<string, unknown>][] = [
  ["random_forest", { n_estimators: 15, max_depth: 12 }],
  ["decision_tree", { max_depth: 10 }],
  ["gradient_boosting", { n_estimators: 25, subsample: 0.8 }],
  ["hist_gradient_boosting", { max_iter: 25, subsample: 0.8 }],
  ["adaboost", { n_estimators: 20 }],
  ["logistic_regression", {}],
];

function sample(n: number, k: number, seed: number): Uint32Array {
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  new Rng(seed).shuffle(idx);
  return idx.slice(0, k);
}

/** A copy of `frame` with a share of cells missing (numeric NaN, categorical code -1). */
function withMissing(frame: Frame, share: number, seed: number, skip: readonly string[]): Frame {
  const rng = new Rng(seed);
  const cols = frame.columns.map((c): Column => {
    if (skip.includes(c.name)) return c;
    if (c.kind === "numeric") {
      const v = c.values.slice();
      for (let i = 0; i < v.length; i++) if (rng.next() < share) v[i] = Number.NaN;
      return { ...c, values: v };
    }
    const codes = c.codes.slice();
    for (let i = 0; i < codes.length; i++) if (rng.next() < share) codes[i] = -1;
    return { ...c, codes };
  });
  return new FrameClass(cols, frame.nRows);
}

interface Task {
  train: Frame;
  test: Frame;
  schema: DatasetSchema;
  /** Class index per training row, and the class values. */
  y: Int32Array;
  classLabels: string[];
  classIsThreat: boolean[];
  imputer: ImputeStrategy;
}

function labelsOf(frame: Frame, target: string): string[] {
  return Array.from({ length: frame.nRows }, (_, r) => String(frame.value(r, target)));
}

function binaryTask(schema: DatasetSchema, train: Frame, test: Frame, imputer: ImputeStrategy): Task {
  const labels = labelsOf(train, schema.target.name);
  const benign = labels.find((l) => !schema.isThreat(l))!;
  const threat = labels.find((l) => schema.isThreat(l))!;
  return {
    train,
    test,
    schema,
    y: Int32Array.from(labels, (l) => (schema.isThreat(l) ? 1 : 0)),
    // a binary task outputs one representative label per side (the dataset's own value)
    classLabels: [benign, threat],
    classIsThreat: [false, true],
    imputer,
  };
}

async function checkAllModels(task: Task, threshold: number): Promise<void> {
  const features = task.schema.featureNames;
  const numeric = features.filter((f) => task.train.column(f).kind === "numeric");
  const categorical = features.filter((f) => task.train.column(f).kind === "categorical");
  const ct = new ColumnTransformer().fit(task.train, {
    numeric,
    categorical,
    imputer: task.imputer,
    seed: 1,
  });
  const Xtr = ct.transform(task.train);
  const Xte = ct.transform(task.test);
  const K = task.classLabels.length;
  // with categorical columns, hist_gradient_boosting also with their one-hot blocks as category
  // features (the pipeline's default): category-set splits exported as derived features
  const models: [string, Record<string, unknown>][] = [
    ...MODELS,
    ...(categorical.length > 0
      ? [
          ["hist_gradient_boosting", { max_iter: 25, categorical_features: categorical }] as [
            string,
            Record<string, unknown>,
          ],
        ]
      : []),
  ];
  for (const [name, params] of models) {
    const model = createModel(name, { ...params, random_state: 3 });
    await model.fit(Xtr, task.y, K, { threads: 1 });
    const proba = model.predictProba(Xte);
    const expected = new Float64Array(task.test.nRows);
    const expectedLabels: string[] = [];
    for (let r = 0; r < task.test.nRows; r++) {
      if (K === 2) expected[r] = proba[r * 2 + task.classIsThreat.indexOf(true)]!;
      else {
        // the bundle's P(threat): the threat classes' probabilities added in class order
        let threat = 0;
        for (let k = 0; k < K; k++) if (task.classIsThreat[k]) threat += proba[r * K + k]!;
        expected[r] = threat;
      }
      // the bundle's rule: the threshold picks the side, then the side's most probable class (first
      // on ties); with two classes each side has one
      const side = expected[r]! >= threshold;
      let cls = -1;
      for (let k = 0; k < K; k++)
        if (task.classIsThreat[k] === side && (cls < 0 || proba[r * K + k]! > proba[r * K + cls]!)) cls = k;
      expectedLabels.push(task.classLabels[cls]!);
    }
    // round-trip through JSON, as a bundle stores it
    const ir = pipelineIRFromModels({
      preprocess: JSON.parse(JSON.stringify(ct.toJSON())),
      model: JSON.parse(JSON.stringify(model.toJSON())),
      classLabels: task.classLabels,
      classIsThreat: task.classIsThreat,
      threshold,
      dataset: task.schema.name,
      netsecVersion: "0.1.0",
    });
    if ("categorical_features" in params)
      expect(ir.model.kind === "trees" && ir.model.derived, `${name}: category splits`).toBeTruthy();
    const ref = evaluatePipelineIR(ir, task.test);
    let refDiff = 0;
    for (let r = 0; r < expected.length; r++)
      refDiff = Math.max(refDiff, Math.abs(ref.probability[r]! - expected[r]!));
    expect(refDiff, `${name}: reference evaluator vs predictProba`).toBeLessThan(1e-12);

    const res = await verifyOnnx(
      exportPipelineToOnnx(ir),
      ir.columns,
      task.test,
      expected,
      1e-5,
      expectedLabels.map((l) => (ir.labels.type === "int64" ? Number(l) : l)),
      threshold,
    );
    expect(res.failingRows, `${name}: rows beyond 1e-5 (max diff ${res.maxAbsDiff})`).toEqual([]);
    expect(res.labelMismatches, `${name}: label mismatches`).toEqual([]);
    // a label may differ only where the float64 probability sits within float32 rounding just below
    // the threshold (a forest's probability adds leaf fractions times 1/n_trees, so a row at exactly 0.5
    // in exact arithmetic can come out an ulp below it; float32 rounds it back up to 0.5)
    for (const r of res.thresholdTies) {
      expect(threshold - expected[r]!, `${name}: row ${r}`).toBeGreaterThan(0);
      expect(threshold - expected[r]!, `${name}: row ${r}`).toBeLessThan(1e-6);
    }
    expect(res.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(res.nRows).toBe(task.test.nRows);
  }
}

describe("fitted netsec pipelines exported to ONNX match predictProba", () => {
  const home = tempDir().dir;

  it("phishing: five models, KNN imputer with NaNs in train and test, int64 labels -1/1", async () => {
    const schema = getDataset("phishing", home);
    const { frame } = await loadFrame({ path: PHISHING }, schema);
    const idx = sample(frame.nRows, 2000, 11);
    const target = schema.target.name;
    const train = withMissing(frame.take(idx.subarray(0, 1400)), 0.01, 5, [target]);
    const test = withMissing(frame.take(idx.subarray(1400)), 0.03, 6, [target]);
    const task = binaryTask(schema, train, test, "knn");
    expect(task.classLabels).toEqual(["1", "-1"]);
    await checkAllModels(task, 0.42);
  });

  it("NSL-KDD binary: one-hot with unseen services and missing categories, median imputer", async () => {
    const schema = getDataset("nsl-kdd", home);
    const tr = (await loadFrame({ path: KDD_TRAIN }, schema)).frame;
    const te = (await loadFrame({ path: KDD_TEST }, schema)).frame;
    const train = tr.take(sample(tr.nRows, 2000, 21));
    const test = withMissing(te.take(sample(te.nRows, 600, 22)), 0.01, 7, [schema.target.name]);
    const task = binaryTask(schema, train, test, "median");
    await checkAllModels(task, 0.5);
  });

  it("NSL-KDD 5 categories (softmax / averaged distributions; threshold picks the side, then its most probable class)", async () => {
    const schema = getDataset("nsl-kdd", home);
    const tr = (await loadFrame({ path: KDD_TRAIN }, schema)).frame;
    const te = (await loadFrame({ path: KDD_TEST }, schema)).frame;
    const train = tr.take(sample(tr.nRows, 2500, 31));
    const test = te.take(sample(te.nRows, 500, 32));
    const classes = ["normal", "dos", "probe", "r2l", "u2r"];
    const cats = labelsOf(train, schema.target.name).map((l) => schema.labelCategory(l));
    await checkAllModels(
      {
        train,
        test,
        schema,
        y: Int32Array.from(cats, (c) => classes.indexOf(c)),
        classLabels: classes,
        classIsThreat: classes.map((c) => c !== "normal"),
        imputer: "median",
      },
      0.5,
    );
  });
});

describe("state conversion details", () => {
  it("labels: int64 when every label is an integer literal, strings otherwise", () => {
    expect(labelsIR(["1", "-1"])).toEqual({ type: "int64", values: [1, -1] });
    expect(labelsIR(["normal", "dos"])).toEqual({ type: "string", values: ["normal", "dos"] });
    expect(labelsIR(["1", "1.5"]).type).toBe("string");
  });

  it("an internal node's null threshold (JSON of +Infinity) is read back as +Infinity", () => {
    // root: "every non-missing value goes left" (threshold +Infinity), missing goes right
    const tree = {
      k: 2,
      feature: [0, -1, -1],
      threshold: [null, null, null],
      left: [1, -1, -1],
      right: [2, -1, -1],
      missingLeft: [0, 0, 0],
      value: [0.5, 0.5, 0.9, 0.1, 0.2, 0.8],
      weight: [3, 2, 1],
    };
    const m = modelIR({
      model: "decision_tree",
      formatVersion: 1,
      params: {},
      nClasses: 2,
      nFeatures: 1,
      state: { tree },
    });
    expect(m.kind === "trees" && Array.from(m.trees[0]!.threshold)).toEqual([Number.POSITIVE_INFINITY, 0, 0]);
  });

  it("refuses unknown models and formats", () => {
    expect(() =>
      modelIR({ model: "svm" as never, formatVersion: 1, params: {}, nClasses: 2, nFeatures: 1, state: {} }),
    ).toThrow(/cannot be exported/);
    expect(() =>
      modelIR({
        model: "random_forest",
        formatVersion: 2,
        params: {},
        nClasses: 2,
        nFeatures: 1,
        state: { trees: [] },
      }),
    ).toThrow(/format 2/);
  });
});

describe("hist_gradient_boosting exported to ONNX: missing values follow the learned side", () => {
  /**
   * Numeric columns without an imputer, so NaN reaches the trees: x0 has NaNs at fit that carry the
   * class (the split learns their side), x1 has none at fit but some in the test rows (they go to the
   * child that had more training rows), x2 is noise.
   */
  function frameOf(n: number, seed: number, k: number, testRows: boolean): { frame: Frame; y: Int32Array } {
    const rng = new Rng(seed);
    const x = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      x[0]![i] = rng.normal();
      x[1]![i] = rng.normal();
      x[2]![i] = rng.next();
      const s = x[0]![i]! + 0.7 * x[1]![i]! + 0.5 * rng.normal();
      y[i] = k === 2 ? (s > 0 ? 1 : 0) : s < -0.6 ? 0 : s < 0.6 ? 1 : 2;
      if (rng.next() < 0.15) {
        x[0]![i] = Number.NaN;
        y[i] = k - 1;
      }
      if (testRows && rng.next() < 0.15) x[1]![i] = Number.NaN;
    }
    const cols: Column[] = x.map((values, j) => ({ kind: "numeric", name: `x${j}`, values }));
    return { frame: new FrameClass(cols, n), y };
  }

  for (const k of [2, 3]) {
    it(`${k} classes: onnxruntime matches predictProba within 1e-5`, async () => {
      const train = frameOf(1500, 41 + k, k, false);
      const test = frameOf(400, 51 + k, k, true);
      const matrix = (f: Frame) => {
        const X = allocMatrix(f.nRows, 3);
        for (const [j, c] of f.columns.entries())
          X.data.set((c as { values: Float64Array }).values, j * f.nRows);
        return X;
      };
      const model = createModel("hist_gradient_boosting", { max_iter: 30 });
      await model.fit(matrix(train.frame), train.y, k);
      const serialized = JSON.parse(JSON.stringify(model.toJSON()));
      // both learned directions occur, on the feature that had NaNs at fit
      const sides = new Set<number>();
      for (const t of serialized.state.trees as { feature: number[]; missingLeft: number[] }[])
        t.feature.forEach((f, i) => {
          if (f === 0) sides.add(t.missingLeft[i]!);
        });
      expect([...sides].sort()).toEqual([0, 1]);
      const proba = model.predictProba(matrix(test.frame));
      const threat = Float64Array.from({ length: test.frame.nRows }, (_, r) => {
        let s = 0;
        for (let c = 1; c < k; c++) s += proba[r * k + c]!;
        return s;
      });
      const columns: ColumnIR[] = ["x0", "x1", "x2"].map((c) => ({
        kind: "numeric",
        column: c,
        impute: null,
      }));
      const ir: PipelineIR = {
        columns,
        knnImputer: null,
        featureOrder: ["x0", "x1", "x2"],
        scaler: null,
        model: modelIR(serialized),
        nClasses: k,
        classIsThreat: Array.from({ length: k }, (_, c) => c > 0),
        labels: labelsIR(Array.from({ length: k }, (_, c) => String(c))),
        threshold: 0.5,
        decision: "threshold",
        meta: { model: "hist_gradient_boosting", dataset: "unit", netsecVersion: "0.1.0" },
      };
      const ref = evaluatePipelineIR(ir, test.frame);
      for (let r = 0; r < threat.length; r++)
        expect(Math.abs(ref.probability[r]! - threat[r]!)).toBeLessThan(1e-12);
      const res = await verifyOnnx(
        exportPipelineToOnnx(ir),
        columns,
        test.frame,
        threat,
        1e-5,
        ref.labels,
        0.5,
      );
      expect(res.failingRows).toEqual([]);
      expect(res.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    });
  }
});
