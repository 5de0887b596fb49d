/**
 * Worker-side task: grow trees [from, to) of a forest on shared binned data (on a subset of its rows
 * when `rows` is given: the other rows get weight 0, which the grower skips). Tree i uses the stream
 * Rng(seed).fork(i) for its bootstrap and its feature sampling, so a forest is identical whatever the
 * number of threads and however trees are grouped into tasks.
 *
 * With `votes`, the task also adds up its trees' answers for every fit row (the out-of-bag pass):
 * in-bag rows' leaves come from the grower's partition, the rows a tree's bootstrap sample left out
 * are walked through it on their decoded values (what predicting them on the float64 matrix gives).
 */
import { Rng } from "../../core/rng.ts";
import type { RawColumns } from "./binning.ts";
import type { FlatTree } from "./flat-tree.ts";
import { type BinnedData, type GrowParams, growClassificationTree } from "./grow-classifier.ts";

export interface ForestTaskArgs {
  bins: Uint8Array;
  nRows: number;
  nFeatures: number;
  thresholds: Float64Array[];
  cuts: Float64Array[];
  /** Raw columns of the quantile-binned features (shared), or null. */
  raw: RawColumns | null;
  /** The rows to grow on (ascending indices, e.g. a CV fold's training rows), or null for all. */
  rows: Uint32Array | null;
  y: Int32Array;
  nClasses: number;
  /** Base per-row weights (sample weights x class weights), or null for ones. */
  baseWeight: Float64Array | null;
  grow: GrowParams;
  seed: number;
  from: number;
  to: number;
  bootstrap: boolean;
  /** Rows drawn per bootstrap sample (from `rows` when given). */
  nBootstrap: number;
  balancedSubsample: boolean;
  /** The out-of-bag pass's sums for this task's trees, or null. */
  votes: ForestVotes | null;
}

/**
 * The out-of-bag sums hold leaf values in units of 2^-39, rounded: whole numbers, so adding them is
 * exact in float64 in any order and any grouping of trees into tasks (10,000 trees stay below 2^53),
 * and the scores do not depend on the threads. (A score is then within 2^-40 of the exact mean.)
 */
export const VOTE_UNIT = 2 ** 39;

/** One task's sums over its trees (shared buffers, one set per task; RandomForest adds them up). */
export interface ForestVotes {
  /** The one value of each bin of a feature binned one value per bin: BinnedMatrix.values (shared). */
  values: Float64Array;
  /** Per row, its group of identical rows (FitOptions.oobGroups), or null: each row its own. */
  groups: Int32Array | null;
  /** nRows × K: Σ of the leaf values (in VOTE_UNITs) of the trees whose bootstrap sample left the row out. */
  oob: Float64Array;
  /** Per row: how many of those trees there were. */
  oobTrees: Uint16Array;
  /**
   * With groups: the same sums over the trees whose sample left out the row itself, whatever its
   * twins (a row no tree left out with its group falls back to these); null without groups.
   */
  own: { oob: Float64Array; oobTrees: Uint16Array } | null;
  /** nRows × K: Σ of every tree's leaf value in VOTE_UNITs (the forest's score on its own training rows). */
  all: Float64Array;
}

/** Warm-up task (see warmPool): loading this module in the worker is the work. */
export function ready(): null {
  return null;
}

