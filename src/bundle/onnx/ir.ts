/**
 * `PipelineIR`: a neutral description of a fitted netsec pipeline (raw columns → preprocessing →
 * classifier → threat probability → label), independent of how each estimator stores its state.
 * `from-models.ts` builds it from fitted models; `export.ts` turns it into an ONNX graph;
 * `reference.ts` evaluates it in plain TypeScript (float64) as the oracle the ONNX graph is checked
 * against.
 *
 * Semantics, in order:
 * 1. Inputs: one per raw column. Numeric columns are float64 with NaN for missing; categorical columns
 *    are strings with {@link MISSING_CATEGORY} ("") for missing.
 * 2. Optional KNN imputation (scikit-learn's KNNImputer, uniform weights): in a row with a NaN among
 *    `knnImputer.columns`, each NaN of column j becomes the mean of column j over the k donor rows
 *    nearest to the row that have column j, by nan_euclidean distance over those columns
 *    (sqrt(p / present · Σ over co-present columns (x - d)²); donors with no co-present column are
 *    never neighbours); ties go to the lower donor index. Without such a donor the NaN stays (and
 *    `impute` fills it next).
 * 3. Per column: numeric → NaN replaced by `impute` (when not null) → one feature. Categorical →
 *    missing replaced by `impute` (when not null) → one-hot over `categories`; a value not in
 *    `categories` (unseen at fit, or missing without a fill) is an all-zero row (scikit-learn's
 *    `handle_unknown="ignore"`).
 * 4. The per-column features are concatenated in `featureOrder` (column names), giving F features.
 * 5. Optional `scaler` over the whole F-vector: (x - mean[j]) / scale[j] (one-hot features usually have
 *    mean 0, scale 1).
 * 6. The model gives a score vector of width W, then a transform gives class probabilities P (K)
 *    (a soft vote: the mean of its members' P, each member as below):
 *    - "identity": P = score (W = K), e.g. a forest's averaged leaf distributions;
 *    - "logistic": W = 1, P = [1 - σ(s), σ(s)];
 *    - "softmax":  W = K, P = softmax(s).
 *    Tree ensembles: each tree maps the row to a leaf (`x[feature] <= threshold` goes left; NaN goes
 *    left when `missingGoesLeft`), whose `W` values are summed ("sum") or averaged ("average") over the
 *    trees and added to `base`. Linear: s = coef · x + intercept. A tree ensemble may read `derived`
 *    features after the F preprocessed ones: feature F + d = bias[d] + Σ_j weights[d][j] · x_j (how a
 *    category-set split on a one-hot block becomes a threshold split: see category-features.ts).
 * 7. Threat probability: binary (K = 2) → P[threat class]; multiclass → Σ P[threat classes], added in
 *    class order (as the bundle adds them, so both decide on the same sum).
 * 8. Label: "threshold" → the threshold on the threat probability decides the side (threat when
 *    probability >= threshold), then the label of the most probable class of that side (first on
 *    ties; with two classes, the side's only class) — the bundle's rule (decideClasses in
 *    bundle.ts); "argmax" → label of the most probable class (first on ties).
 */
import { NetsecError } from "../../core/errors.ts";

/** How a missing categorical value is written in the ONNX string inputs (and MLflow DataFrames). */
export const MISSING_CATEGORY = "";

export interface NumericColumnIR {
  kind: "numeric";
  /** Raw column name (the dataset schema's). */
  column: string;
  /** Value that replaces NaN (imputer statistic), or null to let NaN through to the model. */
  impute: number | null;
}

export interface CategoricalColumnIR {
  kind: "categorical";
  column: string;
  /** Category that replaces a missing value (most frequent at fit), or null (missing → all zeros). */
  impute: string | null;
  /** One-hot categories, in output order. Must not contain MISSING_CATEGORY. */
  categories: readonly string[];
}

export type ColumnIR = NumericColumnIR | CategoricalColumnIR;

/** One tree, flat: node i is a leaf when feature[i] < 0. Leaf values are `value[i * width + w]`. */
export interface TreeIR {
  feature: ArrayLike<number>;
  /** Raw feature units (after preprocessing); x <= threshold goes left. */
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  /** 1 when NaN goes left at this node. */
  missingGoesLeft: ArrayLike<number>;
  /** nNodes × width; only leaves' rows are read. */
  value: ArrayLike<number>;
}

export interface TreeEnsembleIR {
  kind: "trees";
  /** Score width W: K for forests/AdaBoost/multiclass boosting, 1 for binary boosting. */
  width: number;
  trees: readonly TreeIR[];
  aggregate: "sum" | "average";
  /** Added to the aggregated score (boosting's init prior); length W. */
  base: readonly number[];
  transform: "identity" | "logistic" | "softmax";
  /** Linear features of the preprocessed row the trees may also read (features F, F + 1, …). */
  derived?: DerivedFeaturesIR;
}

/** D features, each bias[d] + weights[d] · x over the F preprocessed features x. */
export interface DerivedFeaturesIR {
  weights: readonly (readonly number[])[];
  bias: readonly number[];
}

