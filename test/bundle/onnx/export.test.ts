/**
 * ONNX export of hand-built pipelines, run under onnxruntime-node and compared with the plain
 * TypeScript reference evaluator of the same IR (float64). Tolerance 1e-5 on probabilities: the only
 * expected difference is the float32 `probability` output (relative 6e-8) and, for tree ensembles,
 * onnxruntime's float32 TreeEnsembleRegressor output.
 */
import ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { exportPipelineToOnnx, float32AtOrBelow } from "../../../src/bundle/onnx/export.ts";
import type { PipelineIR } from "../../../src/bundle/onnx/ir.ts";
import { evaluatePipelineIR, featureRow } from "../../../src/bundle/onnx/reference.ts";
import { ONNX_CHUNK_ROWS, runOnnx, verifyOnnx } from "../../../src/bundle/onnx/verify.ts";
import { NetsecError } from "../../../src/core/errors.ts";
import { Frame } from "../../../src/core/frame.ts";
import {
  boosted3IR,
  boostedBinaryIR,
  flatTree,
  forestIR,
  knnCase,
  logisticIR,
  META,
  randomForestCase,
  softmaxLinearIR,
  testFrame,
} from "./fixtures.ts";

async function check(ir: PipelineIR, frame: Frame) {
  const bytes = exportPipelineToOnnx(ir);
  const ref = evaluatePipelineIR(ir, frame);
  const res = await verifyOnnx(bytes, ir.columns, frame, ref.probability, 1e-5, ref.labels);
  expect(res.failingRows).toEqual([]);
  expect(res.maxAbsDiff).toBeLessThanOrEqual(1e-5);
  expect(res.labels).toEqual(ref.labels);
  expect(res.ok).toBe(true);
  return { res, ref };
}

describe("reference evaluator (hand-computed)", () => {
  it("imputes, one-hots (unseen → zeros) and orders features as featureOrder says", () => {
    const ir = forestIR();
    const f = testFrame();
    // row 3: duration NaN → 2.5, protocol missing → tcp
    expect(Array.from(featureRow(ir, f, 3))).toEqual([1, 0, 0, 2.5, 250]);
    // row 4: "sctp" unseen → all zeros
    expect(Array.from(featureRow(ir, f, 4))).toEqual([0, 0, 0, 10, 0]);
    // row 1: src bytes NaN passes through (no imputer)
    expect(Array.from(featureRow(ir, f, 1))).toEqual([0, 1, 0, 1, Number.NaN]);
  });

  it("walks the forest by hand", () => {
    const ir = forestIR();
    const out = evaluatePipelineIR(ir, testFrame());
    // row 0: tcp, duration 0, bytes 100. t1: 0 <= 2.5 → tcp(1) <= 0.5? no → [0.9, 0.1];
    // t2: 100 > 50 → icmp(0) <= 0.5 → [0.3, 0.7]. mean [0.6, 0.4]; threat = class 0 → 0.6 >= 0.45 → -1
    expect(out.proba[0]).toBeCloseTo(0.6, 15);
    expect(out.probability[0]).toBeCloseTo(0.6, 15);
    expect(out.labels[0]).toBe(-1);
    // row 1: udp, duration 1, bytes NaN. t1: 1 <= 2.5 → tcp 0 <= 0.5 → [0.2, 0.8];
    // t2: NaN, missing goes right → icmp 0 <= 0.5 → [0.3, 0.7]. mean [0.25, 0.75] → 0.25 < 0.45 → 1
    expect(out.probability[1]).toBeCloseTo(0.25, 15);
    expect(out.labels[1]).toBe(1);
    // row 5: tcp, duration 3, bytes 1e6. t1: 3 > 2.5 → 1e6 > 200 → [0.05, 0.95]; t2: → [0.3, 0.7]
    expect(out.probability[5]).toBeCloseTo(0.175, 15);
  });
});

