/**
 * Histogram gradient boosting in the LightGBM / scikit-learn HistGradientBoostingClassifier family,
 * with scikit-learn's parameter names and defaults: leaf-wise trees of at most max_leaf_nodes (31)
 * leaves on features binned into max_bins (255) bins plus one for missing values, Newton leaves
 * −G / (H + l2_regularization) shrunk by learning_rate, min_samples_leaf (20) rows a leaf,
 * min_child_weight (XGBoost's name; 1e-3, scikit-learn's fixed min_hessian_to_split) summed hessian a leaf, learned
 * direction for missing values, log-loss (binary: one tree per iteration; multiclass: softmax, one tree
 * per class per iteration), class_weight, and early stopping on a stratified validation_fraction
 * ("auto": on above 10,000 rows). Beyond scikit-learn: `subsample`, LightGBM's bagging (a share of the
 * rows, drawn per iteration without replacement; scikit-learn has no row subsampling).
 *
 * Kernels live in ./hgb/ (histogram, split, grower, loss, early stopping, the fitted ensemble's
 * prediction and explanations). Every random draw of iteration i comes from its own stream
 * (mixSeed(random_state, i)), so a fit with max_iter = n is the first n iterations of a fit with more
 * (capabilities.staged; early stopping included: whether to stop after an iteration depends only on
 * the iterations before it).
 *
 * Native categorical features (scikit-learn's `categorical_features`: column indices, a boolean mask
 * or column names; their values are category codes 0..255) split into category sets, as
 * scikit-learn's (./hgb/categorical.ts). A name may also be a categorical column that reaches the
 * model one-hot encoded (the transformer's `name=value` block), read back as one category feature
 * (./hgb/categorical-inputs.ts): the netsec pipeline's default. Not yet: monotonic and interaction
 * constraints.
 */
import { z } from "zod";
import { type Matrix, takeRows } from "../core/frame.ts";
import { mixSeed, Rng } from "../core/rng.ts";
import {
  argmaxRows,
  checkFitData,
  checkFitShape,
  checkPredictData,
  checkValues,
  classWeights,
  serialized,
} from "./checks.ts";
import { classWeightSchema } from "./decision-tree.ts";
import { BOOST_ROWS_PARALLEL_MIN, boostRows, boostRowsState } from "./hgb/boost-rows.ts";
import { binCategories, findCategories } from "./hgb/categorical.ts";
import { inputContributions, planTreeInputs, type TreeInputs, treeMatrix } from "./hgb/categorical-inputs.ts";
import { shouldStop, stratifiedSplit } from "./hgb/early-stopping.ts";
import { BoostedTrees } from "./hgb/ensemble.ts";
import { binOnTwoThreads, sparseRowsOnTwoThreads } from "./hgb/fit-input.ts";
import { type GrowInput, growScratch, growTree } from "./hgb/grower.ts";
import { HistPool, histOffsets, histScratch } from "./hgb/histogram.ts";
import { baseline, gradients, logLoss } from "./hgb/loss.ts";
import { MIN_HESSIAN_TO_SPLIT } from "./hgb/split.ts";
import { fitHelperOff, fitMemory, type WasmFitKernels, wasmFitKernels } from "./hgb/wasm-kernels.ts";
import { randomStateSchema } from "./params.ts";
import { MISSING_BIN } from "./tree/binning.ts";
import { type FlatTree, leafOf } from "./tree/flat-tree.ts";
import { type FlatTreeJSON, treeFromJSON, treeToJSON } from "./tree/tree-serial.ts";
import type { Classifier, FitOptions, FitReport, ModelSpec, SerializedModel } from "./types.ts";

