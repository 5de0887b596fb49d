/**
 * PipelineIR → ONNX model (ai.onnx opset 17 + ai.onnx.ml opset 3), one graph from raw columns to the two
 * outputs `label` [N] and `probability` [N] (float).
 *
 * Precision. netsec's estimators compute in float64 and compare `x <= threshold` in float64. Running
 * the graph in float32 would move a value onto the other side of a split whenever x and the threshold
 * round to the same float32 (e.g. a training value 0.1 and a threshold 0.1 + 1e-17, or any two of
 * NSL-KDD's byte counts above 2^24 closer than the float32 spacing). Nudging thresholds cannot fix
 * that for unseen data, so the graph stays in float64 up to the classifier:
 * - numeric inputs are `tensor(double)` (MLflow's onnx pyfunc casts float64 → float32 only for
 *   `tensor(float)` inputs, so a float64 DataFrame column reaches the graph unchanged);
 * - imputation, scaling and one-hot use standard ops (IsNaN/Where, Sub/Div, LabelEncoder/OneHotEncoder
 *   + Cast) with double constants, instead of ai.onnx.ml Imputer/Scaler whose float attributes would
 *   round the fitted statistics to float32;
 * - trees: ai.onnx.ml TreeEnsembleRegressor with tensor(double) input and the `*_as_tensor` double
 *   attributes for thresholds, leaf values and base values: onnxruntime then compares and accumulates
 *   in double (tested with thresholds one float64 ulp apart). Its output Y is float32 by the spec, so
 *   probabilities carry float32 rounding (relative 6e-8);
 * - linear models: MatMul/Add/Sigmoid/Softmax in double.
 * The probability is cast to float at the very end; the label is decided before, on the double value.
 * For tree models the compared value is float32-rounded, so the threshold is lowered to the largest
 * float32 <= threshold: any row whose exact probability is >= threshold still is after rounding (float
 * rounding is monotonic); a row can only differ from the float64 decision when its exact probability
 * lies within one float32 ulp (~6e-8) below the threshold. With more than two classes the threat
 * probability is a sum of float32-rounded terms, not one rounded value; see multiclassTreeThreshold.
 *
 * Inputs. MLflow's onnx pyfunc feeds `df[name].values`, i.e. 1-D arrays, when the model has several
 * inputs, and the whole `df.values` [N, 1] when it has one; inputs are declared accordingly ([N] or
 * [N, 1]) and reshaped inside. Categorical inputs are `tensor(string)` with "" for missing.
 *
 * KNN imputation (the original project's default imputer) is built from standard ops on the rows that
 * have a NaN: per-column squared differences to the donor rows, TopK (smallest, lower index first on
 * ties), mean of the found donor values; see knnImpute below.
 *
 * Categorical imputation + one-hot: ai.onnx.ml LabelEncoder maps each category to its index (and ""
 * to the fill category's index, -1 for anything else), then ai.onnx.ml OneHotEncoder over
 * cats_int64s 0..C-1 with zeros=1 turns -1 (unseen or unfilled missing) into an all-zero row, as
 * scikit-learn's OneHotEncoder(handle_unknown="ignore"). (ai.onnx Equal on strings needs opset 19.)
 */
import { A, type Attr, GraphBuilder } from "./builder.ts";
import {
  type ColumnIR,
  checkPipelineIR,
  featureCount,
  inputNames,
  type KnnImputerIR,
  type LinearIR,
  MISSING_CATEGORY,
  type ModelIR,
  OUTPUT_LABEL,
  OUTPUT_PROBABILITY,
  type PipelineIR,
  type TreeEnsembleIR,
} from "./ir.ts";

export const ONNX_OPSETS = { "": 17, "ai.onnx.ml": 3 } as const;
export const ONNX_IR_VERSION = 8;
const ML = { domain: "ai.onnx.ml" };