describe("exportPipelineToOnnx under onnxruntime", () => {
  it("two-tree forest with imputer, one-hot (unseen category, missing) and NaN in trees", async () => {
    const { res } = await check(forestIR(), testFrame());
    expect(res.labels).toContain(1);
    expect(res.labels).toContain(-1);
  });

  it("more rows than one run takes: every chunk's rows in place (ONNX_CHUNK_ROWS)", async () => {
    const small = testFrame();
    const n = 2 * ONNX_CHUNK_ROWS + 3;
    const frame = small.take(Int32Array.from({ length: n }, (_, i) => (i * 7) % small.nRows));
    const { res, ref } = await check(forestIR(), frame);
    expect(res.nRows).toBe(n);
    // the rows around each chunk boundary are the reference's, one by one
    for (const i of [ONNX_CHUNK_ROWS - 1, ONNX_CHUNK_ROWS, 2 * ONNX_CHUNK_ROWS, n - 1])
      expect(res.probability[i]).toBeCloseTo(ref.probability[i]!, 6);
  });

  it("boosted binary ensemble (sum + prior, logistic), string labels", async () => {
    const { res } = await check(boostedBinaryIR(), testFrame());
    expect(new Set(res.labels)).toEqual(new Set(["normal", "attack"]));
  });

  it("boosted 3-class ensemble (softmax, scaler), argmax labels and P(threat) = Σ threat classes", async () => {
    const { ref } = await check(boosted3IR(), testFrame());
    expect(new Set(ref.labels).size).toBeGreaterThan(1);
    // and the bundle's rule on the same models: the threshold picks the side, then its best class
    await check({ ...boosted3IR(), decision: "threshold" }, testFrame());
    await check({ ...softmaxLinearIR(), decision: "threshold" }, testFrame());
  });

  it("multiclass threshold decision: rows exactly at the threshold stay threats, ties go to the first class", async () => {
    // one tree, 4 classes (0 benign), leaf distributions chosen so that the float32 rounding of the
    // tree output makes Σ P(threat) of leaf A fall below the threshold 0.5 it equals in float64
    const A = [0.5, 0.01, 0.01, 0.48];
    const B = [0.6, 0.1, 0.1, 0.2]; // P(threat) 0.4: benign
    const D = [0.2, 0.4, 0.4, 0]; // P(threat) 0.8, classes 1 and 2 tied: class 1
    expect(A[1]! + A[2]! + A[3]!).toBe(0.5);
    expect(Math.fround(A[1]!) + Math.fround(A[2]!) + Math.fround(A[3]!)).toBeLessThan(float32AtOrBelow(0.5));
    const ir: PipelineIR = {
      ...boosted3IR(),
      scaler: null,
      model: {
        kind: "trees",
        width: 4,
        // tcp? (feature 0) → A; else udp? (feature 1) → B; else (icmp, unseen) → D
        trees: [flatTree({ f: 0, t: 0.5, l: { f: 1, t: 0.5, l: D, r: B }, r: A }, 4)],
        aggregate: "average",
        base: [0, 0, 0, 0],
        transform: "identity",
      },
      nClasses: 4,
      classIsThreat: [false, true, true, true],
      labels: { type: "string", values: ["normal", "dos", "probe", "u2r"] },
      threshold: 0.5,
      decision: "threshold",
    };
    const { ref } = await check(ir, testFrame());
    // protocols by row: tcp, udp, icmp, missing (→ tcp), sctp (unseen), tcp, udp, missing, icmp, sctp
    expect(ref.labels).toEqual(["u2r", "normal", "dos", "u2r", "dos", "u2r", "normal", "u2r", "dos", "dos"]);
    expect(Array.from(ref.probability.subarray(0, 3))).toEqual([0.5, 0.1 + 0.1 + 0.2, 0.4 + 0.4 + 0]);
  });

  it("logistic regression (binary) and multinomial (3 classes), in double", async () => {
    const a = await check(logisticIR(), testFrame());
    // everything is float64 up to the final cast: only float32 output rounding remains
    for (let i = 0; i < a.ref.probability.length; i++) {
      expect(a.res.probability[i]).toBe(Math.fround(a.ref.probability[i]!));
    }
    await check(softmaxLinearIR(), testFrame());
  });

  it("random forests with thresholds exactly on data values, huge counts and NaNs", async () => {
    for (const seed of [1, 2, 3]) {
      const { ir, frame } = randomForestCase(seed);
      await check(ir, frame);
    }
  });

  it("KNN imputation (ties, NaN donors, rows without any usable donor)", async () => {
    const { ir, frame } = knnCase();
    // hand check: row 0 (a=0, b=1, c=NaN): distances over a, b to donors having c:
    // d0 (0,1) 0; d1 (1,·) sqrt(3/1·1); d3 (2,2) sqrt(3/2·5); d4 (·,0) sqrt(3/1·1); d5 (1,1) sqrt(3/2);
    // d6 (0,1) 0; d8 (1,0) sqrt(3/2·2) → nearest d0, d6 (0), d5 → c = (2 + 2 + 1) / 3
    expect(featureRow(ir, frame, 0)[2]).toBeCloseTo(5 / 3, 15);
    // row 3 is all NaN: no distances, the per-column fills apply
    expect(Array.from(featureRow(ir, frame, 3))).toEqual([0.7, 0.8, 2.1]);
    await check(ir, frame);
    // no row with a NaN at all: the KNN block runs on an empty selection
    const full = new Frame([
      { kind: "numeric", name: "a", values: Float64Array.of(0, 1) },
      { kind: "numeric", name: "b", values: Float64Array.of(1, 0) },
      { kind: "numeric", name: "c", values: Float64Array.of(2, 3) },
    ]);
    await check(ir, full);
  });

  it("a pipeline with one input column accepts [N, 1] (MLflow feeds df.values then)", async () => {
    const ir: PipelineIR = {
      ...boostedBinaryIR(),
      columns: [{ kind: "numeric", column: "x", impute: 1 }],
      featureOrder: ["x"],
      model: {
        kind: "trees",
        width: 1,
        trees: [flatTree({ f: 0, t: 1.5, l: [-1], r: [2] }, 1)],
        aggregate: "sum",
        base: [0],
        transform: "logistic",
      },
    };
    const frame = new Frame([{ kind: "numeric", name: "x", values: Float64Array.of(0, 1.5, 2, Number.NaN) }]);
    const { res } = await check(ir, frame);
    expect(res.labels).toEqual(["normal", "normal", "attack", "normal"]);
  });

  it("renames an input that clashes with an output name", async () => {
    const ir: PipelineIR = {
      ...logisticIR(),
      columns: [
        { kind: "numeric", column: "label", impute: 0 },
        { kind: "numeric", column: "b", impute: 0 },
      ],
      featureOrder: ["label", "b"],
      scaler: null,
      model: { kind: "linear", coef: [[1, -1]], intercept: [0], transform: "logistic" },
    };
    const s = await ort.InferenceSession.create(exportPipelineToOnnx(ir));
    expect(s.inputNames).toEqual(["label_in", "b"]);
    expect(s.outputNames).toEqual(["label", "probability"]);
    const frame = new Frame([
      { kind: "numeric", name: "label", values: Float64Array.of(2, 0) },
      { kind: "numeric", name: "b", values: Float64Array.of(0, 2) },
    ]);
    await check(ir, frame);
  });
});

