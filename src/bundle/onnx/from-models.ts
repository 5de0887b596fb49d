/**
 * Fitted netsec state → PipelineIR: the column transformer's JSON state (src/preprocess) and a
 * classifier's `toJSON()` (SerializedModel) become the neutral IR that export.ts turns into ONNX.
 * Each converter mirrors the model's own `predictProba` exactly (what is summed, averaged, scaled and
 * which transform follows), so the exported graph can be checked against it to 1e-5.
 *
 * Model state formats read here (formatVersion 1 of each):
 * - decision_tree `{ tree }`, random_forest `{ trees }`: flat trees whose node values are class
 *   distributions; the forest averages them.
 * - gradient_boosting and hist_gradient_boosting `{ init, trees }`: trees[iteration · R + k] adds its
 *   (single) leaf value to raw score k (R = 1 for binary, K otherwise); binary → logistic, multiclass
 *   → softmax. Missing values follow each node's missingLeft (nodes_missing_value_tracks_true).
 *   hist_gradient_boosting's category-set splits (and its `inputs`, one-hot blocks read as category
 *   features) become threshold splits on derived features: category-features.ts.
 * - adaboost `{ trees, weights }`: each tree votes its leaf's argmax class with weight α_m / Σα;
 *   netsec's predictProba is softmax(d) for K = 2 and softmax(d / (K - 1)) otherwise, so the vote is
 *   folded into leaf values scaled by 1 (K = 2) or 1/(K - 1).
 * - logistic_regression `{ coef (R × p, row-major), intercept (R) }`.
 * - soft_voting `{ members }`: each member's own SerializedModel (any of the above), converted as
 *   that model, their probabilities averaged (a soft vote).
 * Tree thresholds: the growers write +Infinity for "every non-missing value goes left", which JSON
 * turns into null; an internal node's null threshold is read back as +Infinity here.
 */
import { NetsecError } from "../../core/errors.ts";
import type { FlatTreeJSON } from "../../models/tree/tree-serial.ts";
import type { SerializedModel } from "../../models/types.ts";
import type { TransformerState } from "../../preprocess/column-transformer.ts";
import { type CategoryTreeState, categoryTrees, type TreeInputsState } from "./category-features.ts";
import type { ColumnIR, LabelsIR, ModelIR, PipelineIR, TreeIR } from "./ir.ts";

/** The flat tree JSON of src/models/tree/tree-serial.ts (formatVersion 1); the weights are not exported. */
type FlatTreeState = Omit<FlatTreeJSON, "weight" | "categorical">;

export interface PipelineIRInput {
  /** ColumnTransformer#toJSON(). */
  preprocess: TransformerState;
  /** Classifier#toJSON(). */
  model: SerializedModel;
  /** Dataset label value per class index (the strings the bundle outputs). */
  classLabels: readonly string[];
  classIsThreat: readonly boolean[];
  /** Decision threshold on the threat probability. */
  threshold: number;
  /**
   * Default "threshold": the bundle's rule (the threshold decides threat vs benign, then the most
   * probable class of that side), so the export labels rows as the bundle it is verified against.
   */
  decision?: "threshold" | "argmax";
  dataset: string;
  netsecVersion: string;
}

function bad(message: string): NetsecError {
  return new NetsecError("BUNDLE_INVALID", `ONNX export: ${message}`, {});
}

/** Labels as int64 when every label is an integer literal (phishing's "-1"/"1"), else strings. */
export function labelsIR(labels: readonly string[]): LabelsIR {
  const ints = labels.every((l) => /^-?\d+$/.test(l) && Number.isSafeInteger(Number(l)));
  return ints ? { type: "int64", values: labels.map(Number) } : { type: "string", values: [...labels] };
}

function treeIR(
  t: FlatTreeState,
  width: number,
  place?: (leafValues: number[], out: number[]) => void,
): TreeIR {
  const n = t.feature.length;
  const value = new Float64Array(n * width);
  const threshold = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const leaf = t.feature[i]! < 0;
    const th = t.threshold[i];
    threshold[i] = leaf ? 0 : th === null || th === undefined ? Number.POSITIVE_INFINITY : th;
    if (!leaf) continue;
    const own = t.value.slice(i * t.k, (i + 1) * t.k);
    if (place) {
      const out = new Array<number>(width).fill(0);
      place(own, out);
      value.set(out, i * width);
    } else {
      if (t.k !== width) throw bad(`tree has ${t.k} values per node, expected ${width}`);
      value.set(own, i * width);
    }
  }
  return {
    feature: t.feature,
    threshold,
    left: t.left,
    right: t.right,
    missingGoesLeft: t.missingLeft,
    value,
  };
}

