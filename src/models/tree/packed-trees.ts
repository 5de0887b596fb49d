import type { FlatTree } from "./flat-tree.ts";
import { type QuickTables, quickTables } from "./quick-scorer.ts";

/**
 * Trees packed for fast batch prediction (built from FlatTrees, never serialized). Every node of every
 * tree is in one table: links[4i] is the (remapped) feature node i tests, links[4i+1..4i+3] its
 * children for x <= threshold, x > threshold and a missing x. A leaf tests feature 0 and has itself
 * as all three children, so a walk can take more steps than a leaf's depth without leaving it: rows
 * are walked several at a time without a branch per row.
 */
export interface PackedTrees {
  nTrees: number;
  /** Values per node. */
  k: number;
  roots: Int32Array;
  links: Int32Array;
  threshold: Float64Array;
  value: Float64Array;
  /** The input columns the trees test, ascending; links refer to positions in this list. */
  features: Int32Array;
  /** Per tree: the depth of its deepest leaf. */
  depth: Int32Array;
  /** The sum of depth (an upper bound of the steps one row takes through all the trees). */
  sumDepth: number;
  /**
   * The same nodes for rows without a missing value, when every split's left child is the next node
   * (depth-first numbering, as every learner here grows): fr[2i] the feature, fr[2i+1] the right child,
   * thr[i] the threshold; a leaf goes "right" to itself for every value (threshold -Infinity). A step
   * is then i + 1 + (x > thr[i]) · (fr[2i+1] − i − 1): one table of two ints a node instead of four.
   * Null when some left child is elsewhere.
   */
  compact: { fr: Int32Array; thr: Float64Array } | null;
  /**
   * When every tree is at most SHALLOW deep (boosting): each tree as a complete tree of depth D (the
   * deepest), node i's children at 2i + 1 and 2i + 2, so a walk is exactly D steps with no child
   * table. Per tree, 2^D − 1 split slots: feature (position in `features`), threshold, whether a
   * missing value goes right; then 2^D leaf slots of k values. A leaf above depth D becomes splits
   * that send every value left (threshold +Infinity, missing left) down to copies of its value.
   */
  perfect: {
    D: number;
    feat: Int32Array;
    thr: Float64Array;
    missRight: Uint8Array;
    value: Float64Array;
  } | null;
  /** QuickScorer's tables (quick-scorer.ts), for trees it accepts (quickScorable), else null. */
  quick: QuickTables | null;
  /**
   * Whether some tree has category-set splits: then only QuickScorer scores the trees (links,
   * threshold and the tables above route by thresholds only: compact and perfect are null, and the
   * walks that read links refuse them).
   */
  categorical: boolean;
}

export function packTrees(trees: readonly FlatTree[]): PackedTrees {
  let total = 0;
  for (const t of trees) total += t.nNodes;
  const k = trees[0]?.k ?? 1;
  const roots = new Int32Array(trees.length);
  const depth = new Int32Array(trees.length);
  const links = new Int32Array(4 * total);
  const threshold = new Float64Array(total);
  const value = new Float64Array(total * k);
  const used = new Set<number>();
  for (const t of trees) for (let i = 0; i < t.nNodes; i++) if (t.feature[i]! >= 0) used.add(t.feature[i]!);
  const features = Int32Array.from([...used].sort((a, b) => a - b));
  const pos = new Map<number, number>();
  features.forEach((f, i) => {
    pos.set(f, i);
  });
  // the node tables route by thresholds only: trees with category-set splits are packed for
  // QuickScorer alone, which knows them, or not at all
  const categorical = trees.some((t) => t.categorical !== undefined);
  const quick = quickTables(trees, pos, features.length);
  if (categorical && !quick) throw new RangeError("packTrees: category-set splits QuickScorer cannot score");
  let o = 0;
  for (let ti = 0; ti < trees.length; ti++) {
    const t = trees[ti]!;
    if (t.k !== k) throw new RangeError(`packTrees: tree ${ti} has ${t.k} values per node, expected ${k}`);
    roots[ti] = o;
    // nodes in depth-first order, left subtree first (a relabelling: the same tree), whatever order the
    // learner grew them in (boosting grows best-first): every left child is then the next node, which
    // the compact table needs
    const at = preorder(t);
    for (let i = 0; i < t.nNodes; i++) {
      const g = o + at[i]!;
      const f = t.feature[i]!;
      if (f >= 0) {
        links[4 * g] = pos.get(f)!;
        links[4 * g + 1] = o + at[t.left[i]!]!;
        links[4 * g + 2] = o + at[t.right[i]!]!;
        links[4 * g + 3] = o + at[t.missingLeft[i] ? t.left[i]! : t.right[i]!]!;
        threshold[g] = t.threshold[i]!;
      } else {
        links[4 * g] = 0;
        links[4 * g + 1] = g;
        links[4 * g + 2] = g;
        links[4 * g + 3] = g;
      }
      for (let c = 0; c < k; c++) value[g * k + c] = t.value[i * k + c]!;
    }
    // depth of the deepest leaf (iterative walk from the root)
    let dmax = 0;
    const stack = [0, 0];
    while (stack.length) {
      const dep = stack.pop()!;
      const i = stack.pop()!;
      if (t.feature[i]! < 0) dmax = Math.max(dmax, dep);
      else stack.push(t.left[i]!, dep + 1, t.right[i]!, dep + 1);
    }
    depth[ti] = dmax;
    o += t.nNodes;
  }
  return {
    nTrees: trees.length,
    k,
    roots,
    links,
    threshold,
    value,
    features,
    depth,
    sumDepth: depth.reduce((a, b) => a + b, 0),
    compact: categorical ? null : compactNodes(links, threshold),
    perfect: categorical ? null : perfectTrees(trees, pos, k, depth),
    quick,
    categorical,
  };
}

