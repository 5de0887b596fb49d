/**
 * The default preset's search ranges (README "Search ranges" lists them): per model, the parameters
 * drawn for each random candidate, the fixed ones, and how many candidates successive halving starts
 * with. Keys are snake_case (as users read them in leaderboards). A draw depends only on the seed, the
 * model and the candidate's index, so a smaller budget tries a prefix of the same candidates.
 */
import { NetsecError } from "../core/errors.ts";
import { mixSeed, Rng } from "../core/rng.ts";

export type Range =
  /** log-uniform float in [min, max] */
  | { log: [number, number] }
  /** uniform float in [min, max] */
  | { uniform: [number, number] }
  /** integer, log-uniform in [min, max] (both included) */
  | { intLog: [number, number] }
  /** one of the values, equally likely */
  | { choice: readonly unknown[] };

export interface SearchSpace {
  /** Candidates drawn at the first rung (before the time budget cuts them). */
  candidates: number;
  ranges: Record<string, Range>;
  fixed: Record<string, unknown>;
}

export const SEARCH_SPACES: Record<string, SearchSpace> = {
  hist_gradient_boosting: {
    candidates: 27,
    ranges: {
      learning_rate: { log: [0.03, 0.3] },
      // LightGBM's 31 leaves and XGBoost's depth 6 (up to 64 leaves) are inside these ranges
      max_leaf_nodes: { intLog: [8, 256] },
      max_depth: { choice: [null, 4, 6, 8] },
      min_samples_leaf: { intLog: [2, 100] },
      l2_regularization: { choice: [0, 0.1, 1, 10] },
      max_features: { uniform: [0.5, 1] },
    },
    // early stopping inside each fold (10% of its training rows as validation) picks the iterations
    fixed: { max_iter: 500, early_stopping: true, validation_fraction: 0.1, n_iter_no_change: 10 },
  },
  random_forest: {
    candidates: 18,
    ranges: {
      max_features: { choice: ["sqrt", "log2", 0.2, 0.35, 0.5] },
      min_samples_leaf: { intLog: [1, 8] },
      criterion: { choice: ["gini", "entropy"] },
    },
    fixed: { n_estimators: 150 },
  },
  logistic_regression: {
    candidates: 9,
    ranges: { C: { log: [0.01, 100] } },
    fixed: { max_iter: 300 },
  },
  decision_tree: {
    candidates: 9,
    ranges: {
      criterion: { choice: ["gini", "entropy"] },
      max_depth: { choice: [null, 8, 12, 16, 24] },
      min_samples_leaf: { intLog: [1, 20] },
    },
    fixed: {},
  },
  gradient_boosting: {
    candidates: 9,
    ranges: {
      learning_rate: { log: [0.03, 0.3] },
      subsample: { uniform: [0.6, 1] },
      max_depth: { choice: [3, 4, 5] },
    },
    fixed: { n_estimators: 200 },
  },
  adaboost: {
    candidates: 9,
    ranges: { learning_rate: { log: [0.03, 1] } },
    fixed: { n_estimators: 200 },
  },
};

function draw(r: Range, rng: Rng): unknown {
  if ("choice" in r) return r.choice[rng.int(r.choice.length)];
  if ("uniform" in r) return round(r.uniform[0] + rng.next() * (r.uniform[1] - r.uniform[0]));
  if ("log" in r) return round(Math.exp(Math.log(r.log[0]) + rng.next() * Math.log(r.log[1] / r.log[0])));
  const [lo, hi] = r.intLog;
  return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + rng.next() * Math.log((hi + 1) / lo))));
}

/** Four significant digits: leaderboards stay readable and a value reads back exactly from YAML. */
function round(v: number): number {
  return Number(v.toPrecision(4));
}

export function searchSpace(model: string): SearchSpace {
  const s = SEARCH_SPACES[model];
  if (!s) throw new NetsecError("CONFIG_INVALID", `no search ranges for model ${model}`, { value: model });
  return s;
}

/**
 * Candidate `index` of a model: its ranges drawn from a stream of (seed, model, index), merged over
 * the space's fixed params and `fixed` (the user's search.params win over both).
 */
export function drawCandidate(
  model: string,
  index: number,
  seed: number,
  fixed: Record<string, unknown> = {},
): Record<string, unknown> {
  const space = searchSpace(model);
  let h = seed;
  for (const ch of model) h = mixSeed(h, ch.charCodeAt(0));
  const rng = new Rng(mixSeed(h, index));
  const out: Record<string, unknown> = {};
  for (const [k, r] of Object.entries(space.ranges)) out[k] = draw(r, rng);
  return { ...out, ...space.fixed, ...fixed };
}
