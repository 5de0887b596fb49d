/**
 * Decision tree classifier (CART) on binned features: scikit-learn's DecisionTreeClassifier parameters,
 * exact splits whenever a feature has at most 255 distinct values (the bins are then the distinct
 * values, thresholds at midpoints as scikit-learn places them), quantile bins otherwise; there the
 * chosen bin boundary is refined to the exact best threshold among the node's values in the two bins
 * around it (grow-classifier.ts, refineThreshold).
 */
import { z } from "zod";
import type { Matrix } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";
import { argmaxRows, checkFitData, checkPredictData, classWeights, serialized } from "./checks.ts";
import { parseParams, randomStateSchema, resolveMaxFeatures } from "./params.ts";
import { type BinnedMatrix, binnedAs, binnedData, checkBinnedFit, fitDecoded } from "./tree/binned-matrix.ts";
import { binMatrix, fitBinMapper, quantileColumns } from "./tree/binning.ts";
import { pathContributions } from "./tree/contributions.ts";
import { accumulateTree, type FlatTree } from "./tree/flat-tree.ts";
import { type BinnedData, growClassificationTree } from "./tree/grow-classifier.ts";
import { type PackedTrees, packTrees } from "./tree/packed-trees.ts";
import { type FlatTreeJSON, treeFromJSON, treeToJSON } from "./tree/tree-serial.ts";
import { accumulateSingle } from "./tree/walk-dispatch.ts";
import type {
  BinnedFitOptions,
  Classifier,
  FitOptions,
  FitReport,
  ModelSpec,
  SerializedModel,
} from "./types.ts";

export const maxFeaturesSchema = z.union([
  z.null(),
  z.enum(["sqrt", "log2"]),
  z.number().int().min(1),
  z.number().gt(0).max(1),
]);
export const classWeightSchema = z.union([
  z.null(),
  z.literal("balanced"),
  z.record(z.string(), z.number().positive()),
]);

export const DecisionTreeParamsSchema = z
  .object({
    criterion: z.enum(["gini", "entropy", "log_loss"]).default("gini"),
    maxDepth: z.number().int().min(1).nullable().default(null),
    minSamplesSplit: z.number().int().min(2).default(2),
    minSamplesLeaf: z.number().int().min(1).default(1),
    maxFeatures: maxFeaturesSchema.default(null),
    maxLeafNodes: z.number().int().min(2).nullable().default(null),
    minImpurityDecrease: z.number().min(0).default(0),
    classWeight: classWeightSchema.default(null),
    randomState: randomStateSchema,
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();

export type DecisionTreeParams = z.infer<typeof DecisionTreeParamsSchema>;

export class DecisionTreeClassifier implements Classifier {
  readonly name = "decision_tree" as const;
  readonly params: DecisionTreeParams;
  nClasses = 0;
  nFeatures = 0;
  tree: FlatTree | null = null;
  /** `tree` packed for batch prediction, built on first use (never serialized). */
  private packed: { from: FlatTree; p: PackedTrees } | null = null;

  constructor(params: Partial<DecisionTreeParams> = {}) {
    this.params = DecisionTreeParamsSchema.parse(params);
  }

  async fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    checkFitData(X, y, nClasses, this.name, true);
    const p = this.params;
    const mapper = fitBinMapper(X, { maxBins: p.maxBins, seed: p.randomState });
    const bins = binMatrix(X, mapper);
    const data: BinnedData = {
      bins,
      nRows: X.nRows,
      nFeatures: X.nCols,
      thresholds: mapper.thresholds,
      cuts: mapper.cuts,
      raw: quantileColumns(X, mapper, bins),
    };
    return this.grow(t0, data, null, y, nClasses, opts);
  }

  async fitBinned(
    B: BinnedMatrix,
    y: Int32Array,
    nClasses: number,
    opts: BinnedFitOptions = {},
  ): Promise<FitReport> {
    const p = this.params;
    if (!binnedAs(B, p.maxBins, p.randomState)) return fitDecoded(this, B, y, nClasses, opts);
    const t0 = performance.now();
    checkBinnedFit(B, y, nClasses, opts.rows, this.name);
    return this.grow(t0, binnedData(B), opts.rows ?? null, y, nClasses, opts);
  }

  /** Grow the tree on `rows` of binned data (all when null; then y and weights as RandomForest's grow). */
  private grow(
    t0: number,
    data: BinnedData,
    rows: Uint32Array | null,
    y: Int32Array,
    nClasses: number,
    opts: FitOptions,
  ): FitReport {
    const p = this.params;
    const nFit = rows ? rows.length : data.nRows;
    // rows outside `rows` keep weight 0: the grower skips them
    const sw = new Float64Array(data.nRows);
    const cw = classWeights(rows ? Int32Array.from(rows, (i) => y[i]!) : y, nClasses, p.classWeight);
    for (let j = 0; j < nFit; j++) {
      const i = rows ? rows[j]! : j;
      sw[i] = (opts.sampleWeight ? opts.sampleWeight[j]! : 1) * (cw ? cw[y[i]!]! : 1);
    }
    this.tree = growClassificationTree(
      data,
      y,
      nClasses,
      sw,
      {
        criterion: p.criterion,
        maxDepth: p.maxDepth ?? Number.POSITIVE_INFINITY,
        minSamplesSplit: p.minSamplesSplit,
        minSamplesLeaf: p.minSamplesLeaf,
        maxFeatures: resolveMaxFeatures(p.maxFeatures, data.nFeatures),
        minImpurityDecrease: p.minImpurityDecrease,
        maxLeafNodes: p.maxLeafNodes ?? Number.POSITIVE_INFINITY,
      },
      new Rng(p.randomState),
    );
    this.nClasses = nClasses;
    this.nFeatures = data.nFeatures;
    return { fitSeconds: (performance.now() - t0) / 1000, counters: { nodes: this.tree.nNodes } };
  }

  predictProba(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(X.nRows * this.nClasses);
    // a batch: four rows at a time without a branch per step (the same leaves and sums)
    if (X.nRows >= 16) {
      if (this.packed?.from !== this.tree) this.packed = { from: this.tree!, p: packTrees([this.tree!]) };
      accumulateSingle(this.packed.p, X.data, X.nRows, out, 1);
    } else accumulateTree(this.tree!, X.data, X.nRows, out, 1);
    return out;
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(this.nFeatures);
    pathContributions(this.tree!, X.data, X.nRows, row, cls, out);
    return out;
  }

  toJSON(): SerializedModel {
    return serialized(this, { tree: this.tree ? treeToJSON(this.tree) : null });
  }

  static fromJSON(s: SerializedModel): DecisionTreeClassifier {
    const m = new DecisionTreeClassifier(DecisionTreeParamsSchema.parse(s.params));
    const st = s.state as { tree: FlatTreeJSON | null };
    m.tree = st.tree ? treeFromJSON(st.tree) : null;
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

export const decisionTreeSpec: ModelSpec<DecisionTreeParams> = {
  name: "decision_tree",
  title: "Decision tree",
  paramSchema: DecisionTreeParamsSchema,
  defaultGrid: { criterion: ["gini", "entropy", "log_loss"] },
  capabilities: { multiclass: true, sampleWeight: true, needsScaling: false, parallelFit: false },
  create: (params) => new DecisionTreeClassifier(params),
  fromJSON: (s) => DecisionTreeClassifier.fromJSON(s),
};

export function parseDecisionTreeParams(raw: unknown): DecisionTreeParams {
  return parseParams(DecisionTreeParamsSchema, raw, "decision_tree");
}