/** Each node's position in the tree's depth-first, left-first order (the root first). */
function preorder(t: FlatTree): Int32Array {
  const at = new Int32Array(t.nNodes).fill(-1);
  const stack = [0];
  let next = 0;
  while (stack.length) {
    const i = stack.pop()!;
    at[i] = next++;
    if (t.feature[i]! >= 0) stack.push(t.right[i]!, t.left[i]!);
  }
  // (nodes no path reaches, if a tree ever had any, go last: never walked)
  for (let i = 0; i < t.nNodes; i++) if (at[i] === -1) at[i] = next++;
  return at;
}

function perfectTrees(
  trees: readonly FlatTree[],
  pos: Map<number, number>,
  k: number,
  depth: Int32Array,
): PackedTrees["perfect"] {
  let D = 0;
  for (const d of depth) D = Math.max(D, d);
  if (D > SHALLOW || trees.length === 0) return null;
  const nSplit = (1 << D) - 1;
  const nLeaf = 1 << D;
  const feat = new Int32Array(trees.length * nSplit);
  const thr = new Float64Array(trees.length * nSplit).fill(Number.POSITIVE_INFINITY);
  const missRight = new Uint8Array(trees.length * nSplit);
  const value = new Float64Array(trees.length * nLeaf * k);
  trees.forEach((t, ti) => {
    const so = ti * nSplit;
    const vo = ti * nLeaf * k;
    // (slot, node) pairs, breadth-first
    const fill = (slot: number, node: number): void => {
      if (slot >= nSplit) {
        value.set(t.value.subarray(node * k, node * k + k), vo + (slot - nSplit) * k);
        return;
      }
      if (t.feature[node]! < 0) {
        // a leaf above depth D: "every value left" down to a leaf slot (the right side never taken)
        fill(2 * slot + 1, node);
        fill(2 * slot + 2, node);
        return;
      }
      feat[so + slot] = pos.get(t.feature[node]!)!;
      thr[so + slot] = t.threshold[node]!;
      missRight[so + slot] = t.missingLeft[node] ? 0 : 1;
      fill(2 * slot + 1, t.left[node]!);
      fill(2 * slot + 2, t.right[node]!);
    };
    fill(0, 0);
  });
  return { D, feat, thr, missRight, value };
}

function compactNodes(links: Int32Array, threshold: Float64Array): PackedTrees["compact"] {
  const total = threshold.length;
  const fr = new Int32Array(2 * total);
  const thr = new Float64Array(total);
  for (let g = 0; g < total; g++) {
    if (links[4 * g + 1] === g) {
      // a leaf: every value goes to itself
      fr[2 * g] = 0;
      fr[2 * g + 1] = g;
      thr[g] = Number.NEGATIVE_INFINITY;
    } else {
      if (links[4 * g + 1] !== g + 1) return null;
      fr[2 * g] = links[4 * g]!;
      fr[2 * g + 1] = links[4 * g + 2]!;
      thr[g] = threshold[g]!;
    }
  }
  return { fr, thr };
}

/** Trees at most this deep are walked a fixed number of steps. */
export const SHALLOW = 8;