export const HistGradientBoostingParamsSchema = z
  .object({
    learningRate: z.number().gt(0).max(10).default(0.1),
    maxIter: z.number().int().min(1).max(100_000).default(100),
    maxLeafNodes: z.number().int().min(2).nullable().default(31),
    maxDepth: z.number().int().min(1).nullable().default(null),
    minSamplesLeaf: z.number().int().min(1).default(20),
    /**
     * XGBoost's min_child_weight (LightGBM's min_sum_hessian_in_leaf): the least summed hessian a child
     * may have. Hessians are scikit-learn's w·p(1 − p); XGBoost's softmax doubles them (multiclass).
     */
    minChildWeight: z.number().min(0).default(MIN_HESSIAN_TO_SPLIT),
    l2Regularization: z.number().min(0).default(0),
    maxFeatures: z.number().gt(0).max(1).default(1),
    maxBins: z.number().int().min(2).max(255).default(255),
    earlyStopping: z.union([z.literal("auto"), z.boolean()]).default("auto"),
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    nIterNoChange: z.number().int().min(1).default(10),
    tol: z.number().min(0).default(1e-7),
    classWeight: classWeightSchema.default(null),
    subsample: z.number().gt(0).max(1).default(1),
    /** Column indices, a boolean mask over the columns, or column names; null: none. */
    categoricalFeatures: z
      .union([z.array(z.number().int().min(0)), z.array(z.boolean()), z.array(z.string())])
      .nullable()
      .default(null),
    randomState: randomStateSchema,
  })
  .strict();

const treeInputsSchema = z
  .object({
    keep: z.array(z.number().int().min(0)),
    blocks: z.array(z.array(z.number().int().min(0)).min(1)),
    blockNames: z.array(z.string()),
  })
  .strict();

export type HistGradientBoostingParams = z.infer<typeof HistGradientBoostingParamsSchema>;

/** Rows above which early_stopping "auto" is on (scikit-learn's threshold). */
export const AUTO_EARLY_STOPPING_ROWS = 10_000;

export class HistGradientBoostingClassifier implements Classifier {
  readonly name = "hist_gradient_boosting" as const;
  readonly params: HistGradientBoostingParams;
  nClasses = 0;
  nFeatures = 0;
  /** Baseline raw scores (1 for binary, K otherwise). */
  init: Float64Array = new Float64Array(0);
  /** trees[iteration · R + k]. */
  trees: FlatTree[] = [];
  /** How the trees read the input columns (null: as they are; see ./hgb/categorical-inputs.ts). */
  inputs: TreeInputs | null = null;
  private ensemble: BoostedTrees | null = null;

  constructor(params: Partial<HistGradientBoostingParams> = {}) {
    this.params = HistGradientBoostingParamsSchema.parse(params);
  }

  private get fitted(): BoostedTrees {
    if (this.ensemble?.trees !== this.trees)
      this.ensemble = new BoostedTrees(this.init, this.trees, this.nClasses);
    return this.ensemble;
  }