/** Model IR from a SerializedModel (see the file comment for each format). */
export function modelIR(s: SerializedModel): ModelIR {
  const K = s.nClasses;
  if (s.formatVersion !== 1)
    throw bad(`${s.model} state format ${s.formatVersion} is not supported (expected 1)`);
  switch (s.model) {
    case "decision_tree": {
      const st = s.state as { tree: FlatTreeState | null };
      if (!st.tree) throw bad("decision_tree is not fitted");
      return {
        kind: "trees",
        width: K,
        trees: [treeIR(st.tree, K)],
        aggregate: "average",
        base: new Array(K).fill(0),
        transform: "identity",
      };
    }
    case "random_forest": {
      const st = s.state as { trees: FlatTreeState[] };
      return {
        kind: "trees",
        width: K,
        trees: st.trees.map((t) => treeIR(t, K)),
        aggregate: "average",
        base: new Array(K).fill(0),
        transform: "identity",
      };
    }
    case "gradient_boosting":
    case "hist_gradient_boosting": {
      const st = s.state as { init: number[]; trees: CategoryTreeState[]; inputs?: TreeInputsState };
      const R = K === 2 ? 1 : K;
      const { trees, derived } = categoryTrees(st.trees, st.inputs ?? null, s.nFeatures);
      return {
        kind: "trees",
        width: R,
        ...(derived ? { derived } : {}),
        trees: trees.map((t, i) =>
          treeIR(t, R, (v, out) => {
            out[i % R] = v[0]!;
          }),
        ),
        aggregate: "sum",
        base: [...st.init],
        transform: R === 1 ? "logistic" : "softmax",
      };
    }
    case "adaboost": {
      const st = s.state as { trees: FlatTreeState[]; weights: number[] };
      let wsum = 0;
      for (const a of st.weights) wsum += a;
      const scale = K / ((K - 1) * (K - 1)); // as AdaBoostClassifier.predictProba (scikit-learn's SAMME probabilities)
      return {
        kind: "trees",
        width: K,
        trees: st.trees.map((t, m) =>
          treeIR(t, K, (v, out) => {
            let best = 0; // first maximum, as the model's leafClasses
            for (let c = 1; c < v.length; c++) if (v[c]! > v[best]!) best = c;
            out[best] = (st.weights[m]! / wsum) * scale;
          }),
        ),
        aggregate: "sum",
        base: new Array(K).fill(0),
        transform: "softmax",
      };
    }
    case "logistic_regression": {
      const st = s.state as { coef: number[]; intercept: number[] };
      const R = K === 2 ? 1 : K;
      const p = s.nFeatures;
      if (st.coef.length !== R * p)
        throw bad(`logistic_regression has ${st.coef.length} coefficients, expected ${R * p}`);
      return {
        kind: "linear",
        coef: Array.from({ length: R }, (_, k) => st.coef.slice(k * p, (k + 1) * p)),
        intercept: [...st.intercept],
        transform: R === 1 ? "logistic" : "softmax",
      };
    }
    case "soft_voting": {
      const st = s.state as { members: SerializedModel[] };
      return {
        kind: "soft_vote",
        members: st.members.map((member, i) => {
          const ir = modelIR(member);
          if (ir.kind === "soft_vote") throw bad(`soft_voting member ${i} is itself a soft vote`);
          if (member.nClasses !== K || member.nFeatures !== s.nFeatures)
            throw bad(
              `soft_voting member ${i} (${member.model}) does not fit the ensemble's classes and features`,
            );
          return ir;
        }),
      };
    }
    default:
      throw bad(`model ${JSON.stringify(s.model)} cannot be exported`);
  }
}

/**
 * PipelineIR from fitted preprocessing + classifier state. Features are the transformer's: numeric
 * columns (imputed, then standardised when `scale`) followed by the one-hot blocks of the categorical
 * columns; KNN imputation keeps its donor rows (JSON null = NaN).
 */
export function pipelineIRFromModels(x: PipelineIRInput): PipelineIR {
  const pre = x.preprocess;
  if (pre?.format !== "netsec-column-transformer" || pre.version !== 1) {
    throw bad("preprocess state is not a netsec column transformer (version 1)");
  }
  const K = x.model.nClasses;
  if (x.classLabels.length !== K || x.classIsThreat.length !== K) {
    throw bad(`${K} classes but ${x.classLabels.length} labels and ${x.classIsThreat.length} threat flags`);
  }
  const columns: ColumnIR[] = [
    ...pre.numeric.map((c): ColumnIR => ({ kind: "numeric", column: c.name, impute: c.fill })),
    ...pre.categorical.map(
      (c): ColumnIR => ({ kind: "categorical", column: c.name, impute: c.fill, categories: c.categories }),
    ),
  ];
  const nOneHot = pre.categorical.reduce((a, c) => a + c.categories.length, 0);
  const F = pre.numeric.length + nOneHot;
  if (F !== x.model.nFeatures)
    throw bad(`preprocessing gives ${F} features but ${x.model.model} expects ${x.model.nFeatures}`);
  const scaler = pre.scale
    ? {
        mean: [...pre.numeric.map((c) => c.mean), ...new Array<number>(nOneHot).fill(0)],
        scale: [...pre.numeric.map((c) => c.scale), ...new Array<number>(nOneHot).fill(1)],
      }
    : null;
  const knnImputer =
    pre.knn && pre.numeric.length > 0
      ? {
          columns: pre.numeric.map((c) => c.name),
          k: pre.knn.k,
          donors: pre.knn.donors.map((d) => d.map((v) => (v === null || v === undefined ? Number.NaN : v))),
        }
      : null;
  return {
    columns,
    knnImputer,
    featureOrder: columns.map((c) => c.column),
    scaler,
    model: modelIR(x.model),
    nClasses: K,
    classIsThreat: [...x.classIsThreat],
    labels: labelsIR(x.classLabels),
    threshold: x.threshold,
    decision: x.decision ?? "threshold",
    meta: {
      model: x.model.model,
      dataset: x.dataset,
      netsecVersion: x.netsecVersion,
      featureNames: [
        ...pre.numeric.map((c) => c.name),
        ...pre.categorical.flatMap((c) => c.categories.map((v) => `${c.name}=${v}`)),
      ],
    },
  };
}