/** Largest float32 value <= t (as a double). */
export function float32AtOrBelow(t: number): number {
  const f = Math.fround(t);
  if (f <= t) return f;
  // f rounded up: step one float32 ulp down
  const buf = new DataView(new ArrayBuffer(4));
  buf.setFloat32(0, f);
  const bits = buf.getInt32(0);
  if (f > 0) buf.setInt32(0, bits - 1);
  else if (f < 0) buf.setInt32(0, bits + 1);
  else buf.setInt32(0, 0x80000001); // 0 rounded up from a tiny negative: the smallest negative subnormal
  return buf.getFloat32(0);
}

/**
 * The threshold a multiclass tree graph compares its threat probability with. The graph's class
 * probabilities are float32-rounded (TreeEnsembleRegressor's output), so their sum can fall below the
 * bundle's float64 sum: by at most 2^-24 of it (each term's rounding), plus differences in the
 * order onnxruntime adds leaf values (far below 1e-9). Lowering the threshold by that bound keeps
 * every row the bundle calls a threat a threat here — rows exactly at the threshold are common with
 * trees, whose probabilities are leaf fractions. A row can then only differ when its float64
 * probability lies within about 6e-8 · threshold + 1e-9 below the threshold.
 */
export function multiclassTreeThreshold(t: number): number {
  return Math.max(0, t * (1 - 2 ** -24) - 1e-9);
}

/** Whether float32 tree outputs enter the probability (then the threshold is lowered, see above). */
function hasTrees(m: ModelIR): boolean {
  return m.kind === "trees" || (m.kind === "soft_vote" && m.members.some((x) => x.kind === "trees"));
}

export interface ExportOptions {
  /** Producer version written to the model (netsec's version); defaults to ir.meta.netsecVersion. */
  producerVersion?: string;
  /** Extra metadata_props. */
  metadata?: Readonly<Record<string, string>>;
}

/** Builds the per-column preprocessing of the [N] value `x`; returns its [N, width] double features. */
function preprocessColumn(g: GraphBuilder, c: ColumnIR, x: string): string {
  if (c.kind === "numeric") {
    let v = x;
    if (c.impute !== null) {
      const isNan = g.op("IsNaN", [v], {}, { prefix: `${c.column}_isnan` });
      v = g.op(
        "Where",
        [isNan, g.doubles(`${c.column}_fill`, [c.impute], []), v],
        {},
        { prefix: `${c.column}_imputed` },
      );
    }
    return g.op("Unsqueeze", [v, g.int64s("axes1", [1])], {}, { prefix: `${c.column}_col` });
  }
  const flat = x;
  const keys = [...c.categories];
  const values = c.categories.map((_, i) => i);
  if (c.impute !== null) {
    keys.push(MISSING_CATEGORY);
    values.push(c.categories.indexOf(c.impute)); // -1 when the fill value is not a category: all zeros
  }
  const idx = g.op(
    "LabelEncoder",
    [flat],
    { keys_strings: A.strings(keys), values_int64s: A.ints(values), default_int64: A.int(-1) },
    {
      ...ML,
      prefix: `${c.column}_index`,
      doc: `category index of ${c.column}; missing → fill, unknown → -1`,
    },
  );
  const oh = g.op(
    "OneHotEncoder",
    [idx],
    { cats_int64s: A.ints(values.slice(0, c.categories.length)), zeros: A.int(1) },
    { ...ML, prefix: `${c.column}_onehot` },
  );
  return g.op("Cast", [oh], { to: A.int(11) /* DOUBLE */ }, { prefix: `${c.column}_onehot64` });
}

/**
 * KNN imputation (ir.ts step 2) of the [N] values in `flat` for knn.columns, replaced in place by the
 * imputed values. Only rows with a NaN among those columns are processed (NonZero → Gather → …
 * → Gather back), so the cost is O(rows with NaN × donors × p). Distances are computed column by
 * column as Σ (x - d)² over co-present columns, in the same order as the TypeScript imputer, so
 * they agree bit for bit and neighbour ties break the same way (TopK prefers the lower index).
 */
