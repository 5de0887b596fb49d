/**
 * AdaBoost classifier, SAMME (the only algorithm of scikit-learn >= 1.6), over decision stumps
 * (max_depth 1) grown on binned data. Follows scikit-learn 1.9's `_boost_discrete`:
 *   err_m = Σ w_i [h_m(x_i) != y_i] / Σ w_i;  stop early when err_m <= 0 (weight 1);
 *   fail when err_m >= 1 − 1/K;  α_m = lr · (ln((1 − err_m)/err_m) + ln(K − 1));
 *   w_i ← w_i · exp(α_m [h_m(x_i) != y_i]), normalised.
 * predict_proba: with d_k = Σ α_m [h_m(x) = k] / Σ α_m, softmax(K·d / (K − 1)²) — scikit-learn's
 * decision function f_k = (K·d_k − 1)/(K − 1) passed through softmax(f / (K − 1)) (binary: σ(2(d_1 − d_0))).
 */
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import type { Matrix } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";
import { argmaxRows, checkFitData, checkPredictData, serialized, softmaxRows } from "./checks.ts";
import { randomStateSchema } from "./params.ts";
import { binMatrix, fitBinMapper, quantileColumns } from "./tree/binning.ts";
import { type FlatTree, leafOf } from "./tree/flat-tree.ts";
import { growClassificationTree } from "./tree/grow-classifier.ts";
import { type FlatTreeJSON, treeFromJSON, treeToJSON } from "./tree/tree-serial.ts";
import type { Classifier, FitOptions, FitReport, ModelSpec, SerializedModel } from "./types.ts";

export const AdaBoostParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(10_000).default(50),
    learningRate: z.number().gt(0).default(1.0),
    /** Depth of the base trees (scikit-learn's default estimator is a stump). */
    maxDepth: z.number().int().min(1).max(16).default(1),
    randomState: randomStateSchema,
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();

export type AdaBoostParams = z.infer<typeof AdaBoostParamsSchema>;

export class AdaBoostClassifier implements Classifier {
  readonly name = "adaboost" as const;
  readonly params: AdaBoostParams;
  nClasses = 0;
  nFeatures = 0;
  trees: FlatTree[] = [];
  /** Class predicted by each leaf of each tree (argmax of the leaf distribution). */
  leafClass: Int32Array[] = [];
  weights: number[] = [];

  constructor(params: Partial<AdaBoostParams> = {}) {
    this.params = AdaBoostParamsSchema.parse(params);
  }

