/**
 * Hand-built pipeline IRs and frames for the ONNX export tests: small enough to check by eye, and
 * covering imputation (numeric and categorical), NaN reaching trees, an unseen category, scaling,
 * every model kind and transform, int64 and string labels.
 */

import type { ColumnIR, PipelineIR, TreeIR } from "../../../src/bundle/onnx/ir.ts";
import type { Column } from "../../../src/core/frame.ts";
import { Frame } from "../../../src/core/frame.ts";
import { Rng } from "../../../src/core/rng.ts";

export const COLUMNS: ColumnIR[] = [
  { kind: "numeric", column: "duration", impute: 2.5 },
  // no imputer: NaN reaches the trees and follows missingGoesLeft
  { kind: "numeric", column: "src bytes", impute: null },
  { kind: "categorical", column: "protocol_type", impute: "tcp", categories: ["tcp", "udp", "icmp"] },
  // an input the model does not use: it is still an input (MLflow feeds every column)
  { kind: "numeric", column: "unused", impute: 0 },
];
/** Concatenation order differs from input order on purpose. */
export const FEATURE_ORDER = ["protocol_type", "duration", "src bytes"];
export const F = 5; // tcp, udp, icmp, duration, src bytes
export const META = { model: "test", dataset: "unit", netsecVersion: "0.1.0" };

/** Rows: normal values, NaNs, a missing category, an unseen category ("sctp"). */
export function testFrame(): Frame {
  const cats = ["tcp", "udp", "icmp", "sctp"];
  const duration = [0, 1, 2.5, Number.NaN, 10, 3, 0.5, 7, Number.NaN, 4];
  const bytes = [100, Number.NaN, 5, 250, 0, 1e6, Number.NaN, 42, 17, 300];
  const proto = [0, 1, 2, -1, 3, 0, 1, -1, 2, 3];
  const cols: Column[] = [
    { kind: "numeric", name: "duration", values: Float64Array.from(duration) },
    { kind: "numeric", name: "src bytes", values: Float64Array.from(bytes) },
    { kind: "categorical", name: "protocol_type", codes: Int32Array.from(proto), categories: cats },
    { kind: "numeric", name: "unused", values: Float64Array.from(duration.map((_, i) => i)) },
  ];
  return new Frame(cols);
}

/** A tree from nested nodes: [feature, threshold, missingLeft, left, right] or a leaf value array. */
type Node = number[] | { f: number; t: number; ml?: boolean; l: Node; r: Node };

export function flatTree(root: Node, width: number): TreeIR {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missingGoesLeft: number[] = [];
  const value: number[] = [];
  const visit = (n: Node): number => {
    const i = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    missingGoesLeft.push(0);
    value.push(...new Array<number>(width).fill(0));
    if (Array.isArray(n)) {
      for (let w = 0; w < width; w++) value[i * width + w] = n[w]!;
    } else {
      feature[i] = n.f;
      threshold[i] = n.t;
      missingGoesLeft[i] = n.ml ? 1 : 0;
      left[i] = visit(n.l);
      right[i] = visit(n.r);
    }
    return i;
  };
  visit(root);
  return { feature, threshold, left, right, missingGoesLeft, value };
}

const base = {
  columns: COLUMNS,
  featureOrder: FEATURE_ORDER,
  meta: META,
} as const;

/** Two-tree forest, averaged leaf distributions; phishing-like int64 labels with threat = -1 (class 0). */
export function forestIR(): PipelineIR {
  const t1 = flatTree(
    {
      f: 3, // duration
      t: 2.5,
      l: { f: 0, t: 0.5, l: [0.2, 0.8], r: [0.9, 0.1] }, // tcp?
      r: { f: 4, t: 200, ml: true, l: [0.6, 0.4], r: [0.05, 0.95] },
    },
    2,
  );
  const t2 = flatTree(
    { f: 4, t: 50, ml: false, l: [1, 0], r: { f: 2, t: 0.5, l: [0.3, 0.7], r: [0.75, 0.25] } },
    2,
  );
  return {
    ...base,
    scaler: null,
    model: {
      kind: "trees",
      width: 2,
      trees: [t1, t2],
      aggregate: "average",
      base: [0, 0],
      transform: "identity",
    },
    nClasses: 2,
    classIsThreat: [true, false],
    labels: { type: "int64", values: [-1, 1] },
    threshold: 0.45,
    decision: "threshold",
  };
}