function knnImpute(g: GraphBuilder, knn: KnnImputerIR, flat: Map<string, string>): void {
  const p = knn.columns.length;
  const M = knn.donors.length;
  const kk = Math.min(knn.k, M);
  const axes1 = g.int64s("knn_axes1", [1]);
  const zero = g.doubles("knn_zero", [0], []);
  const X = g.op(
    "Concat",
    knn.columns.map((n) => g.op("Unsqueeze", [flat.get(n)!, axes1])),
    { axis: A.int(1) },
    { prefix: "knn_raw" },
  );
  const anyNan = g.op("Greater", [
    g.op("ReduceMax", [g.op("Cast", [g.op("IsNaN", [X])], { to: A.int(11) })], {
      axes: A.ints([1]),
      keepdims: A.int(0),
    }),
    zero,
  ]);
  const rows = g.op(
    "Reshape",
    [g.op("NonZero", [anyNan]), g.int64s("knn_flat", [-1])],
    {},
    { prefix: "knn_rows" },
  );
  // The rows with a NaN, plus one all-NaN dummy row at the end: onnxruntime's TopK crashes
  // (SIGFPE) on an empty batch, and the dummy is also where rows without NaN point below.
  const dummy = g.doubles("knn_dummy", new Array<number>(p).fill(Number.NaN), [1, p]);
  const Xs = g.op(
    "Concat",
    [g.op("Gather", [X, rows], { axis: A.int(0) }), dummy],
    { axis: A.int(0) },
    { prefix: "knn_sub" },
  );
  const miss = g.op("IsNaN", [Xs]);
  const have = g.op("Not", [miss]);
  const X0 = g.op("Where", [miss, zero, Xs]);
  const col = (v: string, j: number) => g.op("Gather", [v, g.int64s("knn_j", [j], [])], { axis: A.int(1) });
  // donors: values with NaN → 0, presence masks
  // per donor column, once: values (NaN → 0) as [1, M] and their presence mask
  const dVal: string[] = [];
  const dHave: string[] = [];
  for (let j = 0; j < p; j++) {
    dVal.push(
      g.doubles(
        "knn_donor",
        knn.donors.map((d) => (Number.isNaN(d[j]!) ? 0 : d[j]!)),
        [1, M],
      ),
    );
    dHave.push(
      g.constant("knn_donor_has", {
        type: "bool",
        dims: [1, M],
        data: knn.donors.map((d) => !Number.isNaN(d[j]!)),
      }),
    );
  }
  const flatM = g.int64s("knn_flat_m", [-1]);
  let acc = "";
  for (let j = 0; j < p; j++) {
    const xj = g.op("Unsqueeze", [col(X0, j), axes1]); // [n', 1]
    const diff = g.op("Sub", [xj, dVal[j]!]);
    const both = g.op("And", [g.op("Unsqueeze", [col(have, j), axes1]), dHave[j]!]);
    const term = g.op("Where", [both, g.op("Mul", [diff, diff]), zero]);
    acc = acc === "" ? term : g.op("Add", [acc, term]);
  }
  const haveT = new Float64Array(p * M);
  for (let j = 0; j < p; j++)
    for (let i = 0; i < M; i++) haveT[j * M + i] = Number.isNaN(knn.donors[i]![j]!) ? 0 : 1;
  const present = g.op("MatMul", [
    g.op("Cast", [have], { to: A.int(11) }),
    g.doubles("knn_have_T", haveT, [p, M]),
  ]);
  const dist = g.op(
    "Sqrt",
    [g.op("Mul", [g.op("Div", [g.doubles("knn_p", [p], []), present]), acc])],
    {},
    { prefix: "knn_dist" },
  );
  const anyShared = g.op("Greater", [present, zero]);
  const inf = g.doubles("knn_inf", [Number.POSITIVE_INFINITY], []);
  const imputed: string[] = [];
  for (let j = 0; j < p; j++) {
    const ok = g.op("And", [anyShared, dHave[j]!]);
    const dj = g.op("Where", [ok, dist, inf]);
    const [vals, idx] = g.node(
      "TopK",
      [dj, g.int64s("knn_k", [kk])],
      { axis: A.int(1), largest: A.int(0), sorted: A.int(1) },
      { nOutputs: 2 },
    );
    const found = g.op("Less", [vals!, inf]);
    const dv = g.op("Gather", [g.op("Reshape", [dVal[j]!, flatM]), idx!], { axis: A.int(0) });
    const sum = g.op("ReduceSum", [g.op("Where", [found, dv, zero]), axes1], { keepdims: A.int(0) });
    const cnt = g.op("ReduceSum", [g.op("Cast", [found], { to: A.int(11) }), axes1], { keepdims: A.int(0) });
    // 0 / 0 = NaN when no donor has column j: the column's own fill applies next
    const mean = g.op("Div", [sum, cnt]);
    imputed.push(g.op("Unsqueeze", [g.op("Where", [col(miss, j), mean, col(Xs, j)]), axes1]));
  }
  const Xs2 = g.op("Concat", imputed, { axis: A.int(1) });
  // back to all rows: row r with a NaN reads its position in the subset (running count - 1), the
  // others read the dummy (and keep their own values)
  const nanI = g.op("Cast", [anyNan], { to: A.int(7) });
  const pos = g.op("Sub", [
    g.op("CumSum", [nanI, g.int64s("knn_axis0", [0], [])]),
    g.int64s("knn_one", [1], []),
  ]);
  const nSub = g.op("ReduceSum", [nanI], { keepdims: A.int(0) });
  const back = g.op("Gather", [Xs2, g.op("Where", [anyNan, pos, nSub])], { axis: A.int(0) });
  const Xfull = g.op("Where", [g.op("Unsqueeze", [anyNan, axes1]), back, X], {}, { prefix: "knn_imputed" });
  knn.columns.forEach((n, j) => {
    flat.set(n, col(Xfull, j));
  });
}