describe("float32 boundaries", () => {
  // Values that are different in float64 but equal in float32: a float32 graph would send them the
  // same way; netsec (float64) sends them to different sides.
  const t = 0.1;
  const above = 0.1 + 2 ** -56; // next float64 after 0.1
  const big = 2 ** 24 + 1; // not a float32: rounds to 2^24
  it("keeps x <= t decisions of float64 (thresholds one ulp apart, integers above 2^24)", async () => {
    expect(Math.fround(above)).toBe(Math.fround(t));
    expect(Math.fround(big)).toBe(Math.fround(big - 1));
    const ir: PipelineIR = {
      ...boostedBinaryIR(),
      columns: [
        { kind: "numeric", column: "r", impute: null },
        { kind: "numeric", column: "n", impute: null },
      ],
      featureOrder: ["r", "n"],
      model: {
        kind: "trees",
        width: 1,
        trees: [
          flatTree({ f: 0, t, l: [-2], r: [2] }, 1),
          flatTree({ f: 1, t: big - 1, l: [-4], r: [4] }, 1),
        ],
        aggregate: "sum",
        base: [0],
        transform: "logistic",
      },
    };
    const frame = new Frame([
      { kind: "numeric", name: "r", values: Float64Array.of(t, above, t, above) },
      { kind: "numeric", name: "n", values: Float64Array.of(big - 1, big - 1, big, big) },
    ]);
    const { res, ref } = await check(ir, frame);
    // four different leaf combinations → four different probabilities
    expect(new Set(Array.from(ref.probability)).size).toBe(4);
    expect(new Set(Array.from(res.probability)).size).toBe(4);
  });

  it("a probability exactly at the threshold stays a threat although float32 rounds it down", async () => {
    expect(Math.fround(0.7)).toBeLessThan(0.7);
    expect(float32AtOrBelow(0.7)).toBe(Math.fround(0.7));
    expect(float32AtOrBelow(0.1)).toBeLessThan(0.1);
    expect(float32AtOrBelow(0.5)).toBe(0.5);
    const ir: PipelineIR = {
      ...forestIR(),
      columns: [{ kind: "numeric", column: "x", impute: null }],
      featureOrder: ["x"],
      model: {
        kind: "trees",
        width: 2,
        trees: [flatTree({ f: 0, t: 0, l: [0.7, 0.3], r: [0.7 - 1e-6, 0.3 + 1e-6] }, 2)],
        aggregate: "average",
        base: [0, 0],
        transform: "identity",
      },
      threshold: 0.7,
    };
    const frame = new Frame([{ kind: "numeric", name: "x", values: Float64Array.of(-1, 1) }]);
    const { res } = await check(ir, frame);
    expect(res.labels).toEqual([-1, 1]);
  });
});