  async fit(input: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    const P = this.params;
    const early0 = P.earlyStopping === "auto" ? input.nRows > AUTO_EARLY_STOPPING_ROWS : P.earlyStopping;
    // ±Infinity: where every input column is binned as it is (no categories, no validation rows),
    // the binning reads every value and says when it met one (checkValues then throws as here,
    // without a pass of its own over the matrix: 11 ms for NSL-KDD's); otherwise checked first
    const valuesInBinning = (P.categoricalFeatures === null || P.categoricalFeatures.length === 0) && !early0;
    if (valuesInBinning) checkFitShape(input, y, nClasses, this.name);
    else checkFitData(input, y, nClasses, this.name, true);
    const K = nClasses;
    const R = K === 2 ? 1 : K;
    const plan = planTreeInputs(P.categoricalFeatures, input, this.name);
    const isCat = plan.categorical;
    const X = treeMatrix(plan.inputs, input);
    const sw = opts.sampleWeight ? opts.sampleWeight.slice() : new Float64Array(X.nRows).fill(1);
    const cw = classWeights(y, K, P.classWeight);
    if (cw) for (let i = 0; i < sw.length; i++) sw[i]! *= cw[y[i]!]!;
    // every training row's categories (before the validation split, as scikit-learn's)
    const categories = findCategories(X, isCat, P.maxBins, this.name);
    const anyCat = isCat.includes(1);

    const early = early0;
    let Xt = X;
    let yt = y;
    let wt = sw;
    let val: { X: Matrix; y: Int32Array; w: Float64Array; F: Float64Array } | null = null;
    if (early) {
      const split = stratifiedSplit(y, K, P.validationFraction, mixSeed(P.randomState, 0x7fffffff));
      Xt = takeRows(X, split.train);
      yt = Int32Array.from(split.train, (r) => y[r]!);
      wt = Float64Array.from(split.train, (r) => sw[r]!);
      val = {
        X: takeRows(X, split.val),
        y: Int32Array.from(split.val, (r) => y[r]!),
        w: Float64Array.from(split.val, (r) => sw[r]!),
        F: new Float64Array(split.val.length * R),
      };
    }
    const n = Xt.nRows;
    const useHelper = !fitHelperOff();
    const nSub = Math.max(1, Math.floor(P.subsample * n));
    // the histogram kernel's memory holds the gradients and each tree's rows (JS arrays without it),
    // and a binary fit's rows on every row for the step kernel (a tree has at most 2n − 1 nodes)
    const stepRows = R === 1 && nSub === n;
    // live node histograms: one per splittable leaf, and the one being built
    const slots = Math.min(P.maxLeafNodes ?? 64, 64) + 2;
    const treeNodes = stepRows ? Math.min(2 * n, 2 * (P.maxLeafNodes ?? n)) : 0;
    // the kernels' memory first: the bins are binned into it (no copy of them)
    const memory = fitMemory(n, Xt.nCols, R, slots, treeNodes);
    // the bins, then the sparse rows, on two threads (./hgb/fit-input.ts)
    const { mapper, bins, infinite } = binOnTwoThreads(
      Xt,
      { maxBins: P.maxBins, seed: P.randomState, rule: "averaged_inverted_cdf" },
      useHelper,
      memory?.bins,
    );
    if (valuesInBinning && infinite) checkValues(input, this.name, true);
    this.nClasses = K;
    this.nFeatures = input.nCols;
    this.inputs = plan.inputs;
    const nBins = mapper.nBins.slice();
    categories.forEach((cats, f) => {
      if (!cats) return;
      binCategories(Xt, f, cats, bins, MISSING_BIN);
      nBins[f] = cats.length;
    });
    const off = histOffsets(nBins);
    const sparse = sparseRowsOnTwoThreads(bins, n, nBins, off, useHelper);
    const wasm = wasmFitKernels(sparse, bins, n, R, off[Xt.nCols]!, slots, treeNodes, memory);
    const g = wasm ? wasm.g : new Float32Array(n * R);
    const h = wasm ? wasm.h : new Float32Array(n * R);
    const inp: GrowInput = {
      bins,
      rows: sparse,
      wasm,
      nRows: n,
      nBins,
      off,
      g,
      h,
      hasMissing: mapper.hasMissing,
      thresholds: mapper.thresholds,
      categories,
      categorical: anyCat ? isCat : null,
    };
    const scratch = growScratch(n, Xt.nCols, histScratch(n), new HistPool(off[Xt.nCols]!, wasm?.slots));
    const growParams = {
      maxLeafNodes: P.maxLeafNodes ?? Number.POSITIVE_INFINITY,
      maxDepth: P.maxDepth ?? Number.POSITIVE_INFINITY,
      minSamplesLeaf: P.minSamplesLeaf,
      minChildWeight: P.minChildWeight,
      l2: P.l2Regularization,
      learningRate: P.learningRate,
      maxFeatures: P.maxFeatures,
    };

    this.init = baseline(yt, wt, K);
    // a binary fit on every row: each step between two trees (raw scores, then gradients) by the
    // WebAssembly step kernel, on two threads from BOOST_ROWS_PARALLEL_MIN rows (./hgb/boost-rows.ts);
    // without the kernels, only where it is split (on one thread the fused JS step is slower than
    // the two loops: phishing's fit, 0.100 s against 0.092 s)
    const rowsState =
      stepRows && wasm?.boost
        ? boostRowsState(yt, wt, wasm.boost)
        : stepRows && useHelper && n >= BOOST_ROWS_PARALLEL_MIN
          ? boostRowsState(yt, wt)
          : null;
    const F = rowsState ? rowsState.F : new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) F[i * R + k] = this.init[k]!;
    const scores: number[] = [];
    if (val) {
      for (let i = 0; i < val.y.length; i++) for (let k = 0; k < R; k++) val.F[i * R + k] = this.init[k]!;
      scores.push(-logLoss(val.F, val.y, val.w, R));
    }
    const prob = new Float64Array(R);
    const leafOfRow = rowsState ? rowsState.leaf : new Int32Array(n);
    if (rowsState) boostRows(rowsState, null, true, g, h, useHelper);
    // (a loop: Uint32Array.from with a function took 7–14 ms for NSL-KDD's 126k rows on the loaded
    // machine, the loop 0.3–2 ms)
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    this.trees = [];
    let stopped = false;
    for (let it = 0; it < P.maxIter; it++) {
      opts.signal?.throwIfAborted();
      if (!rowsState) gradients(F, yt, wt, R, g, h, prob);
      // this iteration's draws (rows, then each split's features), from its own stream
      const rng = new Rng(mixSeed(P.randomState, it));
      let rows: Uint32Array;
      if (nSub < n) {
        const perm = all.slice();
        for (let i = 0; i < nSub; i++) {
          const j = i + rng.int(n - i);
          const t = perm[i]!;
          perm[i] = perm[j]!;
          perm[j] = t;
        }
        // in row order: reads of the binned columns go forward
        rows = perm.subarray(0, nSub).sort();
        leafOfRow.fill(-1);
      } else rows = all;
      for (let k = 0; k < R; k++) {
        const tree = growTree(
          { ...inp, g: g.subarray(k * n, (k + 1) * n), h: h.subarray(k * n, (k + 1) * n) },
          // (each tree partitions its own copy, starting from row order as scikit-learn's)
          treeRows(rows, wasm),
          growParams,
          rng,
          scratch,
          leafOfRow,
        );
        this.trees.push(tree);
        const v = tree.value;
        // the next iteration's gradients with the raw scores (unused after an early stop)
        if (rowsState) boostRows(rowsState, v, it + 1 < P.maxIter, g, h, useHelper);
        // the grown rows by the leaf their partition reached, the rows left out by a walk
        else
          for (let i = 0; i < n; i++) {
            const l = leafOfRow[i]!;
            F[i * R + k]! += v[l >= 0 ? l : leafOf(tree, Xt.data, n, i)]!;
          }
        if (val) {
          const nv = val.y.length;
          for (let i = 0; i < nv; i++) val.F[i * R + k]! += v[leafOf(tree, val.X.data, nv, i)]!;
        }
      }
      opts.onProgress?.(it + 1, P.maxIter);
      if (val) {
        scores.push(-logLoss(val.F, val.y, val.w, R));
        if (shouldStop(scores, P.nIterNoChange, P.tol)) {
          stopped = it + 1 < P.maxIter;
          break;
        }
      }
    }
    let nodes = 0;
    for (const t of this.trees) nodes += t.nNodes;
    return {
      fitSeconds: (performance.now() - t0) / 1000,
      counters: { iterations: this.trees.length / R, trees: this.trees.length, nodes, stoppedEarly: stopped },
    };
  }

  /** Raw scores, row-major n x R (R = 1 for two classes: the logit of class 1). */
  decision(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    return this.fitted.decision(treeMatrix(this.inputs, X));
  }

  predictProba(X: Matrix): Float64Array {
    return this.fitted.proba(this.decision(X), X.nRows);
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    if (!this.inputs) return this.fitted.contributions(X, row, cls, this.nFeatures);
    const T = treeMatrix(this.inputs, X);
    const c = this.fitted.contributions(T, row, cls, T.nCols);
    return inputContributions(this.inputs, T, c, this.nFeatures, [row]);
  }

  contributionsAll(X: Matrix, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    if (!this.inputs) return this.fitted.contributionsAll(X, cls, this.nFeatures);
    const T = treeMatrix(this.inputs, X);
    const c = this.fitted.contributionsAll(T, cls, T.nCols);
    return inputContributions(this.inputs, T, c, this.nFeatures, null);
  }

  stagedProba(X: Matrix, stages: readonly number[]): Float64Array[] {
    checkPredictData(X, this.nFeatures, this.name);
    return this.fitted.stagedProba(treeMatrix(this.inputs, X), stages);
  }

  /** The fit with max_iter = n: its first n iterations (fewer when it stopped early before n). */
  truncate(maxIter: number): HistGradientBoostingClassifier {
    const m = new HistGradientBoostingClassifier({ ...this.params, maxIter });
    const R = this.nClasses === 2 ? 1 : this.nClasses;
    m.init = this.init.slice();
    m.trees = this.trees.slice(0, maxIter * R);
    m.nClasses = this.nClasses;
    m.nFeatures = this.nFeatures;
    m.inputs = this.inputs;
    return m;
  }

  toJSON(): SerializedModel {
    return serialized(this, {
      init: Array.from(this.init),
      trees: this.trees.map(treeToJSON),
      // (only when one-hot blocks are read as categories: bundles saved before load unchanged)
      ...(this.inputs ? { inputs: this.inputs } : {}),
    });
  }

  static fromJSON(s: SerializedModel): HistGradientBoostingClassifier {
    const m = new HistGradientBoostingClassifier(HistGradientBoostingParamsSchema.parse(s.params));
    const st = s.state as { init: number[]; trees: FlatTreeJSON[]; inputs?: unknown };
    const R = s.nClasses === 2 ? 1 : s.nClasses;
    if (st.init.length !== R || st.trees.length % R !== 0)
      throw new RangeError(
        `${st.init.length} baseline scores and ${st.trees.length} trees for ${s.nClasses} classes`,
      );
    m.init = Float64Array.from(st.init);
    m.trees = st.trees.map(treeFromJSON);
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    m.inputs = st.inputs === undefined ? null : treeInputsSchema.parse(st.inputs);
    if (m.inputs) {
      const used = [...m.inputs.keep, ...m.inputs.blocks.flat()];
      if (used.some((f) => f >= s.nFeatures) || new Set(used).size !== used.length)
        throw new RangeError(`tree inputs do not fit ${s.nFeatures} features`);
    }
    return m;
  }
}

/** A tree's own copy of its rows: in the histogram kernel's memory when there is one. */
function treeRows(rows: Uint32Array, wasm: WasmFitKernels | null): Uint32Array {
  if (!wasm) return rows.slice();
  const out = wasm.rows.subarray(0, rows.length);
  out.set(rows);
  return out;
}

export const histGradientBoostingSpec: ModelSpec<HistGradientBoostingParams> = {
  name: "hist_gradient_boosting",
  title: "Histogram gradient boosting (leaf-wise, LightGBM-class)",
  paramSchema: HistGradientBoostingParamsSchema,
  // not one of the original project's models: a small grid of its own (documented in the README)
  defaultGrid: {
    learning_rate: [0.1, 0.05],
    max_leaf_nodes: [15, 31, 63],
    max_iter: [100, 200, 400],
  },
  capabilities: {
    multiclass: true,
    sampleWeight: true,
    needsScaling: false,
    parallelFit: false,
    staged: true,
  },
  stageParam: "maxIter",
  create: (params) => new HistGradientBoostingClassifier(params),
  fromJSON: (s) => HistGradientBoostingClassifier.fromJSON(s),
};