export interface LinearIR {
  kind: "linear";
  /** W × F, row-major rows. W = 1 (logistic) or K (softmax). */
  coef: readonly (readonly number[])[];
  intercept: readonly number[];
  transform: "logistic" | "softmax";
}

/**
 * Soft voting: each member's class probabilities (its own score and transform, as above), added in
 * member order and divided by their number (P = mean of the members' P; no transform after).
 */
export interface SoftVoteIR {
  kind: "soft_vote";
  members: readonly (TreeEnsembleIR | LinearIR)[];
}

export type ModelIR = TreeEnsembleIR | LinearIR | SoftVoteIR;

/** Output label values per class: the dataset's own values, as strings or (when all are integers) int64. */
export type LabelsIR =
  | { type: "string"; values: readonly string[] }
  | { type: "int64"; values: readonly number[] };

/** KNN imputation over a block of numeric columns (see step 2 above). */
export interface KnnImputerIR {
  /** Numeric columns, in donor value order (p of them). */
  columns: readonly string[];
  /** Neighbours k (>= 1). */
  k: number;
  /** M donor rows × p values, NaN for missing. */
  donors: readonly (readonly number[])[];
}

export interface PipelineIR {
  /** Raw input columns, in input order. */
  columns: readonly ColumnIR[];
  /** KNN imputation before the per-column fill (absent/null: none). */
  knnImputer?: KnnImputerIR | null;
  /** Column names in the order their features are concatenated (a subset of `columns`). */
  featureOrder: readonly string[];
  /** Optional standardisation of the concatenated features (length F each). */
  scaler: { mean: readonly number[]; scale: readonly number[] } | null;
  model: ModelIR;
  /** Number of classes K. */
  nClasses: number;
  /** Per class: is it a threat? */
  classIsThreat: readonly boolean[];
  labels: LabelsIR;
  /** Decision threshold on the threat probability (decision "threshold"). */
  threshold: number;
  decision: "threshold" | "argmax";
  /** Free-form provenance, written to the ONNX metadata. */
  meta: {
    model: string;
    dataset: string;
    netsecVersion: string;
    /** Names of the F features (for the doc string and metadata), when known. */
    featureNames?: readonly string[];
  };
}

/** Output names of every exported graph. */
export const OUTPUT_LABEL = "label";
export const OUTPUT_PROBABILITY = "probability";

/**
 * ONNX input name per raw column. Column names are kept as they are (ONNX allows any string, and
 * MLflow's onnx pyfunc feeds DataFrame columns to inputs of the same name), except that an empty name,
 * a duplicate, or a clash with the output names "label"/"probability" gets a suffix.
 */
export function inputNames(ir: Pick<PipelineIR, "columns">): Map<string, string> {
  const taken = new Set([OUTPUT_LABEL, OUTPUT_PROBABILITY]);
  const out = new Map<string, string>();
  for (const c of ir.columns) {
    let name = c.column === "" ? "column" : c.column;
    if (taken.has(name)) {
      let k = 1;
      while (taken.has(`${name}_in${k === 1 ? "" : k}`)) k++;
      name = `${name}_in${k === 1 ? "" : k}`;
    }
    taken.add(name);
    out.set(c.column, name);
  }
  return out;
}

/** Number of features a column contributes. */
export function columnWidth(c: ColumnIR): number {
  return c.kind === "numeric" ? 1 : c.categories.length;
}

/** Number of features F after concatenation. */
export function featureCount(ir: Pick<PipelineIR, "columns" | "featureOrder">): number {
  const byName = new Map(ir.columns.map((c) => [c.column, c]));
  let f = 0;
  for (const n of ir.featureOrder) f += columnWidth(byName.get(n)!);
  return f;
}

function bad(message: string, details: Record<string, unknown> = {}): NetsecError {
  return new NetsecError("BUNDLE_INVALID", `pipeline IR: ${message}`, details);
}

