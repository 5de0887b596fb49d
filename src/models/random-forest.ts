/**
 * Random forest classifier: bootstrap samples (as per-row counts), a random subset of features per
 * split (default sqrt), trees grown in parallel on worker threads from one shared binned copy of the
 * data, probabilities averaged over trees (scikit-learn's soft voting).
 */
import { z } from "zod";
import type { Matrix } from "../core/frame.ts";
import { defaultThreads, runTasks, warmPool } from "../core/pool.ts";
import { task } from "../core/tasks.ts";
import { argmaxRows, checkFitData, checkPredictData, classWeights, serialized } from "./checks.ts";
import { classWeightSchema, maxFeaturesSchema } from "./decision-tree.ts";
import { randomStateSchema, resolveMaxFeatures } from "./params.ts";
import {
  type BinnedMatrix,
  binnedAs,
  binnedData,
  binValues,
  checkBinnedFit,
  fitDecoded,
} from "./tree/binned-matrix.ts";
import { binMatrix, fitBinMapper, quantileColumns } from "./tree/binning.ts";
import {
  contributionSteps,
  packedContributions,
  packedContributionsAll,
  pathContributions,
} from "./tree/contributions.ts";
import type { FlatTree } from "./tree/flat-tree.ts";
import { type ForestTaskArgs, type ForestVotes, VOTE_UNIT } from "./tree/forest-task.ts";
import type { BinnedData } from "./tree/grow-classifier.ts";
import { type PackedTrees, packTrees } from "./tree/packed-trees.ts";
import { type FlatTreeJSON, treeFromJSON, treeToJSON } from "./tree/tree-serial.ts";
import { accumulatePacked } from "./tree/walk-dispatch.ts";
import { leavesPacked, sumLeaves } from "./tree/walks.ts";
import type {
  BinnedFitOptions,
  Classifier,
  FitOptions,
  FitReport,
  ModelSpec,
  OutOfBag,
  SerializedModel,
} from "./types.ts";