  async fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    checkFitData(X, y, nClasses, this.name, true);
    const p = this.params;
    const K = nClasses;
    const n = X.nRows;
    const mapper = fitBinMapper(X, { maxBins: p.maxBins, seed: p.randomState });
    const bins = binMatrix(X, mapper);
    const data = {
      bins,
      nRows: n,
      nFeatures: X.nCols,
      thresholds: mapper.thresholds,
      cuts: mapper.cuts,
      raw: quantileColumns(X, mapper, bins),
    };
    const w = new Float64Array(n);
    let ws = 0;
    for (let i = 0; i < n; i++) ws += w[i] = opts.sampleWeight ? opts.sampleWeight[i]! : 1;
    for (let i = 0; i < n; i++) w[i]! /= ws;
    const master = new Rng(p.randomState);
    this.trees = [];
    this.leafClass = [];
    this.weights = [];
    const pred = new Int32Array(n);
    for (let m = 0; m < p.nEstimators; m++) {
      opts.signal?.throwIfAborted();
      const tree = growClassificationTree(
        data,
        y,
        K,
        w,
        {
          criterion: "gini",
          maxDepth: p.maxDepth,
          minSamplesSplit: 2,
          minSamplesLeaf: 1,
          maxFeatures: X.nCols,
          minImpurityDecrease: 0,
          maxLeafNodes: Number.POSITIVE_INFINITY,
        },
        master.fork(m),
      );
      const lc = leafClasses(tree);
      let err = 0;
      let tot = 0;
      for (let i = 0; i < n; i++) {
        pred[i] = lc[leafOf(tree, X.data, n, i)]!;
        if (pred[i] !== y[i]) err += w[i]!;
        tot += w[i]!;
      }
      err /= tot;
      if (err <= 0) {
        this.trees.push(tree);
        this.leafClass.push(lc);
        this.weights.push(1);
        opts.onProgress?.(p.nEstimators, p.nEstimators);
        break;
      }
      if (err >= 1 - 1 / K) {
        if (this.trees.length === 0) {
          throw new NetsecError(
            "DATA_INVALID",
            `adaboost: the first base estimator is no better than chance (error ${err.toFixed(4)})`,
            {},
          );
        }
        opts.onProgress?.(p.nEstimators, p.nEstimators);
        break;
      }
      const alpha = p.learningRate * (Math.log((1 - err) / err) + Math.log(K - 1));
      this.trees.push(tree);
      this.leafClass.push(lc);
      this.weights.push(alpha);
      if (m === p.nEstimators - 1) {
        opts.onProgress?.(m + 1, p.nEstimators);
        break;
      }
      let s = 0;
      for (let i = 0; i < n; i++) {
        if (pred[i] !== y[i] && w[i]! > 0) w[i] = Math.exp(Math.log(w[i]!) + alpha);
        s += w[i]!;
      }
      for (let i = 0; i < n; i++) w[i]! /= s;
      opts.onProgress?.(m + 1, p.nEstimators);
    }
    this.nClasses = K;
    this.nFeatures = X.nCols;
    return { fitSeconds: (performance.now() - t0) / 1000, counters: { estimators: this.trees.length } };
  }

  /** Row-major decision values d_k (normalised by the weight sum). */
  private decision(X: Matrix): Float64Array {
    const K = this.nClasses;
    const n = X.nRows;
    const d = new Float64Array(n * K);
    let wsum = 0;
    for (const a of this.weights) wsum += a;
    for (let m = 0; m < this.trees.length; m++) {
      const t = this.trees[m]!;
      const lc = this.leafClass[m]!;
      const a = this.weights[m]! / wsum;
      for (let r = 0; r < n; r++) d[r * K + lc[leafOf(t, X.data, n, r)]!]! += a;
    }
    return d;
  }

  predictProba(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const K = this.nClasses;
    // scikit-learn: decision f_k = d_k·K/(K−1) − 1/(K−1); proba = softmax(f/(K−1)) (binary: the same
    // through softmax([−f, f]/2)); the constant cancels, leaving softmax(K·d/(K−1)²).
    return softmaxRows(this.decision(X), X.nRows, K, K / ((K - 1) * (K - 1)));
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  /** Contribution of each feature to class `cls`'s decision value: the weights of the stumps splitting on it that vote for cls. */
  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(this.nFeatures);
    let wsum = 0;
    for (const a of this.weights) wsum += a;
    for (let m = 0; m < this.trees.length; m++) {
      const t = this.trees[m]!;
      const leaf = leafOf(t, X.data, X.nRows, row);
      const f = t.feature[0]!;
      if (f < 0) continue;
      const vote = this.leafClass[m]![leaf] === cls ? 1 : -1 / (this.nClasses - 1);
      out[f]! += (vote * this.weights[m]!) / wsum;
    }
    return out;
  }

  /** The first n stumps (a fit that stopped early at fewer keeps them all, as a fit with n would). */
  truncate(nEstimators: number): AdaBoostClassifier {
    const m = new AdaBoostClassifier({ ...this.params, nEstimators });
    m.trees = this.trees.slice(0, nEstimators);
    m.leafClass = this.leafClass.slice(0, nEstimators);
    m.weights = this.weights.slice(0, nEstimators);
    m.nClasses = this.nClasses;
    m.nFeatures = this.nFeatures;
    return m;
  }

  toJSON(): SerializedModel {
    return serialized(this, { trees: this.trees.map(treeToJSON), weights: this.weights });
  }

  static fromJSON(s: SerializedModel): AdaBoostClassifier {
    const m = new AdaBoostClassifier(AdaBoostParamsSchema.parse(s.params));
    const st = s.state as { trees: FlatTreeJSON[]; weights: number[] };
    m.trees = st.trees.map(treeFromJSON);
    m.leafClass = m.trees.map(leafClasses);
    m.weights = st.weights.slice();
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

function leafClasses(t: FlatTree): Int32Array {
  const out = new Int32Array(t.nNodes).fill(-1);
  for (let i = 0; i < t.nNodes; i++) {
    let best = 0;
    for (let c = 1; c < t.k; c++) if (t.value[i * t.k + c]! > t.value[i * t.k + best]!) best = c;
    out[i] = best;
  }
  return out;
}

export const adaBoostSpec: ModelSpec<AdaBoostParams> = {
  name: "adaboost",
  title: "AdaBoost (SAMME)",
  paramSchema: AdaBoostParamsSchema,
  defaultGrid: { learning_rate: [0.1, 0.01, 0.001], n_estimators: [8, 16, 32, 64, 128, 256] },
  capabilities: {
    multiclass: true,
    sampleWeight: true,
    needsScaling: false,
    parallelFit: false,
    staged: true,
  },
  create: (params) => new AdaBoostClassifier(params),
  fromJSON: (s) => AdaBoostClassifier.fromJSON(s),
};
