/**
 * QuickScorer (Lucchese et al., SIGIR 2015): boosted trees scored feature by feature instead of node
 * by node. Each tree's leaves, numbered left to right, are the bits of one 32-bit word per tree, all
 * set when a row starts. A split node whose test a row fails (the row goes right) clears the bits of
 * the leaves of its left subtree; the row's leaf in that tree is then the lowest bit still set (every
 * node on its path sent it the way that keeps its leaf, and every node off its path that it fails
 * clears only leaves left of it). The threshold nodes of all the trees are sorted by feature and
 * threshold, so a row reads each of its values once and visits only the nodes it fails (x >
 * threshold; for NSL-KDD's 100 trees of 31 leaves about 900 of 6,000 per row), with no dependent load
 * chain per step as a walk has; the leaf values are then added in tree order, as the walks do, so
 * each row's sum is the same to the bit.
 *
 * A missing value (NaN) fails the threshold nodes of its feature that send missing values right: a
 * list per feature. A category-set split (categorical-splits.ts) fails for the codes it sends right:
 * per category feature and code (0..255, and one slot for any other value: NaN, unseen, not a code)
 * the list of nodes that code fails, precomputed. Which child counts as "left" is free for a category
 * node (it only numbers the leaves), so the child more known codes go to is taken as left: fewer
 * codes fail the node, and a row visits fewer nodes.
 *
 * Only for trees this walk knows completely (`quickScorable`): threshold and category-set splits, one
 * value a node (boosting), at most 32 leaves a tree.
 */
import { CAT_WORDS, categoryGoesLeft, MAX_CATEGORY_CODE } from "./categorical-splits.ts";
import type { FlatTree } from "./flat-tree.ts";

/** Leaves a tree may have: one bit each of a 32-bit word. */
export const QUICK_MAX_LEAVES = 32;

/** Slots a category feature's lists have: codes 0..255, then any other value. */
export const CODE_SLOTS = MAX_CATEGORY_CODE + 2;

/** A category feature's value → its slot: the code, or CODE_SLOTS − 1 for anything not a code. */
export function codeSlot(v: number): number {
  return v >= 0 && v <= MAX_CATEGORY_CODE && Number.isInteger(v) ? v : CODE_SLOTS - 1;
}

/**
 * The tables. Threshold nodes sorted by (feature position, threshold): feature position j's nodes are
 * [start[j], start[j + 1]), each with its threshold, its tree and the mask its failure ANDs into that
 * tree's word (its left subtree's leaf bits cleared). A missing value of feature j fails
 * [missStart[j], missStart[j + 1]) of missTree / missMask. Category features: catPos[c] is the
 * position of the c-th; a row whose slot (codeSlot) for it is s fails [catStart[CODE_SLOTS·c + s],
 * catStart[CODE_SLOTS·c + s + 1]) of catTree / catMask (a category feature has no threshold nodes).
 * leafValue[32·t + b] is the value of tree t's leaf b (b counts its leaves left to right, a category
 * node's "left" child being the one chosen as such).
 */