/**
 * TreeEnsembleRegressor attributes from the flat trees (double thresholds and leaf values), in typed
 * arrays sized by a first pass: a 1 M-row forest has a million nodes, and a number[] per list holds
 * twice their bytes while it grows.
 */
function treeEnsembleAttrs(m: TreeEnsembleIR): Record<string, Attr> {
  const W = m.width;
  let nodes = 0;
  let targets = 0;
  for (const t of m.trees) {
    nodes += t.feature.length;
    for (let i = 0; i < t.feature.length; i++)
      if (t.feature[i]! < 0) for (let w = 0; w < W; w++) if (t.value[i * W + w]! !== 0) targets++;
  }
  // onnxruntime rejects an ensemble without any target weight; one explicit zero is harmless
  const noTargets = targets === 0;
  if (noTargets) targets = 1;
  const treeIds = new Int32Array(nodes);
  const nodeIds = new Int32Array(nodes);
  const featureIds = new Int32Array(nodes);
  const modes = new Array<string>(nodes);
  const values = new Float64Array(nodes);
  const trueIds = new Int32Array(nodes);
  const falseIds = new Int32Array(nodes);
  const missingTrue = new Int32Array(nodes);
  const tTree = new Int32Array(targets);
  const tNode = new Int32Array(targets);
  const tIds = new Int32Array(targets);
  const tWeights = new Float64Array(targets);
  let k = 0;
  let j = 0;
  m.trees.forEach((t, ti) => {
    const n = t.feature.length;
    for (let i = 0; i < n; i++, k++) {
      const leaf = t.feature[i]! < 0;
      treeIds[k] = ti;
      nodeIds[k] = i;
      featureIds[k] = leaf ? 0 : t.feature[i]!;
      modes[k] = leaf ? "LEAF" : "BRANCH_LEQ";
      values[k] = leaf ? 0 : t.threshold[i]!;
      trueIds[k] = leaf ? 0 : t.left[i]!;
      falseIds[k] = leaf ? 0 : t.right[i]!;
      missingTrue[k] = leaf ? 0 : t.missingGoesLeft[i]! ? 1 : 0;
      if (leaf) {
        for (let w = 0; w < W; w++) {
          const v = t.value[i * W + w]!;
          if (v === 0) continue; // absent target weights count as 0
          tTree[j] = ti;
          tNode[j] = i;
          tIds[j] = w;
          tWeights[j++] = v;
        }
      }
    }
  });
  if (noTargets) tNode[0] = m.trees[0]!.feature.length - 1; // tree 0's last node, target 0, weight 0
  const dbl = (data: ArrayLike<number>) => A.tensor({ type: "double", dims: [data.length], data });
  return {
    n_targets: A.int(W),
    aggregate_function: A.string(m.aggregate === "sum" ? "SUM" : "AVERAGE"),
    post_transform: A.string("NONE"),
    base_values_as_tensor: dbl([...m.base]),
    nodes_treeids: A.ints(treeIds),
    nodes_nodeids: A.ints(nodeIds),
    nodes_featureids: A.ints(featureIds),
    nodes_modes: A.strings(modes),
    nodes_values_as_tensor: dbl(values),
    nodes_truenodeids: A.ints(trueIds),
    nodes_falsenodeids: A.ints(falseIds),
    nodes_missing_value_tracks_true: A.ints(missingTrue),
    target_treeids: A.ints(tTree),
    target_nodeids: A.ints(tNode),
    target_ids: A.ints(tIds),
    target_weights_as_tensor: dbl(tWeights),
  };
}