export function buildTrees(a: ForestTaskArgs): FlatTree[] {
  const out: FlatTree[] = [];
  const master = new Rng(a.seed);
  const sw = new Float64Array(a.nRows);
  const data: BinnedData = {
    bins: a.bins,
    nRows: a.nRows,
    nFeatures: a.nFeatures,
    thresholds: a.thresholds,
    cuts: a.cuts,
    raw: a.raw,
  };
  const leafOfRow = a.votes ? new Int32Array(a.nRows) : null;
  for (let t = a.from; t < a.to; t++) {
    const rng = master.fork(t);
    const rows = a.rows;
    if (a.bootstrap) {
      sw.fill(0);
      if (rows) for (let i = 0; i < a.nBootstrap; i++) sw[rows[rng.int(rows.length)]!]!++;
      else for (let i = 0; i < a.nBootstrap; i++) sw[rng.int(a.nRows)]!++;
    } else if (rows) for (const i of rows) sw[i] = 1;
    else sw.fill(1);
    if (a.balancedSubsample) {
      const cnt = new Float64Array(a.nClasses);
      let tot = 0;
      for (let i = 0; i < a.nRows; i++) {
        cnt[a.y[i]!]! += sw[i]!;
        tot += sw[i]!;
      }
      for (let i = 0; i < a.nRows; i++) {
        const c = cnt[a.y[i]!]!;
        if (sw[i]! > 0) sw[i]! *= tot / (a.nClasses * c);
      }
    }
    if (a.baseWeight) for (let i = 0; i < a.nRows; i++) sw[i]! *= a.baseWeight[i]!;
    const tree = growClassificationTree(data, a.y, a.nClasses, sw, a.grow, rng, leafOfRow);
    if (a.votes) addVotes(tree, data, a.votes, a.rows, sw, leafOfRow!);
    out.push(tree);
  }
  return out;
}

/**
 * A tree's leaf value for every fit row into `v.all`, and into `v.oob` for the rows out of its bag:
 * of weight 0 (with groups: no row of the group has weight; `v.own` then gets the rows of weight 0).
 */
function addVotes(
  tree: FlatTree,
  d: BinnedData,
  v: ForestVotes,
  rows: Uint32Array | null,
  sw: Float64Array,
  leafOfRow: Int32Array,
): void {
  const K = tree.k;
  const value = Float64Array.from(tree.value, (x) => Math.round(x * VOTE_UNIT));
  const nFit = rows ? rows.length : d.nRows;
  // with groups: whether some row of the group is in the bag
  const groups = v.groups;
  let groupInBag: Uint8Array | null = null;
  if (groups) {
    groupInBag = new Uint8Array(d.nRows);
    for (let j = 0; j < nFit; j++) {
      const i = rows ? rows[j]! : j;
      if (sw[i]! > 0) groupInBag[groups[i]!] = 1;
    }
  }
  for (let j = 0; j < nFit; j++) {
    const i = rows ? rows[j]! : j;
    const inBag = sw[i]! > 0;
    const out = groupInBag ? groupInBag[groups![i]!] === 0 : !inBag;
    const base = (inBag ? leafOfRow[i]! : binnedLeaf(tree, d, v.values, i)) * K;
    const o = i * K;
    for (let c = 0; c < K; c++) v.all[o + c]! += value[base + c]!;
    if (inBag) continue;
    if (v.own) {
      for (let c = 0; c < K; c++) v.own.oob[o + c]! += value[base + c]!;
      v.own.oobTrees[i]!++;
    }
    if (!out) continue;
    for (let c = 0; c < K; c++) v.oob[o + c]! += value[base + c]!;
    v.oobTrees[i]!++;
  }
}

/**
 * The leaf row r of binned data reaches: each tested value decoded (the raw column of a
 * quantile-binned feature, else the bin's one value; NaN for the missing bin), then the comparisons
 * of leafOf.
 */
function binnedLeaf(t: FlatTree, d: BinnedData, values: Float64Array, r: number): number {
  const { feature, threshold, left, right, missingLeft } = t;
  const n = d.nRows;
  const raw = d.raw;
  let node = 0;
  for (;;) {
    const f = feature[node]!;
    if (f < 0) return node;
    const slot = raw ? raw.index[f]! : -1;
    const x = slot >= 0 ? raw!.data[slot * n + r]! : values[f * 256 + d.bins[f * n + r]!]!;
    node =
      x <= threshold[node]!
        ? left[node]!
        : x > threshold[node]!
          ? right[node]!
          : missingLeft[node]
            ? left[node]!
            : right[node]!;
  }
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "forest.build": typeof buildTrees;
    "forest.ready": typeof ready;
  }
}
