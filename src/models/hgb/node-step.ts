/**
 * The grower's work for one split node after its partition, by a range of features, so the fit's two
 * threads can each take one (wasm-kernels.ts schedules it; this thread from feature 0, the helper
 * thread from the feature boundary that about halves the node's sparse entries): with the smaller child's
 * histogram slots of the range built by the histogram kernel, `childrenHalf` fills the range's common
 * bins, writes the larger child's slots as the parent's minus the smaller's (out of place: the parent
 * is only read, so a late helper's share can be done again from it), and finds each child's best split
 * among the range's features. Each value is the one the one-thread path computes (the same sums in
 * the same order, and betterSplit combines the two ranges' splits as one scan of every feature would).
 */

import { fillCommonBins } from "./histogram.ts";
import type { SplitInfo, SplitParams } from "./split.ts";
import { findBestSplit } from "./split.ts";

/** A child whose split is searched: its rows, sums, value and features (null: every one). */
export interface ChildSearch {
  n: number;
  G: number;
  H: number;
  value: number;
  allowed: Uint8Array | null;
}

/**
 * What split finding reads, the same for every node of a fit: the split parameters themselves (every
 * one of them, so the helper thread's search applies the same rules) and the histogram's layout.
 */
export interface NodeSearch extends SplitParams {
  off: Int32Array;
  nBins: Uint16Array;
  hasMissing: Uint8Array;
  /** Each feature's common bin's histogram index (SparseRows.common). */
  common: Int32Array;
  categorical: Uint8Array | null;
}

/**
 * Features [from, to) of a split node's children: `small` holds the smaller child's slots of the
 * range but the common bins (G, H: its rows' sums, m rows); `large` gets parent − small over the
 * range; returns the best split of each of [small, large] among the range's features (null where
 * the child is not searched, `children[i]` null, or has none).
 */
export function childrenHalf(
  small: Float64Array,
  large: Float64Array,
  parent: Float64Array,
  G: number,
  H: number,
  m: number,
  from: number,
  to: number,
  search: NodeSearch,
  children: readonly (ChildSearch | null)[],
): [SplitInfo | null, SplitInfo | null] {
  const { off, nBins, hasMissing, categorical } = search;
  fillCommonBins(small, off, search.common, G, H, m, from, to);
  const end = off[to]!;
  for (let q = off[from]!; q < end; q++) large[q] = parent[q]! - small[q]!;
  const find = (hist: Float64Array, c: ChildSearch | null) =>
    c
      ? findBestSplit(
          hist,
          off,
          nBins,
          hasMissing,
          c.n,
          c.G,
          c.H,
          c.value,
          search,
          c.allowed,
          categorical,
          from,
          to,
        )
      : null;
  return [find(small, children[0] ?? null), find(large, children[1] ?? null)];
}

/** Doubles a split takes in shared memory (writeSplit): 12 values, then the 8 category words. */
export const SPLIT_DOUBLES = 16;

/** `s` into out[at .. at + SPLIT_DOUBLES) (the helper's result; null: no split). */
export function writeSplit(out: Float64Array, at: number, s: SplitInfo | null): void {
  out[at] = s ? 1 : 0;
  if (!s) return;
  out[at + 1] = s.gain;
  out[at + 2] = s.feature;
  out[at + 3] = s.bin;
  out[at + 4] = s.missingLeft;
  out[at + 5] = s.gl;
  out[at + 6] = s.hl;
  out[at + 7] = s.nl;
  out[at + 8] = s.gr;
  out[at + 9] = s.hr;
  out[at + 10] = s.nr;
  out[at + 11] = s.cats ? 1 : 0;
  if (s.cats) new Uint32Array(out.buffer, out.byteOffset + 8 * (at + 12), 8).set(s.cats);
}

/** The split writeSplit wrote at `at`. */
export function readSplit(out: Float64Array, at: number): SplitInfo | null {
  if (out[at] !== 1) return null;
  return {
    gain: out[at + 1]!,
    feature: out[at + 2]!,
    bin: out[at + 3]!,
    missingLeft: out[at + 4]!,
    gl: out[at + 5]!,
    hl: out[at + 6]!,
    nl: out[at + 7]!,
    gr: out[at + 8]!,
    hr: out[at + 9]!,
    nr: out[at + 10]!,
    cats: out[at + 11] === 1 ? new Uint32Array(out.buffer, out.byteOffset + 8 * (at + 12), 8).slice() : null,
  };
}