/** Binary boosting: raw scores summed with an init prior, logistic; string labels. */
export function boostedBinaryIR(): PipelineIR {
  const t1 = flatTree({ f: 3, t: 1.5, ml: true, l: [-0.7], r: { f: 1, t: 0.5, l: [0.4], r: [1.2] } }, 1);
  const t2 = flatTree({ f: 4, t: 60, l: [0.25], r: [-0.5] }, 1);
  const t3 = flatTree({ f: 0, t: 0.5, l: [0.1], r: { f: 3, t: 5, l: [-0.3], r: [0.9] } }, 1);
  return {
    ...base,
    scaler: null,
    model: {
      kind: "trees",
      width: 1,
      trees: [t1, t2, t3],
      aggregate: "sum",
      base: [-0.2],
      transform: "logistic",
    },
    nClasses: 2,
    classIsThreat: [false, true],
    labels: { type: "string", values: ["normal", "attack"] },
    threshold: 0.5,
    decision: "threshold",
  };
}

/** Three-class boosting (softmax), argmax labels; threat = classes 1 and 2. With a scaler. */
export function boosted3IR(): PipelineIR {
  const mk = (a: number, b: number, c: number) => [a, b, c];
  const t1 = flatTree({ f: 3, t: 0.1, l: mk(0.5, -0.2, -0.3), r: mk(-0.4, 0.6, -0.1) }, 3);
  const t2 = flatTree({ f: 4, t: -0.2, ml: true, l: mk(0.2, 0.1, -0.3), r: mk(-0.1, -0.2, 0.8) }, 3);
  const t3 = flatTree(
    { f: 2, t: 0.5, l: mk(0, 0.3, 0), r: { f: 0, t: 0.5, l: mk(0.1, 0, 0.5), r: mk(0, 0, 0) } },
    3,
  );
  return {
    ...base,
    scaler: { mean: [0, 0, 0, 3, 150], scale: [1, 1, 1, 2, 100] },
    model: {
      kind: "trees",
      width: 3,
      trees: [t1, t2, t3],
      aggregate: "sum",
      base: [0.1, -0.05, -0.07],
      transform: "softmax",
    },
    nClasses: 3,
    classIsThreat: [false, true, true],
    labels: { type: "string", values: ["normal", "dos", "probe"] },
    threshold: 0.5,
    decision: "argmax",
  };
}

/** Logistic regression (binary, scaled inputs). */
export function logisticIR(): PipelineIR {
  return {
    ...base,
    // src bytes has no imputer: rows with NaN give NaN scores, impute it here for a linear model
    columns: COLUMNS.map(
      (c): ColumnIR => (c.kind === "numeric" && c.column === "src bytes" ? { ...c, impute: 120 } : c),
    ),
    scaler: { mean: [0.4, 0.3, 0.3, 3.1, 170.5], scale: [0.49, 0.46, 0.46, 2.7, 95.25] },
    model: {
      kind: "linear",
      coef: [[0.8, -0.3, 1.1, 0.45, -0.012]],
      intercept: [-0.25],
      transform: "logistic",
    },
    nClasses: 2,
    classIsThreat: [false, true],
    labels: { type: "int64", values: [0, 1] },
    threshold: 0.3,
    decision: "threshold",
  };
}

/** Multinomial logistic regression, 3 classes. */
export function softmaxLinearIR(): PipelineIR {
  return {
    ...logisticIR(),
    model: {
      kind: "linear",
      coef: [
        [0.5, -0.2, 0.1, 0.3, -0.01],
        [-0.1, 0.6, -0.4, -0.2, 0.02],
        [0.2, 0.1, 0.7, 0.05, 0.003],
      ],
      intercept: [0.1, -0.3, 0.2],
      transform: "softmax",
    },
    nClasses: 3,
    classIsThreat: [false, true, true],
    labels: { type: "string", values: ["normal", "dos", "r2l"] },
    decision: "argmax",
  };
}

/**
 * A random forest-like IR whose thresholds are exactly data values (so rows sit on split points) and
 * whose data has NaNs, for a property check against the reference evaluator.
 */