export const RandomForestParamsSchema = z
  .object({
    nEstimators: z.number().int().min(1).max(10_000).default(100),
    criterion: z.enum(["gini", "entropy", "log_loss"]).default("gini"),
    maxDepth: z.number().int().min(1).nullable().default(null),
    minSamplesSplit: z.number().int().min(2).default(2),
    minSamplesLeaf: z.number().int().min(1).default(1),
    maxFeatures: maxFeaturesSchema.default("sqrt"),
    maxLeafNodes: z.number().int().min(2).nullable().default(null),
    minImpurityDecrease: z.number().min(0).default(0),
    bootstrap: z.boolean().default(true),
    maxSamples: z.union([z.null(), z.number().int().min(1), z.number().gt(0).max(1)]).default(null),
    classWeight: z.union([classWeightSchema, z.literal("balanced_subsample")]).default(null),
    randomState: randomStateSchema,
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();

export type RandomForestParams = z.infer<typeof RandomForestParamsSchema>;

export class RandomForestClassifier implements Classifier {
  readonly name = "random_forest" as const;
  readonly params: RandomForestParams;
  nClasses = 0;
  nFeatures = 0;
  trees: FlatTree[] = [];
  /** `trees` packed for prediction, built on first use (never serialized). */
  private packed: { from: FlatTree[]; p: PackedTrees } | null = null;
  /** Per class, contributionSteps of `packed` (built on first use). */
  private steps: { of: PackedTrees; byClass: Map<number, Float64Array | null> } | null = null;

  constructor(params: Partial<RandomForestParams> = {}) {
    this.params = RandomForestParamsSchema.parse(params);
  }

  async fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    checkFitData(X, y, nClasses, this.name, true);
    const p = this.params;
    const threads = this.threadsOf(opts);
    warmPool(threads, task("forest.ready", null));
    const mapper = fitBinMapper(X, { maxBins: p.maxBins, seed: p.randomState });
    const bins = binMatrix(X, mapper, threads > 1);
    const data: BinnedData = {
      bins,
      nRows: X.nRows,
      nFeatures: X.nCols,
      thresholds: mapper.thresholds,
      cuts: mapper.cuts,
      raw: quantileColumns(X, mapper, bins, threads > 1),
    };
    const values = opts.outOfBag ? binValues(X, bins, mapper) : null;
    return this.grow(t0, data, values, null, y, nClasses, threads, opts);
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
    const threads = this.threadsOf(opts);
    warmPool(threads, task("forest.ready", null));
    return this.grow(t0, binnedData(B), B.values, opts.rows ?? null, y, nClasses, threads, opts);
  }

  private threadsOf(opts: FitOptions): number {
    return Math.max(1, Math.min(opts.threads ?? defaultThreads(), this.params.nEstimators));
  }

  /**
   * Grow the forest on binned data: on `rows` of it (ascending), or on all its rows when null (`y`
   * and a sample weight as fit's; with rows, y per row of the data and one weight per entry of rows).
   * `values`: the data's BinnedMatrix.values, for the out-of-bag pass (opts.outOfBag).
   */
  private async grow(
    t0: number,
    data: BinnedData,
    values: Float64Array | null,
    rows: Uint32Array | null,
    y: Int32Array,
    nClasses: number,
    threads: number,
    opts: FitOptions,
  ): Promise<FitReport> {
    const p = this.params;
    const nRows = data.nRows;
    const nFit = rows ? rows.length : nRows;
    const cw =
      p.classWeight === "balanced_subsample"
        ? null
        : classWeights(rows ? Int32Array.from(rows, (i) => y[i]!) : y, nClasses, p.classWeight);
    let base: Float64Array | null = null;
    if (cw || opts.sampleWeight) {
      base = new Float64Array(nRows);
      for (let j = 0; j < nFit; j++) {
        const i = rows ? rows[j]! : j;
        base[i] = (opts.sampleWeight ? opts.sampleWeight[j]! : 1) * (cw ? cw[y[i]!]! : 1);
      }
    }
    const nBoot =
      p.maxSamples === null
        ? nFit
        : p.maxSamples <= 1 && !Number.isInteger(p.maxSamples)
          ? Math.max(1, Math.round(p.maxSamples * nFit))
          : Math.min(nFit, p.maxSamples);
    const common: Omit<ForestTaskArgs, "from" | "to" | "votes"> = {
      bins: data.bins,
      nRows,
      nFeatures: data.nFeatures,
      thresholds: data.thresholds as Float64Array[],
      cuts: data.cuts as Float64Array[],
      raw: data.raw,
      rows,
      y,
      nClasses,
      baseWeight: base,
      grow: {
        criterion: p.criterion,
        maxDepth: p.maxDepth ?? Number.POSITIVE_INFINITY,
        minSamplesSplit: p.minSamplesSplit,
        minSamplesLeaf: p.minSamplesLeaf,
        maxFeatures: resolveMaxFeatures(p.maxFeatures, data.nFeatures),
        minImpurityDecrease: p.minImpurityDecrease,
        maxLeafNodes: p.maxLeafNodes ?? Number.POSITIVE_INFINITY,
      },
      seed: p.randomState,
      bootstrap: p.bootstrap,
      nBootstrap: nBoot,
      balancedSubsample: p.classWeight === "balanced_subsample",
    };
    // a few tasks per thread balance uneven tree sizes; grouping does not change the result. In this
    // thread, one task a tree: progress (and a staged search's fit times) per tree. The out-of-bag
    // pass gives each task its own sums (nRows × K twice): one task a thread bounds their memory
    const oob = opts.outOfBag === true && values !== null;
    const nTasks =
      threads <= 1 ? (oob ? 1 : p.nEstimators) : Math.min(p.nEstimators, oob ? threads : threads * 4);
    const tasks = [];
    const votes: ForestVotes[] = [];
    for (let k = 0; k < nTasks; k++) {
      const from = Math.floor((k * p.nEstimators) / nTasks);
      const to = Math.floor(((k + 1) * p.nEstimators) / nTasks);
      if (to <= from) continue;
      const v = oob ? newVotes(values!, opts.oobGroups ?? null, nRows, nClasses) : null;
      if (v) votes.push(v);
      tasks.push(task("forest.build", { ...common, from, to, votes: v }));
    }
    let built = 0;
    const groups = await runTasks(tasks, {
      threads,
      onDone: (_d, _t) => {
        built++;
        opts.onProgress?.(
          threads <= 1 ? built : Math.round((built * p.nEstimators) / tasks.length),
          p.nEstimators,
        );
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    this.trees = groups.flat();
    this.nClasses = nClasses;
    this.nFeatures = data.nFeatures;
    let nodes = 0;
    for (const t of this.trees) nodes += t.nNodes;
    return {
      fitSeconds: (performance.now() - t0) / 1000,
      counters: { trees: this.trees.length, nodes, threads },
      ...(oob ? { outOfBag: sumVotes(votes, rows, nRows, nClasses, this.trees.length) } : {}),
    };
  }

  predictProba(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(X.nRows * this.nClasses);
    if (this.packed?.from !== this.trees) this.packed = { from: this.trees, p: packTrees(this.trees) };
    // the trees' probabilities summed, then divided once (as scikit-learn's predict_proba): a row
    // every tree gives 1 scores exactly 1, as its out-of-bag score does, where adding 1/T T times
    // gives 1 - 2^-53 and a threshold of 1 chosen on out-of-bag scores would flag none of them
    accumulatePacked(this.packed.p, X.data, X.nRows, out, 1);
    const nTrees = this.trees.length;
    for (let i = 0; i < out.length; i++) out[i]! /= nTrees;
    return out;
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  /** The packed trees and class cls's path steps (contributionSteps), built once per class. */
  private stepsOf(cls: number): { P: PackedTrees; steps: Float64Array | null } {
    if (this.packed?.from !== this.trees) this.packed = { from: this.trees, p: packTrees(this.trees) };
    const P = this.packed.p;
    if (this.steps?.of !== P) this.steps = { of: P, byClass: new Map() };
    let steps = this.steps.byClass.get(cls);
    if (steps === undefined)
      this.steps.byClass.set(cls, (steps = contributionSteps(P, cls, 1 / this.trees.length)));
    return { P, steps };
  }

  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(this.nFeatures);
    const { P, steps } = this.stepsOf(cls);
    if (steps && packedContributions(P, steps, X.data, X.nRows, row, out)) return out;
    const s = 1 / this.trees.length;
    for (const t of this.trees) pathContributions(t, X.data, X.nRows, row, cls, out, s);
    return out;
  }

  contributionsAll(X: Matrix, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const p = this.nFeatures;
    const out = new Float64Array(X.nRows * p);
    const { P, steps } = this.stepsOf(cls);
    const rest = steps
      ? packedContributionsAll(P, steps, X.data, X.nRows, out, p)
      : Array.from({ length: X.nRows }, (_, r) => r);
    const s = 1 / this.trees.length;
    for (const r of rest ?? Array.from({ length: X.nRows }, (_, i) => i)) {
      const o = out.subarray(r * p, (r + 1) * p);
      for (const t of this.trees) pathContributions(t, X.data, X.nRows, r, cls, o, s);
    }
    return out;
  }

  /** `chunkRows`: rows whose leaves are kept at once (default: about 2 M leaves). */
  stagedProba(X: Matrix, stages: readonly number[], chunkRows?: number): Float64Array[] {
    checkPredictData(X, this.nFeatures, this.name);
    const n = X.nRows;
    const K = this.nClasses;
    if (this.packed?.from !== this.trees) this.packed = { from: this.trees, p: packTrees(this.trees) };
    const P = this.packed.p;
    const used = stages.map((s) => Math.min(s, this.trees.length));
    const outs = stages.map(() => new Float64Array(n * K));
    // rows in chunks: the leaves of a chunk in every tree stay within a few MB
    const chunk = chunkRows ?? Math.max(64, Math.floor((1 << 21) / Math.max(1, P.nTrees)));
    const leaves = new Int32Array(Math.min(n, chunk) * P.nTrees);
    for (let from = 0; from < n; from += chunk) {
      const to = Math.min(n, from + chunk);
      leavesPacked(P, X.data, n, from, to, leaves);
      used.forEach((u, i) => {
        sumLeaves(P, leaves, to - from, u, outs[i]!, from * K, 1);
      });
    }
    // summed, then divided once, as predictProba
    used.forEach((u, i) => {
      const o = outs[i]!;
      for (let j = 0; j < o.length; j++) o[j]! /= u;
    });
    return outs;
  }

  truncate(nEstimators: number): RandomForestClassifier {
    const m = new RandomForestClassifier({ ...this.params, nEstimators });
    m.trees = this.trees.slice(0, nEstimators);
    m.nClasses = this.nClasses;
    m.nFeatures = this.nFeatures;
    return m;
  }

  toJSON(): SerializedModel {
    return serialized(this, { trees: this.trees.map(treeToJSON) });
  }

  static fromJSON(s: SerializedModel): RandomForestClassifier {
    const m = new RandomForestClassifier(RandomForestParamsSchema.parse(s.params));
    m.trees = (s.state as { trees: FlatTreeJSON[] }).trees.map(treeFromJSON);
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

function newVotes(values: Float64Array, groups: Int32Array | null, nRows: number, K: number): ForestVotes {
  const f64 = (n: number) => new Float64Array(new SharedArrayBuffer(8 * n));
  return {
    values,
    groups,
    oob: f64(nRows * K),
    oobTrees: new Uint16Array(new SharedArrayBuffer(2 * nRows)),
    own: groups ? { oob: f64(nRows * K), oobTrees: new Uint16Array(new SharedArrayBuffer(2 * nRows)) } : null,
    all: f64(nRows * K),
  };
}

/** The tasks' sums (exact: whole VOTE_UNITs, so the same whatever the threads) as means per fit row. */
function sumVotes(
  votes: readonly ForestVotes[],
  rows: Uint32Array | null,
  nRows: number,
  K: number,
  nTrees: number,
): OutOfBag {
  const nFit = rows ? rows.length : nRows;
  const proba = new Float64Array(nFit * K);
  const trainProba = new Float64Array(nFit * K);
  let missing = 0;
  let nearDuplicates = 0;
  for (let j = 0; j < nFit; j++) {
    const i = rows ? rows[j]! : j;
    let trees = 0;
    for (const v of votes) trees += v.oobTrees[i]!;
    // no tree left the row out with its twins: the trees that left the row itself out
    let own = false;
    if (trees === 0 && votes[0]?.own) {
      for (const v of votes) trees += v.own!.oobTrees[i]!;
      own = trees > 0;
      if (own) nearDuplicates++;
    }
    if (trees === 0) missing++;
    for (let c = 0; c < K; c++) {
      let oob = 0;
      let all = 0;
      for (const v of votes) {
        oob += own ? v.own!.oob[i * K + c]! : v.oob[i * K + c]!;
        all += v.all[i * K + c]!;
      }
      proba[j * K + c] = trees === 0 ? Number.NaN : oob / VOTE_UNIT / trees;
      trainProba[j * K + c] = all / VOTE_UNIT / nTrees;
    }
  }
  return { proba, missing, nearDuplicates, trainProba };
}

export const randomForestSpec: ModelSpec<RandomForestParams> = {
  name: "random_forest",
  title: "Random forest",
  paramSchema: RandomForestParamsSchema,
  defaultGrid: { n_estimators: [8, 16, 32, 128, 256] },
  capabilities: {
    multiclass: true,
    sampleWeight: true,
    needsScaling: false,
    parallelFit: true,
    staged: true,
    outOfBag: (params) => RandomForestParamsSchema.parse(params).bootstrap,
  },
  create: (params) => new RandomForestClassifier(params),
  fromJSON: (s) => RandomForestClassifier.fromJSON(s),
};
