/**
 * QuickScorer (Lucchese et al., SIGIR 2015): boosted trees scored feature by feature instead of node
 * by node. Each tree's leaves, numbered left to right, are the bits of one 32-bit word per tree, all
 * set when a row starts. A split node whose test a row fails (x > threshold: the row goes right)
 * clears the bits of the leaves of its left subtree; the row's leaf in that tree is then the lowest
 * bit still set (every node on its path sent it the way that keeps its leaf, and every node off its
 * path that it fails clears only leaves left of it). The nodes of all the trees are sorted by feature
 * and threshold, so a row reads each of its values once and visits only the nodes it fails (for
 * NSL-KDD's 100 trees of 31 leaves about 900 of 3,000 per row), with no dependent load chain per
 * step as a walk has; the leaf values are then added in tree order, as the walks do, so each row's
 * sum is the same to the bit.
 *
 * Only for trees this walk knows completely (`quickScorable`), rows without missing values (a NaN
 * fails no test here, where a walk sends it by missingLeft) and one value per node (boosting).
 */
import type { FlatTree } from "./flat-tree.ts";

/** Leaves a tree may have: one bit each of a 32-bit word. */
export const QUICK_MAX_LEAVES = 32;

/**
 * The tables, nodes sorted by (feature position, threshold): feature position j's nodes are
 * [start[j], start[j + 1]), each with its threshold, its tree and the mask its failure ANDs into that
 * tree's word (its left subtree's leaf bits cleared). leafValue[32·t + b] is the value of tree t's
 * leaf b (b counts its leaves left to right).
 */
export interface QuickTables {
  start: Int32Array;
  threshold: Float64Array;
  tree: Int32Array;
  mask: Int32Array;
  leafValue: Float64Array;
  /** Distinct (feature, threshold) tests among the nodes. */
  tests: number;
}

/** The fields of a tree of numeric-threshold splits, the only split kind this walk knows. */
const NUMERIC_TREE_FIELDS: ReadonlySet<string> = new Set([
  "nNodes",
  "k",
  "feature",
  "threshold",
  "left",
  "right",
  "missingLeft",
  "value",
  "weight",
]);

/**
 * Whether QuickScorer can score these trees, the one check of what it accepts: every tree carries
 * only the fields of numeric-threshold trees (a tree with any other field set, such as another split
 * kind's tables, is declined: its nodes may route by more than a threshold), every node is a leaf or
 * splits on a non-NaN threshold, one value a node, at most 32 leaves a tree. Otherwise the packed
 * walks score them (walks.ts).
 */
export function quickScorable(trees: readonly FlatTree[]): boolean {
  if (trees.length === 0) return false;
  for (const t of trees) {
    for (const [key, v] of Object.entries(t))
      if (!NUMERIC_TREE_FIELDS.has(key) && v !== undefined) return false;
    if (t.k !== 1) return false;
    let leaves = 0;
    for (let i = 0; i < t.nNodes; i++) {
      if (t.feature[i]! < 0) leaves++;
      else if (Number.isNaN(t.threshold[i]!)) return false;
    }
    if (leaves > QUICK_MAX_LEAVES) return false;
  }
  return true;
}

/**
 * The tables for trees accepted by quickScorable (else null); pos maps an input column to its
 * position in the packed feature list, nFeatures that list's length.
 */
export function quickTables(
  trees: readonly FlatTree[],
  pos: ReadonlyMap<number, number>,
  nFeatures: number,
): QuickTables | null {
  if (!quickScorable(trees)) return null;
  const feat: number[] = [];
  const thr: number[] = [];
  const tree: number[] = [];
  const mask: number[] = [];
  const leafValue = new Float64Array(QUICK_MAX_LEAVES * trees.length);
  trees.forEach((t, ti) => {
    // depth-first, left first: leaves numbered left to right; a split's left subtree holds leaves
    // [first, end of its left subtree)
    let next = 0;
    const visit = (i: number): void => {
      if (t.feature[i]! < 0) {
        leafValue[QUICK_MAX_LEAVES * ti + next++] = t.value[i]!;
        return;
      }
      const first = next;
      visit(t.left[i]!);
      // bits first .. next − 1 (next <= 31: the right subtree has a leaf too)
      const cleared = ((1 << next) - 1) & ~((1 << first) - 1);
      feat.push(pos.get(t.feature[i]!)!);
      thr.push(t.threshold[i]!);
      tree.push(ti);
      mask.push(~cleared);
      visit(t.right[i]!);
    };
    visit(0);
  });
  const order = Array.from(feat.keys()).sort((a, b) => feat[a]! - feat[b]! || thr[a]! - thr[b]!);
  const start = new Int32Array(nFeatures + 1);
  for (const f of feat) start[f + 1]!++;
  for (let j = 0; j < nFeatures; j++) start[j + 1]! += start[j]!;
  let tests = 0;
  for (let i = 0; i < order.length; i++) {
    const o = order[i]!;
    const prev = order[i - 1];
    if (prev === undefined || feat[prev] !== feat[o] || thr[prev] !== thr[o]) tests++;
  }
  return {
    tests,
    start,
    threshold: Float64Array.from(order, (o) => thr[o]!),
    tree: Int32Array.from(order, (o) => tree[o]!),
    mask: Int32Array.from(order, (o) => mask[o]!),
    leafValue,
  };
}

/**
 * walkRows's sums for m rows without missing values, xb[xo·p ..) row-major (p values a row, in
 * packed feature positions): out[(r0 + q)·outK + (t mod R)] += scale · value(leaf of row q in tree t),
 * tree by tree. `words`: scratch of nTrees ints.
 */
export function quickRows(
  Q: QuickTables,
  nTrees: number,
  xb: Float64Array,
  xo: number,
  m: number,
  p: number,
  out: Float64Array,
  r0: number,
  scale: number,
  outK: number,
  R: number,
  words: Int32Array,
): void {
  const { start, threshold, tree, mask, leafValue } = Q;
  const nf = start.length - 1;
  for (let q = 0; q < m; q++) {
    words.fill(-1, 0, nTrees);
    const x = (xo + q) * p;
    for (let f = 0; f < nf; f++) {
      const v = xb[x + f]!;
      for (let j = start[f]!, e = start[f + 1]!; j < e && v > threshold[j]!; j++)
        words[tree[j]!]! &= mask[j]!;
    }
    const o = (r0 + q) * outK;
    for (let t = 0; t < nTrees; t++) {
      const off = R === 1 ? 0 : t % R;
      // the lowest set bit's index
      const w = words[t]!;
      out[o + off]! += scale * leafValue[QUICK_MAX_LEAVES * t + (31 - Math.clz32(w & -w))]!;
    }
  }
}