export function randomForestCase(seed: number): { ir: PipelineIR; frame: Frame } {
  const rng = new Rng(seed);
  const nRows = 200;
  const nNum = 4;
  const numCols: Column[] = [];
  for (let j = 0; j < nNum; j++) {
    const v = new Float64Array(nRows);
    for (let i = 0; i < nRows; i++) {
      const u = rng.next();
      // a mix of small integers, reals, huge counts (beyond float32's exact integers) and NaN
      v[i] =
        u < 0.1
          ? Number.NaN
          : j === 0
            ? rng.int(3)
            : j === 1
              ? rng.normal()
              : j === 2
                ? 2 ** 25 + rng.int(9)
                : u;
    }
    numCols.push({ kind: "numeric", name: `x${j}`, values: v });
  }
  const cats = ["a", "b", "c", "zz"];
  const codes = new Int32Array(nRows);
  for (let i = 0; i < nRows; i++) codes[i] = rng.int(5) - 1; // -1 = missing; "zz" unseen at fit
  const frame = new Frame([...numCols, { kind: "categorical", name: "cat", codes, categories: cats }]);
  const columns: ColumnIR[] = [
    ...numCols.map((c, j): ColumnIR => ({ kind: "numeric", column: c.name, impute: j === 3 ? 0.5 : null })),
    { kind: "categorical", column: "cat", impute: j3(rng) ? "a" : null, categories: ["a", "b", "c"] },
  ];
  const F = nNum + 3;
  const K = 3;
  const trees: TreeIR[] = [];
  for (let t = 0; t < 5; t++) {
    const build = (depth: number): Node => {
      if (depth === 0 || rng.next() < 0.2) {
        const d = [rng.next(), rng.next(), rng.next()];
        const s = d[0]! + d[1]! + d[2]!;
        return d.map((x) => x / s);
      }
      const f = rng.int(F);
      const row = rng.int(nRows);
      let thr = f < nNum ? (frame.columns[f] as { values: Float64Array }).values[row]! : 0.5;
      if (Number.isNaN(thr)) thr = 0;
      return { f, t: thr, ml: rng.next() < 0.5, l: build(depth - 1), r: build(depth - 1) };
    };
    trees.push(flatTree(build(5), K));
  }
  return {
    frame,
    ir: {
      columns,
      featureOrder: columns.map((c) => c.column),
      scaler: null,
      model: { kind: "trees", width: K, trees, aggregate: "average", base: [0, 0, 0], transform: "identity" },
      nClasses: K,
      classIsThreat: [false, true, true],
      labels: { type: "int64", values: [0, 1, 2] },
      threshold: 0.5,
      decision: "argmax",
      meta: META,
    },
  };
}

function j3(rng: Rng): boolean {
  return rng.next() < 0.5;
}

/**
 * KNN imputation case: three numeric columns with NaNs (in rows and in donors), integer-valued so many
 * donors are at exactly equal distances (ties must go to the lower donor index), one all-NaN row and a
 * row whose only present column no donor shares.
 */
export function knnCase(): { ir: PipelineIR; frame: Frame } {
  const N = Number.NaN;
  const donors = [
    [0, 1, 2],
    [1, N, 2],
    [0, 1, N],
    [2, 2, 2],
    [N, 0, 5],
    [1, 1, 1],
    [0, 1, 2],
    [3, N, N],
    [1, 0, 2],
  ];
  const a = [0, N, 1, N, 2, N, 1, 0.5];
  const b = [1, 1, N, N, 2, 0, N, N];
  const c = [N, 2, 2, N, 2, N, 1.5, N];
  const frame = new Frame([
    { kind: "numeric", name: "a", values: Float64Array.from(a) },
    { kind: "numeric", name: "b", values: Float64Array.from(b) },
    { kind: "numeric", name: "c", values: Float64Array.from(c) },
  ]);
  const tree = flatTree(
    {
      f: 0,
      t: 0.75,
      l: { f: 1, t: 0.9, l: [0.9, 0.1], r: [0.6, 0.4] },
      r: { f: 2, t: 1.8, l: [0.3, 0.7], r: [0.1, 0.9] },
    },
    2,
  );
  return {
    frame,
    ir: {
      columns: [
        { kind: "numeric", column: "a", impute: 0.7 },
        { kind: "numeric", column: "b", impute: 0.8 },
        { kind: "numeric", column: "c", impute: 2.1 },
      ],
      knnImputer: { columns: ["a", "b", "c"], k: 3, donors },
      featureOrder: ["a", "b", "c"],
      scaler: null,
      model: {
        kind: "trees",
        width: 2,
        trees: [tree],
        aggregate: "average",
        base: [0, 0],
        transform: "identity",
      },
      nClasses: 2,
      classIsThreat: [false, true],
      labels: { type: "string", values: ["benign", "threat"] },
      threshold: 0.5,
      decision: "threshold",
      meta: META,
    },
  };
}