export interface QuickTables {
  start: Int32Array;
  threshold: Float64Array;
  tree: Int32Array;
  mask: Int32Array;
  missStart: Int32Array;
  missTree: Int32Array;
  missMask: Int32Array;
  catPos: Int32Array;
  catStart: Int32Array;
  catTree: Int32Array;
  catMask: Int32Array;
  leafValue: Float64Array;
  /** Distinct (feature, threshold) tests among the threshold nodes. */
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
 * only the fields of threshold trees and, optionally, category-set splits (a tree with any other field
 * set, such as another split kind's tables, is declined: its nodes may route by more than these),
 * every node is a leaf, a split on a non-NaN threshold or a category-set split (whose tables are
 * complete), no feature is split both ways, one value a node, at most 32 leaves a tree. Otherwise the
 * packed walks score them (walks.ts), or for category splits the generic walk (flat-tree.ts).
 */
export function quickScorable(trees: readonly FlatTree[]): boolean {
  if (trees.length === 0) return false;
  const kind = new Map<number, boolean>();
  for (const t of trees) {
    for (const [key, v] of Object.entries(t))
      if (
        !NUMERIC_TREE_FIELDS.has(key) &&
        !(key === "categorical" && categoricalComplete(t)) &&
        v !== undefined
      )
        return false;
    if (t.k !== 1) return false;
    let leaves = 0;
    for (let i = 0; i < t.nNodes; i++) {
      const f = t.feature[i]!;
      if (f < 0) {
        leaves++;
        continue;
      }
      const isCat = (t.categorical?.node[i] ?? -1) >= 0;
      if (kind.get(f) === !isCat) return false;
      kind.set(f, isCat);
      if (!isCat && Number.isNaN(t.threshold[i]!)) return false;
    }
    if (leaves > QUICK_MAX_LEAVES) return false;
  }
  return true;
}

/** Whether t.categorical has a set index for every node and the sets of every index. */
function categoricalComplete(t: FlatTree): boolean {
  const c = t.categorical;
  if (!c || !(c.node instanceof Int32Array) || !(c.bits instanceof Uint32Array)) return false;
  if (c.node.length !== t.nNodes) return false;
  for (const v of c.node) if (v >= 0 && CAT_WORDS * (v + 1) > c.bits.length) return false;
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
  const missing: [number, number, number][] = [];
  // per category feature position: [slot, tree, mask] of each (code, node) the code fails
  const catLists = new Map<number, [number, number, number][]>();
  const leafValue = new Float64Array(QUICK_MAX_LEAVES * trees.length);
  trees.forEach((t, ti) => {
    const cat = t.categorical;
    // depth-first, "left" first: leaves numbered left to right; a split's "left" subtree holds leaves
    // [first, end of its left subtree)
    let next = 0;
    const visit = (i: number): void => {
      if (t.feature[i]! < 0) {
        leafValue[QUICK_MAX_LEAVES * ti + next++] = t.value[i]!;
        return;
      }
      const c = cat ? cat.node[i]! : -1;
      // a category node: which slots go to its real left child
      const goesLeft = c >= 0 ? slotsLeft(cat!.bits, c, t.missingLeft[i]!) : null;
      const flip = goesLeft !== null && knownLeft(cat!.bits, c, goesLeft) < knownCount(cat!.bits, c) / 2;
      const first = next;
      visit(flip ? t.right[i]! : t.left[i]!);
      // bits first .. next − 1 (next <= 31: the right subtree has a leaf too)
      const m = ~(((1 << next) - 1) & ~((1 << first) - 1));
      const f = pos.get(t.feature[i]!)!;
      if (goesLeft) {
        let list = catLists.get(f);
        if (!list) catLists.set(f, (list = []));
        // the node fails for the slots that do not go to the child taken as left
        for (let s = 0; s < CODE_SLOTS; s++) if (goesLeft[s] === flip) list.push([s, ti, m]);
      } else {
        feat.push(f);
        thr.push(t.threshold[i]!);
        tree.push(ti);
        mask.push(m);
        if (!t.missingLeft[i]) missing.push([f, ti, m]);
      }
      visit(flip ? t.left[i]! : t.right[i]!);
    };
    visit(0);
  });
  const order = Array.from(feat.keys()).sort((a, b) => feat[a]! - feat[b]! || thr[a]! - thr[b]!);
  let tests = 0;
  for (let i = 0; i < order.length; i++) {
    const o = order[i]!;
    const prev = order[i - 1];
    if (prev === undefined || feat[prev] !== feat[o] || thr[prev] !== thr[o]) tests++;
  }
  // (stable sorts: within a list, nodes stay in tree order)
  missing.sort((a, b) => a[0] - b[0]);
  const catPos = Int32Array.from([...catLists.keys()].sort((a, b) => a - b));
  const catNodes = [...catPos].flatMap((f, c) =>
    catLists
      .get(f)!
      .map(([s, ti, m]) => [CODE_SLOTS * c + s, ti, m] as const)
      .sort((a, b) => a[0] - b[0]),
  );
  return {
    tests,
    start: offsets(feat, nFeatures),
    threshold: Float64Array.from(order, (o) => thr[o]!),
    tree: Int32Array.from(order, (o) => tree[o]!),
    mask: Int32Array.from(order, (o) => mask[o]!),
    missStart: offsets(
      missing.map((e) => e[0]),
      nFeatures,
    ),
    missTree: Int32Array.from(missing, (e) => e[1]),
    missMask: Int32Array.from(missing, (e) => e[2]),
    catPos,
    catStart: offsets(
      catNodes.map((e) => e[0]),
      CODE_SLOTS * catPos.length,
    ),
    catTree: Int32Array.from(catNodes, (e) => e[1]),
    catMask: Int32Array.from(catNodes, (e) => e[2]),
    leafValue,
  };
}

/** Start offsets of groups 0 .. n − 1 given each entry's group (entries sorted by group). */
function offsets(groups: readonly number[], n: number): Int32Array {
  const start = new Int32Array(n + 1);
  for (const g of groups) start[g + 1]!++;
  for (let j = 0; j < n; j++) start[j + 1]! += start[j]!;
  return start;
}

/** Per slot (codeSlot) of category node c: whether it goes to the node's left child. */
function slotsLeft(bits: Uint32Array, c: number, missingLeft: number): boolean[] {
  return Array.from({ length: CODE_SLOTS }, (_, s) =>
    categoryGoesLeft(bits, c, s === CODE_SLOTS - 1 ? Number.NaN : s, missingLeft),
  );
}

/** Codes known at fit (category node c's second set). */
function knownCount(bits: Uint32Array, c: number): number {
  let n = 0;
  for (let w = 0; w < 8; w++) n += popcount(bits[CAT_WORDS * c + 8 + w]!);
  return n;
}

/** Known codes going left. */
function knownLeft(bits: Uint32Array, c: number, goesLeft: readonly boolean[]): number {
  let n = 0;
  for (let s = 0; s <= MAX_CATEGORY_CODE; s++)
    if (goesLeft[s] && bits[CAT_WORDS * c + 8 + (s >>> 5)]! & (1 << (s & 31))) n++;
  return n;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

/**
 * walkRows's sums for m rows, xb[xo·p ..) row-major (p values a row, in packed feature positions):
 * out[(r0 + q)·outK + (t mod R)] += scale · value(leaf of row q in tree t), tree by tree. `words`:
 * scratch of nTrees ints.
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
  const { start, threshold, tree, mask, missStart, missTree, missMask, leafValue } = Q;
  const { catPos, catStart, catTree, catMask } = Q;
  const nf = start.length - 1;
  for (let q = 0; q < m; q++) {
    words.fill(-1, 0, nTrees);
    const x = (xo + q) * p;
    for (let f = 0; f < nf; f++) {
      const v = xb[x + f]!;
      if (Number.isNaN(v))
        for (let j = missStart[f]!, e = missStart[f + 1]!; j < e; j++) words[missTree[j]!]! &= missMask[j]!;
      for (let j = start[f]!, e = start[f + 1]!; j < e && v > threshold[j]!; j++)
        words[tree[j]!]! &= mask[j]!;
    }
    for (let c = 0; c < catPos.length; c++) {
      const s = CODE_SLOTS * c + codeSlot(xb[x + catPos[c]!]!);
      for (let j = catStart[s]!, e = catStart[s + 1]!; j < e; j++) words[catTree[j]!]! &= catMask[j]!;
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
