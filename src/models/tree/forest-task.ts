/**
 * Worker-side task: grow trees [from, to) of a forest on shared binned data (on a subset of its rows
 * when `rows` is given: the other rows get weight 0, which the grower skips). Tree i uses the stream
 * Rng(seed).fork(i) for its bootstrap and its feature sampling, so a forest is identical whatever the
 * number of threads and however trees are grouped into tasks.
 */
import { Rng } from "../../core/rng.ts";
import type { RawColumns } from "./binning.ts";
import type { FlatTree } from "./flat-tree.ts";
import { type GrowParams, growClassificationTree } from "./grow-classifier.ts";

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
}

/** Warm-up task (see warmPool): loading this module in the worker is the work. */
export function ready(): null {
  return null;
}

export function buildTrees(a: ForestTaskArgs): FlatTree[] {
  const out: FlatTree[] = [];
  const master = new Rng(a.seed);
  const sw = new Float64Array(a.nRows);
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
    out.push(
      growClassificationTree(
        {
          bins: a.bins,
          nRows: a.nRows,
          nFeatures: a.nFeatures,
          thresholds: a.thresholds,
          cuts: a.cuts,
          raw: a.raw,
        },
        a.y,
        a.nClasses,
        sw,
        a.grow,
        rng,
      ),
    );
  }
  return out;
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "forest.build": typeof buildTrees;
    "forest.ready": typeof ready;
  }
}