/** One scoring model's class probabilities [N, K] double from the features X [N, F]. */
function memberProba(g: GraphBuilder, features: string, F: number, m: TreeEnsembleIR | LinearIR): string {
  let X = features;
  // score S [N, W] double
  let S: string;
  if (m.kind === "trees") {
    if (m.derived) {
      // the derived features (category-set splits read as thresholds), exact in double: 0/1 inputs
      // times integer weights
      const D = m.derived.bias.length;
      const wT = new Float64Array(F * D);
      m.derived.weights.forEach((row, d) => {
        for (let j = 0; j < F; j++) wT[j * D + d] = row[j]!;
      });
      const xd = g.op("MatMul", [X, g.doubles("derived_T", wT, [F, D])]);
      const xb = g.op("Add", [xd, g.doubles("derived_bias", m.derived.bias)], {}, { prefix: "derived" });
      X = g.op("Concat", [X, xb], { axis: A.int(1) }, { prefix: "tree_features" });
    }
    const y = g.op("TreeEnsembleRegressor", [X], treeEnsembleAttrs(m), {
      ...ML,
      prefix: "tree_scores",
      doc: `${m.trees.length} trees, ${m.aggregate}; thresholds and leaf values in double`,
    });
    S = g.op("Cast", [y], { to: A.int(11) }, { prefix: "scores" });
  } else {
    const W = m.coef.length;
    const wT = new Float64Array(F * W);
    for (let w = 0; w < W; w++) for (let j = 0; j < F; j++) wT[j * W + w] = m.coef[w]![j]!;
    const xw = g.op("MatMul", [X, g.doubles("coef_T", wT, [F, W])]);
    S = g.op("Add", [xw, g.doubles("intercept", m.intercept)], {}, { prefix: "scores" });
  }

  // transform → class probabilities P [N, K] double
  let P: string;
  if (m.transform === "logistic") {
    const p1 = g.op("Sigmoid", [S]);
    const p0 = g.op("Sub", [g.doubles("one", [1], []), p1]);
    P = g.op("Concat", [p0, p1], { axis: A.int(1) }, { prefix: "proba" });
  } else if (m.transform === "softmax") {
    P = g.op("Softmax", [S], { axis: A.int(1) }, { prefix: "proba" });
  } else {
    P = S;
  }
  return P;
}

/**
 * Export a fitted pipeline to ONNX bytes (ModelProto). Validates the IR first (NetsecError
 * BUNDLE_INVALID). Graph size is linear in the number of tree nodes / coefficients.
 */
