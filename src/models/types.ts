/**
 * The estimator contract every classifier follows (scikit-learn's API, in TypeScript):
 *
 * - The constructor takes hyperparameters (already validated/normalised by the model's spec) and does
 *   nothing else, so cloning for a grid search is just construction.
 * - `fit` learns from a column-major Matrix and integer class indices 0..nClasses-1. It validates the
 *   data (finite where required, matching lengths, at least two classes present) and is async so that
 *   ensembles can spread work over worker threads.
 * - Learned state is kept apart from hyperparameters and is plain JSON-serialisable data (`toJSON`), so
 *   a model bundle never contains code.
 */
import type { z } from "zod";
import type { Matrix } from "../core/frame.ts";
import type { BinnedMatrix } from "./tree/binned-matrix.ts";

/** Hyperparameters: plain JSON data, camelCase keys (snake_case is accepted at the edges and normalised). */
export type Params = Readonly<Record<string, unknown>>;

export interface FitOptions {
  /** Per-row weights (length nRows); absent = all ones. */
  sampleWeight?: Float64Array;
  /** Worker threads the estimator may use for itself (1 inside a search worker). Default: all cores. */
  threads?: number;
  /** Progress callback: units done of total (e.g. trees built). Never called from inside kernels' hot loops. */
  onProgress?: (done: number, total: number) => void;
  /** Abort signal (e.g. a cancelled training job). */
  signal?: AbortSignal;
  /**
   * Score the fit rows out of bag (FitReport.outOfBag): models that fit bootstrap samples
   * (random_forest with bootstrap); others ignore it.
   */
  outOfBag?: boolean;
  /**
   * With outOfBag: a group id per row of the data (rows with identical features share one, ids
   * 0..n-1). A row is out of an estimator's bag only when no row of its group is in it: a duplicate
   * in the bag would score the row as seen (the duplicate-aware CV folds' rule). A row of a large
   * group that no estimator leaves out so falls back to its own out-of-bag estimators
   * (OutOfBag.nearDuplicates).
   */
  oobGroups?: Int32Array;
}

/** What fit reports back: counters, not logs. */
export interface FitReport {
  fitSeconds: number;
  /** Model-specific counters: nodes, iterations, trees, converged, ... */
  counters?: Record<string, number | boolean>;
  /** With FitOptions.outOfBag, from a model that fits bootstrap samples. */
  outOfBag?: OutOfBag;
}

/**
 * A bagged model's scores of its own fit rows (in fit-row order, row-major nFit × K): what
 * cross-validation's out-of-fold scores stand for, from a single fit (scikit-learn's
 * oob_decision_function_).
 */
export interface OutOfBag {
  /** The mean class probabilities of the estimators whose bootstrap sample left the row out. */
  proba: Float64Array;
  /** Rows that every estimator's sample drew (their `proba` is NaN). */
  missing: number;
  /**
   * With FitOptions.oobGroups: rows that no estimator left out together with their group, scored by
   * the estimators that left out the row itself (a twin of it was fitted on: a little optimistic).
   */
  nearDuplicates: number;
  /** The whole model's class probabilities on the row (its score on its own training rows). */
  trainProba: Float64Array;
}

export interface SerializedModel {
  /** Registered model name, e.g. "random_forest". */
  model: ModelName;
  /** Format version of `state` for this model. */
  formatVersion: number;
  params: Record<string, unknown>;
  nClasses: number;
  nFeatures: number;
  state: unknown;
}

/** fitBinned's options: FitOptions, and the rows of the BinnedMatrix to fit on. */
export interface BinnedFitOptions extends FitOptions {
  /**
   * Indices of B's rows to fit on, ascending (a cross-validation fold's training rows); all rows when
   * absent. `sampleWeight` then has one weight per entry of `rows`.
   */
  rows?: Uint32Array;
}

