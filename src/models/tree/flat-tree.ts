import { type CategoricalSplits, categoryGoesLeft } from "./categorical-splits.ts";

/**
 * A fitted tree as flat typed arrays, the form every tree learner produces and every predictor, the
 * ONNX exporter and the explainer read:
 *   feature[i]   split feature of node i, -1 for a leaf
 *   threshold[i] raw-unit threshold: x <= threshold goes left (BRANCH_LEQ); NaN routes by missingLeft
 *   left[i], right[i]  child indices (-1 for leaves)
 *   missingLeft[i]     1 when a missing value goes left
 *   value[i*K .. i*K+K) node value: class probabilities (classification trees) or K raw scores
 *                      (boosting); internal nodes carry the weighted mean too (used by explanations)
 *   weight[i]          training weight (samples) in the node
 *   categorical        absent unless some node splits a category set (hist_gradient_boosting's
 *                      native categorical features, ./categorical-splits.ts); such a node's
 *                      threshold is NaN and only the generic walks (leafOf, pathContributions) route it
 */
export interface FlatTree {
  nNodes: number;
  /** Values per node (classes, or 1 for a binary boosting tree). */
  k: number;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  missingLeft: Uint8Array;
  value: Float64Array;
  weight: Float64Array;
  categorical?: CategoricalSplits;
}

/** The leaf index reached by row `r` of a column-major matrix. */
export function leafOf(t: FlatTree, data: Float64Array, nRows: number, r: number): number {
  if (t.categorical) return leafOfCategorical(t, t.categorical, data, nRows, r);
  let node = 0;
  const { feature, threshold, left, right, missingLeft } = t;
  for (;;) {
    const f = feature[node]!;
    if (f < 0) return node;
    const v = data[f * nRows + r]!;
    node =
      v <= threshold[node]!
        ? left[node]!
        : v > threshold[node]!
          ? right[node]!
          : missingLeft[node]
            ? left[node]!
            : right[node]!;
  }
}

/** leafOf for a tree with category-set splits (kept apart: the numeric walk stays as small as it was). */
function leafOfCategorical(
  t: FlatTree,
  cat: CategoricalSplits,
  data: Float64Array,
  nRows: number,
  r: number,
): number {
  let node = 0;
  for (;;) {
    const f = t.feature[node]!;
    if (f < 0) return node;
    node = nextNode(t, cat, node, data[f * nRows + r]!);
  }
}

/** The child of internal node `node` that value v of its feature goes to (any split kind). */
export function nextNode(t: FlatTree, cat: CategoricalSplits | undefined, node: number, v: number): number {
  const c = cat ? cat.node[node]! : -1;
  const goLeft =
    c >= 0
      ? categoryGoesLeft(cat!.bits, c, v, t.missingLeft[node]!)
      : v <= t.threshold[node]!
        ? true
        : v > t.threshold[node]!
          ? false
          : t.missingLeft[node] !== 0;
  return goLeft ? t.left[node]! : t.right[node]!;
}

/**
 * Add `scale * value(leaf)` of every row into `out` (row-major nRows x k). One pass per tree keeps the
 * node arrays hot in cache; the comparison `v <= t` is false for NaN, which then takes the missing branch.
 */
export function accumulateTree(
  t: FlatTree,
  data: Float64Array,
  nRows: number,
  out: Float64Array,
  scale: number,
  outK = t.k,
  offset = 0,
): void {
  const { value, k } = t;
  for (let r = 0; r < nRows; r++) {
    // leafOf is small: V8 optimises it within the first batch, and inlines it here
    const base = leafOf(t, data, nRows, r) * k;
    const o = r * outK + offset;
    for (let c = 0; c < k; c++) out[o + c]! += scale * value[base + c]!;
  }
}