/** Check an IR for internal consistency; throws NetsecError BUNDLE_INVALID naming the problem. */
export function checkPipelineIR(ir: PipelineIR): void {
  const names = new Set<string>();
  for (const c of ir.columns) {
    if (names.has(c.column))
      throw bad(`column ${JSON.stringify(c.column)} appears twice`, { column: c.column });
    names.add(c.column);
    if (c.kind === "numeric" && c.impute !== null && !Number.isFinite(c.impute)) {
      throw bad(`column ${c.column}: impute value ${c.impute} is not finite`, { column: c.column });
    }
    if (c.kind === "categorical") {
      if (c.categories.includes(MISSING_CATEGORY)) {
        throw bad(
          `column ${c.column}: the empty string is reserved for missing values and cannot be a category`,
          {
            column: c.column,
          },
        );
      }
      if (new Set(c.categories).size !== c.categories.length) {
        throw bad(`column ${c.column}: duplicate categories`, { column: c.column });
      }
    }
  }
  if (ir.knnImputer) {
    const knn = ir.knnImputer;
    const byName = new Map(ir.columns.map((c) => [c.column, c]));
    for (const n of knn.columns) {
      if (byName.get(n)?.kind !== "numeric")
        throw bad(`knnImputer column ${JSON.stringify(n)} is not a numeric column`, { column: n });
    }
    if (new Set(knn.columns).size !== knn.columns.length) throw bad("knnImputer names a column twice");
    if (!Number.isInteger(knn.k) || knn.k < 1) throw bad(`knnImputer k must be >= 1, got ${knn.k}`);
    if (knn.donors.length === 0) throw bad("knnImputer has no donor rows");
    knn.donors.forEach((d, i) => {
      if (d.length !== knn.columns.length)
        throw bad(`knnImputer donor ${i} has ${d.length} values, expected ${knn.columns.length}`);
    });
  }
  const used = new Set<string>();
  for (const n of ir.featureOrder) {
    if (!names.has(n)) throw bad(`featureOrder names unknown column ${JSON.stringify(n)}`, { column: n });
    if (used.has(n)) throw bad(`featureOrder names column ${JSON.stringify(n)} twice`, { column: n });
    used.add(n);
  }
  const F = featureCount(ir);
  if (F === 0) throw bad("no features");
  if (ir.scaler && (ir.scaler.mean.length !== F || ir.scaler.scale.length !== F)) {
    throw bad(`scaler has ${ir.scaler.mean.length}/${ir.scaler.scale.length} values, expected ${F}`);
  }
  const K = ir.nClasses;
  if (!Number.isInteger(K) || K < 2) throw bad(`nClasses must be >= 2, got ${K}`);
  if (ir.classIsThreat.length !== K)
    throw bad(`classIsThreat has ${ir.classIsThreat.length} entries, expected ${K}`);
  if (ir.labels.values.length !== K) throw bad(`labels has ${ir.labels.values.length} values, expected ${K}`);
  if (ir.labels.type === "int64" && !ir.labels.values.every((v) => Number.isSafeInteger(v))) {
    throw bad("int64 labels must be integers");
  }
  const nThreat = ir.classIsThreat.filter(Boolean).length;
  if (nThreat === 0 || nThreat === K)
    throw bad("classIsThreat must mark at least one threat and one benign class");
  if (!(ir.threshold >= 0 && ir.threshold <= 1))
    throw bad(`threshold must be in [0, 1], got ${ir.threshold}`);
  const m = ir.model;
  if (m.kind === "soft_vote") {
    if (m.members.length < 2) throw bad(`soft vote has ${m.members.length} member(s), needs at least 2`);
    m.members.forEach((member, i) => {
      checkModelIR(member, K, F, `soft vote member ${i}: `);
    });
  } else checkModelIR(m, K, F, "");
}

/** One scoring model's shapes against K classes and F features (`at` prefixes the messages). */
function checkModelIR(m: TreeEnsembleIR | LinearIR, K: number, F: number, at: string): void {
  const fail = (message: string) => bad(`${at}${message}`);
  const W = m.kind === "trees" ? m.width : m.coef.length;
  const expectW = m.transform === "logistic" ? 1 : K;
  if (m.transform === "logistic" && K !== 2) throw fail(`logistic transform needs 2 classes, got ${K}`);
  if (W !== expectW)
    throw fail(`model score width ${W} does not fit transform ${m.transform} with ${K} classes`);
  if (m.kind === "linear") {
    if (m.intercept.length !== W) throw fail(`intercept has ${m.intercept.length} values, expected ${W}`);
    m.coef.forEach((row, i) => {
      if (row.length !== F) throw fail(`coef row ${i} has ${row.length} values, expected ${F} features`);
    });
    return;
  }
  if (m.trees.length === 0) throw fail("tree ensemble has no trees");
  if (m.base.length !== W) throw fail(`base has ${m.base.length} values, expected ${W}`);
  const D = m.derived?.bias.length ?? 0;
  m.derived?.weights.forEach((row, d) => {
    if (row.length !== F) throw fail(`derived feature ${d} has ${row.length} weights, expected ${F}`);
  });
  if (m.derived && m.derived.weights.length !== D)
    throw fail(`${m.derived.weights.length} derived weight rows for ${D} biases`);
  m.trees.forEach((t, ti) => {
    const n = t.feature.length;
    if (
      t.threshold.length !== n ||
      t.left.length !== n ||
      t.right.length !== n ||
      t.missingGoesLeft.length !== n ||
      t.value.length !== n * W
    ) {
      throw fail(`tree ${ti}: array lengths disagree (${n} nodes, width ${W})`);
    }
    for (let i = 0; i < n; i++) {
      const f = t.feature[i]!;
      if (f < 0) continue;
      if (f >= F + D) throw fail(`tree ${ti} node ${i}: feature ${f} out of range (F = ${F}, ${D} derived)`);
      const l = t.left[i]!;
      const r = t.right[i]!;
      // children come after their parent in every flat layout we build, which also rules out cycles
      if (!(l > i && l < n && r > i && r < n))
        throw fail(`tree ${ti} node ${i}: children ${l}, ${r} out of range`);
      if (Number.isNaN(t.threshold[i]!)) throw fail(`tree ${ti} node ${i}: threshold is NaN`);
    }
  });
}