export interface Classifier {
  readonly name: ModelName;
  readonly params: Params;
  /** Number of classes seen at fit; 0 before fit. */
  readonly nClasses: number;
  readonly nFeatures: number;
  fit(X: Matrix, y: Int32Array, nClasses: number, opts?: FitOptions): Promise<FitReport>;
  /**
   * Learners that bin their input (random forest, decision tree): fit on rows of a matrix binned once
   * (shared by every fold and worker, see binned-matrix.ts) instead of a float64 matrix. `y` holds
   * the class of every row of B (length B.nRows). On all of B's rows, with B binned as the model
   * would bin (binnedAs), the model is exactly the one `fit` on the decoded matrix gives.
   */
  fitBinned?(B: BinnedMatrix, y: Int32Array, nClasses: number, opts?: BinnedFitOptions): Promise<FitReport>;
  /** Row-major probabilities, length nRows * nClasses; each row sums to 1. */
  predictProba(X: Matrix): Float64Array;
  /** Argmax class index per row. */
  predict(X: Matrix): Int32Array;
  toJSON(): SerializedModel;
  /**
   * Per-row feature contributions to the raw score of class `cls` (length nFeatures), for explaining a
   * prediction: path contributions (Saabas) for trees, coefficient x value for linear models.
   */
  contributions?(X: Matrix, row: number, cls: number): Float64Array;
  /** `contributions` of every row at once: row-major nRows x nFeatures, the same numbers. */
  contributionsAll?(X: Matrix, cls: number): Float64Array;
  /**
   * Ensembles whose estimators are grown one after the other from per-estimator random streams
   * (capabilities.staged): the model exactly as a fit with nEstimators = n on the same data would
   * give it (its first n estimators, params included). A grid search fits the largest n_estimators
   * of a group once and scores every smaller one from it, as scikit-learn's warm_start would.
   */
  truncate?(nEstimators: number): Classifier;
  /**
   * predictProba of truncate(n) for each n of `stages` (ascending), identical to the last bit, with
   * the trees walked once.
   */
  stagedProba?(X: Matrix, stages: readonly number[]): Float64Array[];
}

export type ModelName =
  | "random_forest"
  | "decision_tree"
  | "gradient_boosting"
  | "adaboost"
  | "logistic_regression"
  | "hist_gradient_boosting"
  /** Built by the tune step (soft-voting.ts), never searched: not in MODEL_NAMES. */
  | "soft_voting";

/** The models a run can search (every ModelName but soft_voting). */
export const MODEL_NAMES: readonly ModelName[] = [
  "random_forest",
  "decision_tree",
  "gradient_boosting",
  "adaboost",
  "logistic_regression",
  "hist_gradient_boosting",
];

/** The models a run trains when it names none: the original project's five. */
export const DEFAULT_MODEL_NAMES: readonly ModelName[] = [
  "random_forest",
  "decision_tree",
  "gradient_boosting",
  "adaboost",
  "logistic_regression",
];

/** A model's declaration in the registry (extend by declaration, not by `if (kind === ...)`). */
export interface ModelSpec<P extends Params = Params> {
  name: ModelName;
  /** Human title, e.g. "Random forest". */
  title: string;
  /** zod schema of the hyperparameters (camelCase keys, strict: unknown keys are errors), with defaults. */
  paramSchema: z.ZodType<P>;
  /** The original project's grid (snake_case keys as scikit-learn), used as the default search space. */
  defaultGrid: Record<string, readonly unknown[]>;
  capabilities: {
    multiclass: boolean;
    sampleWeight: boolean;
    /** Needs scaled inputs (the column transformer adds a scaler). */
    needsScaling: boolean;
    /** Can use worker threads inside fit. */
    parallelFit: boolean;
    /**
     * A fit with nEstimators = n is the first n estimators of a fit with more (same data, other
     * params and seed): `truncate` gives the smaller models, and the search fits each group once.
     */
    staged?: boolean;
    /**
     * Fits bootstrap samples and, asked (FitOptions.outOfBag), scores its fit rows out of bag, when
     * `params` draw bootstrap samples at all.
     */
    outOfBag?: (params: Record<string, unknown>) => boolean;
  };
  /**
   * The parameter (camelCase) whose value is the number of estimators a staged model truncates to:
   * "nEstimators" unless given (scikit-learn's HistGradientBoosting calls it max_iter).
   */
  stageParam?: string;
  create(params: P): Classifier;
  fromJSON(s: SerializedModel): Classifier;
}
