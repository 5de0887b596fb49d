/**
 * A fitted soft_voting ensemble → PipelineIR → ONNX → onnxruntime, against the ensemble's own
 * predictProba on every test row: phishing (binary, KNN imputer, NaNs injected; hist gradient
 * boosting + random forest + logistic regression) and NSL-KDD's 5 categories (softmax members, one
 * with category-set splits). The IR's TypeScript reference must match to 1e-12, onnxruntime to 1e-5
 * (float32 tree outputs, see export.ts).
 */
import { describe, expect, it } from "vitest";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import { pipelineIRFromModels } from "../../../src/bundle/onnx/from-models.ts";
import { checkPipelineIR } from "../../../src/bundle/onnx/ir.ts";
import { evaluatePipelineIR } from "../../../src/bundle/onnx/reference.ts";
import { verifyOnnx } from "../../../src/bundle/onnx/verify.ts";
import { type Column, type Frame, Frame as FrameClass } from "../../../src/core/frame.ts";
import { Rng } from "../../../src/core/rng.ts";
import { loadFrame } from "../../../src/datasets/load.ts";
import { getDataset } from "../../../src/datasets/registry.ts";
import type { DatasetSchema } from "../../../src/datasets/schema.ts";
import { createModel } from "../../../src/models/registry.ts";
import { ColumnTransformer } from "../../../src/preprocess/column-transformer.ts";
import { KDD_DIR, PHISHING_CSV, tempDir } from "../../helpers/env.ts";

function sample(n: number, k: number, seed: number): Uint32Array {
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  new Rng(seed).shuffle(idx);
  return idx.slice(0, k);
}

/** A copy of `frame` with a share of numeric cells missing (the target column kept). */
function withMissing(frame: Frame, share: number, seed: number, target: string): Frame {
  const rng = new Rng(seed);
  const cols = frame.columns.map((c): Column => {
    if (c.name === target || c.kind !== "numeric") return c;
    const v = c.values.slice();
    for (let i = 0; i < v.length; i++) if (rng.next() < share) v[i] = Number.NaN;
    return { ...c, values: v };
  });
  return new FrameClass(cols, frame.nRows);
}

async function checkEnsemble(
  schema: DatasetSchema,
  train: Frame,
  test: Frame,
  y: Int32Array,
  classLabels: string[],
  classIsThreat: boolean[],
  estimators: { model: string; params: Record<string, unknown> }[],
  threshold: number,
): Promise<void> {
  const features = schema.featureNames;
  const ct = new ColumnTransformer().fit(train, {
    numeric: features.filter((f) => train.column(f).kind === "numeric"),
    categorical: features.filter((f) => train.column(f).kind === "categorical"),
    imputer: schema.name === "phishing" ? "knn" : "median",
    seed: 1,
  });
  const K = classLabels.length;
  const model = createModel("soft_voting", { estimators });
  await model.fit(ct.transform(train), y, K, { threads: 1 });
  const proba = model.predictProba(ct.transform(test));
  const expected = new Float64Array(test.nRows);
  const labels: (string | number)[] = [];
  for (let r = 0; r < test.nRows; r++) {
    for (let k = 0; k < K; k++) if (classIsThreat[k]) expected[r] = expected[r]! + proba[r * K + k]!;
    // the bundle's rule: the threshold picks the side, then the side's most probable class
    const side = expected[r]! >= threshold;
    let cls = -1;
    for (let k = 0; k < K; k++)
      if (classIsThreat[k] === side && (cls < 0 || proba[r * K + k]! > proba[r * K + cls]!)) cls = k;
    labels.push(classLabels[cls]!);
  }
  const ir = pipelineIRFromModels({
    preprocess: JSON.parse(JSON.stringify(ct.toJSON())),
    model: JSON.parse(JSON.stringify(model.toJSON())),
    classLabels,
    classIsThreat,
    threshold,
    dataset: schema.name,
    netsecVersion: "0.1.0",
  });
  expect(ir.model.kind === "soft_vote" && ir.model.members.map((m) => m.kind)).toEqual(
    estimators.map((e) => (e.model === "logistic_regression" ? "linear" : "trees")),
  );
  const ref = evaluatePipelineIR(ir, test);
  for (let r = 0; r < test.nRows; r++)
    expect(Math.abs(ref.probability[r]! - expected[r]!)).toBeLessThan(1e-12);
  const res = await verifyOnnx(
    exportPipelineToOnnx(ir),
    ir.columns,
    test,
    expected,
    1e-5,
    labels.map((l) => (ir.labels.type === "int64" ? Number(l) : l)),
    threshold,
  );
  expect(res.failingRows, `rows beyond 1e-5 (max diff ${res.maxAbsDiff})`).toEqual([]);
  expect(res.labelMismatches).toEqual([]);
  expect(res.nRows).toBe(test.nRows);
}

