/**
 * Batch prediction over packed trees, scheduled: a large batch is split between this thread and the
 * helper thread (core/helper.ts), each walking its share with the kernels of walks.ts.
 */
import { cloneRepaid, helperReady, helperScratch, runWithHelper } from "../../core/helper.ts";
import { task } from "../../core/tasks.ts";
import type { PackedTrees } from "./packed-trees.ts";
import { accumulateRows, singleRows, singleTable } from "./walks.ts";

/**
 * accumulateTree for the single tree of P, four rows walking together on the column-major data itself
 * (no row-major copy: for one tree the copy costs more than the walk), without a branch per step: the
 * general table (links), so missing values need no test first. The same leaves and sums.
 */
export function accumulateSingle(
  P: PackedTrees,
  data: Float64Array,
  nRows: number,
  out: Float64Array,
  scale: number,
): void {
  if (P.nTrees !== 1) throw new RangeError(`accumulateSingle: ${P.nTrees} trees`);
  const T = singleTable(P);
  // a large batch already in shared memory (bundles build theirs there): the helper thread walks the
  // second half of the rows while this one walks the first (the same walk and sums, row by row)
  const steps = nRows * P.depth[0]!;
  if (
    data.buffer instanceof SharedArrayBuffer &&
    steps >= SINGLE_PARALLEL_MIN_STEPS &&
    cloneRepaid(P, steps >= 64 * P.threshold.length) &&
    helperReady()
  ) {
    const half = 4 * Math.floor(nRows / 8);
    const shared = helperScratch(out.length);
    shared.set(out.subarray(half * P.k), half * P.k);
    const args: SingleArgs = { data, nRows, out: shared, scale, from: half, to: nRows };
    const ok = runWithHelper(
      task("tree.singleRows", args),
      () => singleRows(T, data, nRows, out, scale, 0, half),
      P,
    );
    // the helper's rows in `shared`, or (it failed or is late, and may have written part of them)
    // walked here straight into `out`, whose rows from `half` on are still as the caller gave them
    if (ok) out.set(shared.subarray(half * P.k), half * P.k);
    else singleRows(T, data, nRows, out, scale, half, nRows);
    return;
  }
  singleRows(T, data, nRows, out, scale, 0, nRows);
}

interface SingleArgs {
  data: Float64Array;
  nRows: number;
  out: Float64Array;
  scale: number;
  from: number;
  to: number;
}

/**
 * At least this many node steps (rows x the tree's depth) in a batch in shared memory, a single tree
 * walks its rows on two threads (below it, handing off costs more than it saves: phishing's tree of
 * depth 24, 256 rows take 11 µs either way, 512 rows 23 alone and 19 split, 2,211 rows 93 and 56).
 */
export const SINGLE_PARALLEL_MIN_STEPS = 1 << 13;

/** accumulateSingle on the helper thread (data and out in shared memory; P kept by the helper). */
export function singleRowsTask(a: SingleArgs, P: PackedTrees): null {
  singleRows(singleTable(P), a.data, a.nRows, a.out, a.scale, a.from, a.to);
  return null;
}

/**
 * Below this many node steps (rows x the trees' summed depths) a batch is not split with the helper
 * thread: handing off costs about 5 µs (the trees go to the helper once per model), which small
 * batches do not repay (phishing, 100 boosting trees of depth 3: 64 rows break even, 128 run 1.2x
 * faster split, 2,211 rows 1.75x; a forest of 100 deep trees gains 1.5x from 32 rows on).
 */
export const PARALLEL_MIN_STEPS = 1 << 15;

/**
 * For every row r and tree t, in tree order: out[r·outK + (t mod R) + c] += scale · value(leaf, c),
 * c < k — the same sums, in the same order, as `accumulateTree` over the trees one by one. Rows are
 * taken in blocks (the used features copied to row-major), each tree runs over a whole block, four
 * rows walking down together without a branch per step, so the tree and the block stay in cache and
 * the four walks overlap. (For a single tree the copy costs more than it saves: use accumulateTree.)
 * A large batch is split with the helper thread (see core/helper.ts); each row's sum is computed the
 * same way on either thread. A batch in shared memory (bundles build theirs there) is read in place by
 * both threads, each copying its own blocks; otherwise this thread first copies the helper's rows of
 * the used columns to shared memory.
 */
export function accumulatePacked(
  P: PackedTrees,
  data: Float64Array,
  nRows: number,
  out: Float64Array,
  scale: number,
  outK = P.k,
  R = 1,
): void {
  const steps = nRows * P.sumDepth;
  // the first split batch of a model clones its trees to the helper (cloneRepaid)
  if (
    nRows >= 8 &&
    steps >= PARALLEL_MIN_STEPS &&
    cloneRepaid(P, steps >= 64 * P.threshold.length) &&
    helperReady()
  ) {
    // the helper walks rows [half, n) and this thread [0, half); the helper reads a batch in shared
    // memory where it is, else a copy of its rows of the used columns (one run a column)
    const half = 4 * Math.floor(nRows / 8);
    const m = nRows - half;
    const inPlace = data.buffer instanceof SharedArrayBuffer;
    let args: PackedArgs;
    let shared: Float64Array;
    if (inPlace) {
      shared = helperScratch(out.length);
      args = { data, nRows, from: half, to: nRows, out: shared, scale, outK, R };
    } else {
      const cols = helperScratch(m * P.features.length);
      P.features.forEach((f, j) => {
        cols.set(data.subarray(f * nRows + half, (f + 1) * nRows), j * m);
      });
      shared = helperScratch(out.length, cols.length);
      // the copy's row r is row half + r: its sums go to shared[(half + r)·outK ..)
      const features = Int32Array.from(P.features, (_, j) => j);
      args = {
        data: cols,
        nRows: m,
        from: 0,
        to: m,
        out: shared.subarray(half * outK),
        scale,
        outK,
        R,
        features,
      };
    }
    shared.set(out.subarray(half * outK), half * outK);
    const ok = runWithHelper(
      task("tree.packedRows", args),
      () => accumulateRows(P, data, nRows, 0, half, out, scale, outK, R),
      P,
    );
    // as in accumulateSingle: rows of a helper that failed or is late are walked here into `out`
    // (from `data`: the helper only reads its copy, but this thread need not)
    if (ok) out.set(shared.subarray(half * outK), half * outK);
    else accumulateRows(P, data, nRows, half, nRows, out, scale, outK, R);
    return;
  }
  accumulateRows(P, data, nRows, 0, nRows, out, scale, outK, R);
}

interface PackedArgs {
  /** Column-major, nRows a column, in shared memory. */
  data: Float64Array;
  /** The column of each of P.features in data (default: P.features themselves). */
  features?: Int32Array;
  nRows: number;
  from: number;
  to: number;
  out: Float64Array;
  scale: number;
  outK: number;
  R: number;
}

/** The helper thread's share of accumulatePacked (P kept by the helper). */
export function packedRowsTask(a: PackedArgs, P: PackedTrees): null {
  accumulateRows(P, a.data, a.nRows, a.from, a.to, a.out, a.scale, a.outK, a.R, a.features);
  return null;
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "tree.packedRows": typeof packedRowsTask;
    "tree.singleRows": typeof singleRowsTask;
  }
}