describe("verifyOnnx: labels at the threshold", () => {
  it("a row within float32 rounding just below the threshold is a tie, not a failure; any other label difference fails", async () => {
    const base = forestIR();
    const frame = testFrame();
    // row 0's threat probability is 0.6 (walked by hand above); the threshold one float64 ulp above it
    const ref0 = evaluatePipelineIR(base, frame);
    expect(ref0.probability[0]).toBeCloseTo(0.6, 15);
    const t = ref0.probability[0]! + 2 ** -53;
    expect(t).toBeGreaterThan(ref0.probability[0]!);
    const ir: PipelineIR = { ...base, threshold: t };
    const ref = evaluatePipelineIR(ir, frame);
    const bytes = exportPipelineToOnnx(ir);
    // float64: row 0 is below the threshold (benign); onnxruntime's float32 probability rounds onto it
    const res = await verifyOnnx(bytes, ir.columns, frame, ref.probability, 1e-5, ref.labels, t);
    const atT = Array.from(ref.probability.keys()).filter((r) => ref.probability[r] === ref.probability[0]);
    expect(atT.length).toBeGreaterThanOrEqual(1);
    for (const r of atT) expect(ref.labels[r]).not.toBe(res.labels[r]);
    expect(res.thresholdTies).toEqual(atT);
    expect(res.labelMismatches).toEqual([]);
    expect(res.ok).toBe(true);
    // without the threshold the same difference is a mismatch
    const strict = await verifyOnnx(bytes, ir.columns, frame, ref.probability, 1e-5, ref.labels);
    expect(strict.labelMismatches).toEqual(atT);
    expect(strict.ok).toBe(false);
    // a label wrong on a row far from the threshold still fails
    expect(atT).not.toContain(1);
    expect(Math.abs(ref.probability[1]! - t)).toBeGreaterThan(0.1);
    const wrong = ref.labels.map((l, i) => (i === 1 ? (l === -1 ? 1 : -1) : l));
    const bad = await verifyOnnx(bytes, ir.columns, frame, ref.probability, 1e-5, wrong, t);
    expect(bad.labelMismatches).toEqual([1]);
    expect(bad.ok).toBe(false);
  });
});

describe("invalid IRs are refused with BUNDLE_INVALID", () => {
  it.each([
    ["feature out of range", (ir: PipelineIR) => ({ ...ir, featureOrder: ["duration"] })],
    [
      "unknown column in featureOrder",
      (ir: PipelineIR) => ({ ...ir, featureOrder: [...ir.featureOrder, "nope"] }),
    ],
    [
      "wrong label count",
      (ir: PipelineIR) => ({ ...ir, labels: { type: "string" as const, values: ["a"] } }),
    ],
    ["no threat class", (ir: PipelineIR) => ({ ...ir, classIsThreat: [false, false] })],
    ["threshold outside [0, 1]", (ir: PipelineIR) => ({ ...ir, threshold: 1.5 })],
  ])("%s", (_name, mutate) => {
    const ir = mutate(forestIR());
    expect(() => exportPipelineToOnnx(ir)).toThrow(NetsecError);
  });

  it("the empty category is reserved for missing values", () => {
    const ir: PipelineIR = {
      ...forestIR(),
      columns: forestIR().columns.map((c) =>
        c.kind === "categorical" ? { ...c, categories: ["tcp", "", "icmp"] } : c,
      ),
    };
    expect(() => exportPipelineToOnnx(ir)).toThrow(/reserved for missing/);
  });
});

describe("model metadata", () => {
  it("declares opsets, inputs and metadata", async () => {
    const bytes = exportPipelineToOnnx(forestIR());
    const s = await ort.InferenceSession.create(bytes);
    expect(s.inputNames).toEqual(["duration", "src bytes", "protocol_type", "unused"]);
    const out = await runOnnx(bytes, forestIR().columns, testFrame());
    expect(out.probability).toHaveLength(10);
    expect(META.model).toBe("test");
  });
});