describe("soft_voting exported to ONNX matches its predictProba", () => {
  const home = tempDir().dir;

  it("phishing: boosting + forest + logistic regression, NaNs in train and test", async () => {
    const schema = getDataset("phishing", home);
    const { frame } = await loadFrame({ path: PHISHING_CSV }, schema);
    const idx = sample(frame.nRows, 1600, 11);
    const target = schema.target.name;
    const train = withMissing(frame.take(idx.subarray(0, 1200)), 0.01, 5, target);
    const test = withMissing(frame.take(idx.subarray(1200)), 0.03, 6, target);
    const y = Int32Array.from({ length: train.nRows }, (_, r) =>
      schema.isThreat(String(train.value(r, target))) ? 1 : 0,
    );
    await checkEnsemble(
      schema,
      train,
      test,
      y,
      ["1", "-1"],
      [false, true],
      [
        { model: "hist_gradient_boosting", params: { max_iter: 20, random_state: 3 } },
        { model: "random_forest", params: { n_estimators: 10, max_depth: 10, random_state: 3 } },
        { model: "logistic_regression", params: {} },
      ],
      0.42,
    );
  });

  it("NSL-KDD 5 categories: softmax members, one with category-set splits", async () => {
    const schema = getDataset("nsl-kdd", home);
    const tr = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, schema)).frame;
    const te = (await loadFrame({ path: `${KDD_DIR}/KDDTest+.txt` }, schema)).frame;
    const train = tr.take(sample(tr.nRows, 2000, 31));
    const test = te.take(sample(te.nRows, 400, 32));
    const classes = ["normal", "dos", "probe", "r2l", "u2r"];
    const y = Int32Array.from({ length: train.nRows }, (_, r) =>
      classes.indexOf(schema.labelCategory(String(train.value(r, schema.target.name)))),
    );
    await checkEnsemble(
      schema,
      train,
      test,
      y,
      classes,
      classes.map((c) => c !== "normal"),
      [
        {
          model: "hist_gradient_boosting",
          params: { max_iter: 15, categorical_features: ["protocol_type", "service", "flag"] },
        },
        { model: "logistic_regression", params: {} },
      ],
      0.5,
    );
  });

  it("refuses a soft vote with one member", () => {
    const ir = pipelineIRFromModels({
      preprocess: {
        format: "netsec-column-transformer",
        version: 1,
        numeric: [{ name: "x", fill: 0, mean: 0, scale: 1 }],
        categorical: [],
        imputer: "median",
        scale: false,
        knn: null,
      },
      model: {
        model: "logistic_regression",
        formatVersion: 1,
        params: {},
        nClasses: 2,
        nFeatures: 1,
        state: { coef: [1], intercept: [0], converged: true },
      },
      classLabels: ["0", "1"],
      classIsThreat: [false, true],
      threshold: 0.5,
      dataset: "toy",
      netsecVersion: "0.1.0",
    });
    const one = { ...ir, model: { kind: "soft_vote" as const, members: [ir.model as never] } };
    expect(() => checkPipelineIR(one)).toThrow(/soft vote has 1 member/);
  });
});