export function exportPipelineToOnnx(ir: PipelineIR, opts: ExportOptions = {}): Uint8Array {
  checkPipelineIR(ir);
  const K = ir.nClasses;
  const F = featureCount(ir);
  const g = new GraphBuilder(
    `netsec_${ir.meta.model}`,
    `netsec ${ir.meta.model} on ${ir.meta.dataset}: raw columns → preprocessing → classifier → threat probability and label`,
  );
  const names = inputNames(ir);
  const single = ir.columns.length === 1;
  const inputOf = new Map<string, string>();
  for (const c of ir.columns) {
    const name = names.get(c.column)!;
    const doc =
      c.kind === "numeric"
        ? `raw column ${c.column} (float64, NaN = missing)`
        : `raw column ${c.column} (string, "" = missing)`;
    g.input(name, c.kind === "numeric" ? "double" : "string", single ? ["N", 1] : ["N"], doc);
    inputOf.set(c.column, name);
  }

  // 1. preprocessing → X [N, F] double
  const byName = new Map(ir.columns.map((c) => [c.column, c]));
  const flat = new Map<string, string>();
  for (const c of ir.columns) {
    const x = inputOf.get(c.column)!;
    flat.set(c.column, single ? g.op("Reshape", [x, g.int64s("shape_flat", [-1])]) : x);
  }
  if (ir.knnImputer) knnImpute(g, ir.knnImputer, flat);
  const parts = ir.featureOrder.map((n) => preprocessColumn(g, byName.get(n)!, flat.get(n)!));
  let X = parts.length === 1 ? parts[0]! : g.op("Concat", parts, { axis: A.int(1) }, { prefix: "features" });
  if (ir.scaler) {
    X = g.op("Sub", [X, g.doubles("scaler_mean", ir.scaler.mean)], {}, { prefix: "centred" });
    X = g.op("Div", [X, g.doubles("scaler_scale", ir.scaler.scale)], {}, { prefix: "scaled" });
  }
  g.valueInfo(X, "double", ["N", F]);

  // 2. model → class probabilities P [N, K] double (a soft vote: the mean of its members')
  const m = ir.model;
  let P: string;
  if (m.kind === "soft_vote") {
    // added in member order, then divided by their number, as the bundle does (onnxruntime has no
    // double kernel for Mean)
    let sum = "";
    for (const member of m.members) {
      const Pm = memberProba(g, X, F, member);
      sum = sum === "" ? Pm : g.op("Add", [sum, Pm]);
    }
    P = g.op("Div", [sum, g.doubles("members", [m.members.length], [])], {}, { prefix: "proba" });
  } else P = memberProba(g, X, F, m);
  g.valueInfo(P, "double", ["N", K]);

  // 4. threat probability p [N] double
  let p: string;
  if (K === 2) {
    const t = ir.classIsThreat.indexOf(true);
    p = g.op(
      "Gather",
      [P, g.int64s("threat_class", [t], [])],
      { axis: A.int(1) },
      { prefix: "threat_proba" },
    );
  } else {
    // Σ P[threat classes] as a chain of Adds in class order: the same additions as the bundle's
    // threatScore, so for linear models (all in double) both compare the same value with the threshold
    const threatCols = ir.classIsThreat.flatMap((x, k) => (x ? [k] : []));
    const col = (k: number) => g.op("Gather", [P, g.int64s("class", [k], [])], { axis: A.int(1) });
    p = col(threatCols[0]!);
    for (const k of threatCols.slice(1)) p = g.op("Add", [p, col(k)]);
    p = g.op("Identity", [p], {}, { prefix: "threat_proba" });
  }

  // 5. label [N]
  const labelType = ir.labels.type === "int64" ? "int64" : "string";
  const constLabels = (prefix: string, values: readonly (string | number)[]) =>
    ir.labels.type === "int64"
      ? g.int64s(prefix, values as number[])
      : g.strings(
          prefix,
          values.map((v) => String(v)),
        );
  let idx: string;
  let table: string;
  if (ir.decision === "threshold" && K === 2) {
    const t = !hasTrees(m)
      ? ir.threshold
      : m.kind === "trees"
        ? float32AtOrBelow(ir.threshold)
        : // a mean of float32-rounded tree outputs (and double ones) is no single rounded value
          multiclassTreeThreshold(ir.threshold);
    const ge = g.op("GreaterOrEqual", [p, g.doubles("threshold", [t], [])], {}, { prefix: "is_threat" });
    idx = g.op("Cast", [ge], { to: A.int(7) /* INT64 */ });
    const benign = ir.labels.values[ir.classIsThreat.indexOf(false)]!;
    const threat = ir.labels.values[ir.classIsThreat.indexOf(true)]!;
    table = constLabels("decision_labels", [benign, threat]);
  } else if (ir.decision === "threshold") {
    // the side from the threshold, then the most probable class of that side: each side's argmax
    // over P with the other side's classes set to -1 (below any probability; ArgMax takes the first
    // maximum, as the bundle does), and Where picks one per row
    const t = hasTrees(m) ? multiclassTreeThreshold(ir.threshold) : ir.threshold;
    const ge = g.op("GreaterOrEqual", [p, g.doubles("threshold", [t], [])], {}, { prefix: "is_threat" });
    const minus1 = g.doubles("not_this_side", [-1], []);
    const sideArgmax = (threat: boolean, prefix: string) => {
      const mask = g.constant(`${prefix}_classes`, {
        type: "bool",
        dims: [K],
        data: ir.classIsThreat.map((x) => x === threat),
      });
      return g.op(
        "ArgMax",
        [g.op("Where", [mask, P, minus1])],
        { axis: A.int(1), keepdims: A.int(0), select_last_index: A.int(0) },
        { prefix },
      );
    };
    idx = g.op(
      "Where",
      [ge, sideArgmax(true, "threat_argmax"), sideArgmax(false, "benign_argmax")],
      {},
      {
        prefix: "class_index",
      },
    );
    table = constLabels("class_labels", ir.labels.values);
  } else {
    idx = g.op("ArgMax", [P], { axis: A.int(1), keepdims: A.int(0), select_last_index: A.int(0) });
    table = constLabels("class_labels", ir.labels.values);
  }
  g.node("Gather", [table, idx], { axis: A.int(0) }, { outputs: [OUTPUT_LABEL] });
  g.node("Cast", [p], { to: A.int(1) /* FLOAT */ }, { outputs: [OUTPUT_PROBABILITY] });
  g.output(
    OUTPUT_LABEL,
    labelType,
    ["N"],
    ir.decision === "threshold"
      ? K === 2
        ? "threat label when probability >= threshold"
        : "most probable class label of the side (threat when probability >= threshold)"
      : "most probable class label",
  );
  g.output(OUTPUT_PROBABILITY, "float", ["N"], "probability that the row is a threat");

  const version = opts.producerVersion ?? ir.meta.netsecVersion;
  return g.toModel({
    opsets: ONNX_OPSETS,
    irVersion: ONNX_IR_VERSION,
    producerName: "netsec",
    producerVersion: version,
    domain: "netsec",
    docString: `netsec ${ir.meta.model} pipeline for ${ir.meta.dataset}`,
    metadata: {
      netsec_version: version,
      model: ir.meta.model,
      dataset: ir.meta.dataset,
      threshold: String(ir.threshold),
      decision: ir.decision,
      class_labels: JSON.stringify(ir.labels.values),
      class_is_threat: JSON.stringify(ir.classIsThreat),
      input_columns: JSON.stringify(ir.columns.map((c) => c.column)),
      input_names: JSON.stringify(ir.columns.map((c) => names.get(c.column))),
      missing_category: MISSING_CATEGORY,
      ...(ir.meta.featureNames ? { feature_names: JSON.stringify(ir.meta.featureNames) } : {}),
      ...opts.metadata,
    },
  });
}
