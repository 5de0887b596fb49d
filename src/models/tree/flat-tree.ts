import { cloneRepaid, helperReady, helperScratch, runWithHelper } from "../../core/helper.ts";
import { wasmTrees } from "./wasm-walk.ts";

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
}

export interface FlatTreeJSON {
  k: number;
  feature: number[];
  threshold: (number | null)[];
  left: number[];
  right: number[];
  missingLeft: number[];
  value: number[];
  weight: number[];
}

export function treeToJSON(t: FlatTree): FlatTreeJSON {
  return {
    k: t.k,
    feature: Array.from(t.feature),
    // +Infinity ("every non-missing value goes left") is stored as the largest double: JSON has no
    // Infinity, and the comparison x <= MAX_VALUE is true for every finite x just the same
    threshold: Array.from(t.threshold, (v) =>
      v === Number.POSITIVE_INFINITY ? Number.MAX_VALUE : Number.isFinite(v) ? v : null,
    ),
    left: Array.from(t.left),
    right: Array.from(t.right),
    missingLeft: Array.from(t.missingLeft),
    value: Array.from(t.value),
    weight: Array.from(t.weight),
  };
}

export function treeFromJSON(j: FlatTreeJSON): FlatTree {
  const n = j.feature.length;
  for (const [name, len] of [
    ["threshold", j.threshold.length],
    ["left", j.left.length],
    ["right", j.right.length],
    ["missingLeft", j.missingLeft.length],
    ["weight", j.weight.length],
  ] as const) {
    if (len !== n) throw new RangeError(`tree state: ${name} has ${len} entries, expected ${n}`);
  }
  if (j.value.length !== n * j.k)
    throw new RangeError(`tree state: value has ${j.value.length} entries, expected ${n * j.k}`);
  return {
    nNodes: n,
    k: j.k,
    feature: Int32Array.from(j.feature),
    threshold: Float64Array.from(j.threshold, (v) => (v === null ? Number.NaN : v)),
    left: Int32Array.from(j.left),
    right: Int32Array.from(j.right),
    missingLeft: Uint8Array.from(j.missingLeft),
    value: Float64Array.from(j.value),
    weight: Float64Array.from(j.weight),
  };
}

/** The leaf index reached by row `r` of a column-major matrix. */
export function leafOf(t: FlatTree, data: Float64Array, nRows: number, r: number): number {
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
      { module: "models/tree/flat-tree.ts", fn: "singleRowsTask", args },
      () => singleRows(T, data, nRows, out, scale, 0, half),
      P,
    );
    if (!ok) singleRows(T, data, nRows, shared, scale, half, nRows);
    out.set(shared.subarray(half * P.k), half * P.k);
    return;
  }
  singleRows(T, data, nRows, out, scale, 0, nRows);
}

/** A single tree's tables for singleRows. */
interface SingleTree {
  links: Int32Array;
  threshold: Float64Array;
  features: Int32Array;
  value: Float64Array;
  k: number;
  root: number;
}

function singleTable(P: PackedTrees): SingleTree {
  return {
    links: P.links,
    threshold: P.threshold,
    features: P.features,
    value: P.value,
    k: P.k,
    root: P.roots[0]!,
  };
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

/** accumulateSingle's walk over rows [from, to) (from a multiple of 4). */
function singleRows(
  T: SingleTree,
  data: Float64Array,
  nRows: number,
  out: Float64Array,
  scale: number,
  from: number,
  to: number,
): void {
  const { links, threshold, features, value, k, root } = T;
  const colOff = new Int32Array(Math.max(1, features.length));
  for (let j = 0; j < features.length; j++) colOff[j] = features[j]! * nRows;
  let i = from;
  for (; i + 4 <= to; i += 4) {
    let n0 = root;
    let n1 = root;
    let n2 = root;
    let n3 = root;
    for (;;) {
      const a0 = 4 * n0;
      const a1 = 4 * n1;
      const a2 = 4 * n2;
      const a3 = 4 * n3;
      const v0 = data[colOff[links[a0]!]! + i]!;
      const v1 = data[colOff[links[a1]!]! + i + 1]!;
      const v2 = data[colOff[links[a2]!]! + i + 2]!;
      const v3 = data[colOff[links[a3]!]! + i + 3]!;
      const m0 = links[a0 + 1 + +(v0 > threshold[n0]!) + 2 * +Number.isNaN(v0)]!;
      const m1 = links[a1 + 1 + +(v1 > threshold[n1]!) + 2 * +Number.isNaN(v1)]!;
      const m2 = links[a2 + 1 + +(v2 > threshold[n2]!) + 2 * +Number.isNaN(v2)]!;
      const m3 = links[a3 + 1 + +(v3 > threshold[n3]!) + 2 * +Number.isNaN(v3)]!;
      if (((m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3)) === 0) break;
      n0 = m0;
      n1 = m1;
      n2 = m2;
      n3 = m3;
    }
    for (let c = 0; c < k; c++) {
      out[i * k + c]! += scale * value[n0 * k + c]!;
      out[(i + 1) * k + c]! += scale * value[n1 * k + c]!;
      out[(i + 2) * k + c]! += scale * value[n2 * k + c]!;
      out[(i + 3) * k + c]! += scale * value[n3 * k + c]!;
    }
  }
  for (; i < to; i++) {
    let q = root;
    for (;;) {
      const a = 4 * q;
      const v = data[colOff[links[a]!]! + i]!;
      const nx = links[a + 1 + +(v > threshold[q]!) + 2 * +Number.isNaN(v)]!;
      if (nx === q) break;
      q = nx;
    }
    for (let c = 0; c < k; c++) out[i * k + c]! += scale * value[q * k + c]!;
  }
}

/** Saabas path contributions of row r to value class `cls`: per feature, the value change along the path. */
export function pathContributions(
  t: FlatTree,
  data: Float64Array,
  nRows: number,
  r: number,
  cls: number,
  out: Float64Array,
  scale = 1,
): void {
  let node = 0;
  const { feature, threshold, left, right, missingLeft, value, k } = t;
  for (;;) {
    const f = feature[node]!;
    if (f < 0) return;
    const v = data[f * nRows + r]!;
    const next =
      v <= threshold[node]!
        ? left[node]!
        : v > threshold[node]!
          ? right[node]!
          : missingLeft[node]
            ? left[node]!
            : right[node]!;
    out[f]! += scale * (value[next * k + cls]! - value[node * k + cls]!);
    node = next;
  }
}

/**
 * Per node of P's compact table: scale · (value(node, cls) − value(parent, cls)), the step a path
 * takes into the node (pathContributions' terms, computed the same way); 0 at the roots. Null when P
 * has no compact table.
 */
export function contributionSteps(P: PackedTrees, cls: number, scale: number): Float64Array | null {
  const C = P.compact;
  if (!C) return null;
  const { value, k } = P;
  const total = C.thr.length;
  const out = new Float64Array(total);
  for (let g = 0; g < total; g++) {
    const r = C.fr[2 * g + 1]!;
    if (r === g) continue; // a leaf
    const parent = value[g * k + cls]!;
    out[g + 1] = scale * (value[(g + 1) * k + cls]! - parent);
    out[r] = scale * (value[r * k + cls]! - parent);
  }
  return out;
}

/**
 * pathContributions over every tree of P for row r of column-major `data`, from the compact table and
 * contributionSteps (no branch per step): the same sums, term for term. False (and nothing added) when
 * the row has a missing value (or −Infinity) in a feature the trees use: the caller walks it the
 * general way.
 */
export function packedContributions(
  P: PackedTrees,
  steps: Float64Array,
  data: Float64Array,
  nRows: number,
  r: number,
  out: Float64Array,
): boolean {
  const C = P.compact;
  if (!C) return false;
  const { features, roots, nTrees } = P;
  const nf = features.length;
  const x = new Float64Array(nf);
  for (let j = 0; j < nf; j++) {
    const v = data[features[j]! * nRows + r]!;
    if (!(v > Number.NEGATIVE_INFINITY)) return false;
    x[j] = v;
  }
  const { fr, thr } = C;
  for (let t = 0; t < nTrees; t++) {
    let n = roots[t]!;
    for (;;) {
      const b = 2 * n;
      const f = fr[b]!;
      const m = n + 1 + +(x[f]! > thr[n]!) * (fr[b + 1]! - n - 1);
      if (m === n) break;
      out[features[f]!]! += steps[m]!;
      n = m;
    }
  }
  return true;
}

/**
 * packedContributions for every row of column-major `data` at once, four rows walking each tree
 * together (eight, in WebAssembly): out[r·nOut + feature] = the steps of row r's path (out's rows start at zero) (the same terms, in the same order, as
 * pathContributions tree by tree). Rows with a missing value (or −Infinity) in a used feature are
 * skipped and listed in the result, for the caller to walk the general way. Null without a compact table.
 */
export function packedContributionsAll(
  P: PackedTrees,
  steps: Float64Array,
  data: Float64Array,
  nRows: number,
  out: Float64Array,
  nOut: number,
): number[] | null {
  const C = P.compact;
  if (!C) return null;
  const { features, roots, nTrees } = P;
  const p = Math.max(1, features.length);
  const skipped: number[] = [];
  // the plain rows, row-major over the used features
  const rowsOf: number[] = [];
  for (let r = 0; r < nRows; r++) {
    let ok = true;
    for (let j = 0; ok && j < features.length; j++)
      ok = data[features[j]! * nRows + r]! > Number.NEGATIVE_INFINITY;
    (ok ? rowsOf : skipped).push(r);
  }
  const m = rowsOf.length;
  const xr = new Float64Array(m * p);
  for (let j = 0; j < features.length; j++) {
    const c = features[j]! * nRows;
    for (let i = 0; i < m; i++) xr[i * p + j] = data[c + rowsOf[i]!]!;
  }
  const W = wasmTrees(P);
  if (W && m > 0) {
    // the same walk and additions as below, as a WebAssembly kernel (sums from zero: out's rows are zero)
    const sums = W.contributionsBlock(steps, xr, m, p, nOut);
    for (let i = 0; i < m; i++) out.set(sums.subarray(i * nOut, (i + 1) * nOut), rowsOf[i]! * nOut);
    return skipped;
  }
  const { fr, thr } = C;
  for (let t = 0; t < nTrees; t++) {
    const root = roots[t]!;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const x0 = i * p;
      const x1 = x0 + p;
      const x2 = x1 + p;
      const x3 = x2 + p;
      const o0 = rowsOf[i]! * nOut;
      const o1 = rowsOf[i + 1]! * nOut;
      const o2 = rowsOf[i + 2]! * nOut;
      const o3 = rowsOf[i + 3]! * nOut;
      let n0 = root;
      let n1 = root;
      let n2 = root;
      let n3 = root;
      for (;;) {
        const b0 = 2 * n0;
        const b1 = 2 * n1;
        const b2 = 2 * n2;
        const b3 = 2 * n3;
        const f0 = fr[b0]!;
        const f1 = fr[b1]!;
        const f2 = fr[b2]!;
        const f3 = fr[b3]!;
        const m0 = n0 + 1 + +(xr[x0 + f0]! > thr[n0]!) * (fr[b0 + 1]! - n0 - 1);
        const m1 = n1 + 1 + +(xr[x1 + f1]! > thr[n1]!) * (fr[b1 + 1]! - n1 - 1);
        const m2 = n2 + 1 + +(xr[x2 + f2]! > thr[n2]!) * (fr[b2 + 1]! - n2 - 1);
        const m3 = n3 + 1 + +(xr[x3 + f3]! > thr[n3]!) * (fr[b3 + 1]! - n3 - 1);
        // a lane at its leaf adds 0 to its own leaf's feature slot: nothing (steps of a non-move are
        // skipped so every sum gets exactly pathContributions' terms)
        if (m0 !== n0) out[o0 + features[f0]!]! += steps[m0]!;
        if (m1 !== n1) out[o1 + features[f1]!]! += steps[m1]!;
        if (m2 !== n2) out[o2 + features[f2]!]! += steps[m2]!;
        if (m3 !== n3) out[o3 + features[f3]!]! += steps[m3]!;
        if (((m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3)) === 0) break;
        n0 = m0;
        n1 = m1;
        n2 = m2;
        n3 = m3;
      }
    }
    for (; i < m; i++) {
      const x0 = i * p;
      const o0 = rowsOf[i]! * nOut;
      let n0 = root;
      for (;;) {
        const b0 = 2 * n0;
        const f0 = fr[b0]!;
        const m0 = n0 + 1 + +(xr[x0 + f0]! > thr[n0]!) * (fr[b0 + 1]! - n0 - 1);
        if (m0 === n0) break;
        out[o0 + features[f0]!]! += steps[m0]!;
        n0 = m0;
      }
    }
  }
  return skipped;
}

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
    compact: compactNodes(links, threshold),
    perfect: perfectTrees(trees, pos, k, depth),
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
const SHALLOW = 8;

/**
 * Rows per block: a block's row-major copy (rows x used features doubles) stays in the L2 cache (1 MB:
 * 43 → 39-40 ms vs 512 KB in a micro-benchmark of NSL-KDD's deep forests with 2 MB of L2 a core).
 */
const BLOCK_BYTES = 1 << 20;

/**
 * Below this many node steps (rows x the trees' summed depths) a batch is not split with the helper
 * thread: handing off costs about 5 µs (the trees go to the helper once per model), which small
 * batches do not repay (phishing, 100 boosting trees of depth 3: 64 rows break even, 128 run 1.2x
 * faster split, 2,211 rows 1.75x; a forest of 100 deep trees gains 1.5x from 32 rows on).
 */
export const PARALLEL_MIN_STEPS = 1 << 15;

function blockRows(p: number, nRows: number): number {
  return 4 * Math.max(1, Math.min(Math.ceil(nRows / 4), Math.floor(BLOCK_BYTES / (32 * p))));
}

/** Copy rows [from, to) of the used features of column-major `data` to row-major xr (row from at 0). */
function gatherRows(
  features: Int32Array,
  data: Float64Array,
  nRows: number,
  from: number,
  to: number,
  xr: Float64Array,
  p: number,
): void {
  // a block of rows at a time, so the rows being written stay in cache
  const B = blockRows(p, to - from);
  for (let r0 = from; r0 < to; r0 += B) {
    const m = Math.min(B, to - r0);
    const o = (r0 - from) * p;
    for (let j = 0; j < features.length; j++) {
      const src = features[j]! * nRows + r0;
      for (let i = 0, d = o + j; i < m; i++, d += p) xr[d] = data[src + i]!;
    }
  }
}

/**
 * For every row r and tree t, in tree order: out[r·outK + (t mod R) + c] += scale · value(leaf, c),
 * c < k — the same sums, in the same order, as `accumulateTree` over the trees one by one. Rows are
 * taken in blocks (the used features copied to row-major), each tree runs over a whole block, four
 * rows walking down together without a branch per step, so the tree and the block stay in cache and
 * the four walks overlap. (For a single tree the copy costs more than it saves: use accumulateTree.)
 * A large batch is split with the helper thread (see core/helper.ts); each row's sum is computed the
 * same way on either thread.
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
  const p = Math.max(1, P.features.length);
  const steps = nRows * P.sumDepth;
  // the first split batch of a model clones its trees to the helper (cloneRepaid)
  if (
    nRows >= 8 &&
    steps >= PARALLEL_MIN_STEPS &&
    cloneRepaid(P, steps >= 64 * P.threshold.length) &&
    helperReady()
  ) {
    // the helper walks rows [half, n), copied row-major to shared memory; this thread does [0, half)
    const half = 4 * Math.floor(nRows / 8);
    const xr = helperScratch((nRows - half) * p);
    gatherRows(P.features, data, nRows, half, nRows, xr, p);
    const shared = helperScratch(out.length, xr.length);
    shared.set(out.subarray(half * outK), half * outK);
    const args: WalkArgs = { xr, p, base: half, to: nRows, out: shared, scale, outK, R };
    const ok = runWithHelper(
      { module: "models/tree/flat-tree.ts", fn: "walkRowsTask", args },
      () => accumulateRows(P, data, nRows, 0, half, out, scale, outK, R),
      P,
    );
    if (!ok) walkRows(P, xr, p, half, half, nRows, shared, scale, outK, R);
    out.set(shared.subarray(half * outK), half * outK);
    return;
  }
  accumulateRows(P, data, nRows, 0, nRows, out, scale, outK, R);
}

/** accumulatePacked on rows [from, to), in this thread. */
function accumulateRows(
  P: PackedTrees,
  data: Float64Array,
  nRows: number,
  from: number,
  to: number,
  out: Float64Array,
  scale: number,
  outK: number,
  R: number,
): void {
  const p = Math.max(1, P.features.length);
  const B = blockRows(p, to - from);
  const xb = new Float64Array(B * p);
  for (let r0 = from; r0 < to; r0 += B) {
    const r1 = Math.min(to, r0 + B);
    gatherRows(P.features, data, nRows, r0, r1, xb, p);
    walkRows(P, xb, p, r0, r0, r1, out, scale, outK, R);
  }
}

/**
 * The leaf (index into P's node table) each row of [from, to) reaches in every tree, tree-major:
 * out[t·(to − from) + (r − from)]. With `stagedSums` it gives, without walking the trees again,
 * the sums accumulatePacked would give over the first s trees for any s.
 */
export function leavesPacked(
  P: PackedTrees,
  data: Float64Array,
  nRows: number,
  from: number,
  to: number,
  out: Int32Array,
): void {
  const p = Math.max(1, P.features.length);
  const B = blockRows(p, to - from);
  const xb = new Float64Array(B * p);
  const leaf = new Int32Array(B);
  const m = to - from;
  for (let r0 = from; r0 < to; r0 += B) {
    const r1 = Math.min(to, r0 + B);
    const nb = r1 - r0;
    gatherRows(P.features, data, nRows, r0, r1, xb, p);
    let plain = P.compact !== null || P.perfect !== null;
    for (let i = 0, e = nb * p; plain && i < e; i++) plain = xb[i]! > Number.NEGATIVE_INFINITY;
    for (let t = 0; t < P.nTrees; t++) {
      if (plain) walkCompact(P.compact!, P.roots[t]!, P.depth[t]!, xb, 0, nb, p, leaf);
      else walkTree(P.links, P.threshold, P.roots[t]!, P.depth[t]!, xb, 0, nb, p, leaf);
      out.set(leaf.subarray(0, nb), t * m + (r0 - from));
    }
  }
}

/**
 * out[q·k + c] += scale · value(leaf of row q in tree t, c) for trees t < nTrees, in tree order, for
 * rows q < m whose leaves are in `leaves` (leavesPacked): accumulatePacked's arithmetic, operation
 * for operation (R = 1, outK = k), so the sums are identical.
 */
export function sumLeaves(
  P: PackedTrees,
  leaves: Int32Array,
  m: number,
  nTrees: number,
  out: Float64Array,
  outOffset: number,
  scale: number,
): void {
  const { value, k } = P;
  for (let t = 0; t < nTrees; t++) {
    const lo = t * m;
    if (k === 1) {
      for (let q = 0; q < m; q++) out[outOffset + q]! += scale * value[leaves[lo + q]!]!;
    } else {
      for (let q = 0; q < m; q++) {
        const o = outOffset + q * k;
        const base = leaves[lo + q]! * k;
        for (let c = 0; c < k; c++) out[o + c]! += scale * value[base + c]!;
      }
    }
  }
}

interface WalkArgs {
  /** Rows [base, to), row-major. */
  xr: Float64Array;
  p: number;
  base: number;
  to: number;
  out: Float64Array;
  scale: number;
  outK: number;
  R: number;
}

/** The helper thread's share of accumulatePacked (P kept by the helper). */
export function walkRowsTask(a: WalkArgs, P: PackedTrees): null {
  walkRows(P, a.xr, a.p, a.base, a.base, a.to, a.out, a.scale, a.outK, a.R);
  return null;
}

/** accumulatePacked's walk over rows [from, to), whose used features are row-major in xr from row `base`. */
function walkRows(
  P: PackedTrees,
  xr: Float64Array,
  p: number,
  base: number,
  from: number,
  to: number,
  out: Float64Array,
  scale: number,
  outK: number,
  R: number,
): void {
  const { roots, links, threshold, k, nTrees, depth, perfect } = P;
  // leaf[q] indexes `value`: P's node table, or the complete trees' leaf slots
  const value = perfect ? perfect.value : P.value;
  const B = blockRows(p, to - from);
  const leaf = new Int32Array(B);
  const W = wasmTrees(P);
  for (let r0 = from; r0 < to; r0 += B) {
    const m = Math.min(B, to - r0);
    const xo = r0 - base;
    // a block whose values are all > -Infinity (no NaN, no -Infinity) takes the compact walk
    let plain = P.compact !== null || P.perfect !== null;
    for (let i = xo * p, e = (xo + m) * p; plain && i < e; i++) plain = xr[i]! > Number.NEGATIVE_INFINITY;
    if (W) {
      // the same walks and sums as below, as WebAssembly kernels
      W.walkBlock(xr, xo, m, p, plain, out, r0, scale, outK, R);
      continue;
    }
    for (let t = 0; t < nTrees; t++) {
      if (perfect) walkPerfect(perfect, t, plain, xr, xo, m, p, leaf);
      else if (plain) walkCompact(P.compact!, roots[t]!, depth[t]!, xr, xo, m, p, leaf);
      else walkTree(links, threshold, roots[t]!, depth[t]!, xr, xo, m, p, leaf);
      const off = R === 1 ? 0 : t % R;
      if (k === 1) {
        for (let q = 0, o = r0 * outK + off; q < m; q++, o += outK) out[o]! += scale * value[leaf[q]!]!;
      } else {
        for (let q = 0; q < m; q++) {
          const o = (r0 + q) * outK + off;
          const base = leaf[q]! * k;
          for (let c = 0; c < k; c++) out[o + c]! += scale * value[base + c]!;
        }
      }
    }
  }
}

/**
 * The leaf of each of rows xo .. xo + m of xb (row-major, p values a row) in the tree at `root` of
 * depth D, into leaf[0 .. m). A function of its own, called once per tree and block: V8 optimises
 * it within the first batch even when a batch is a single block.
 */
function walkTree(
  links: Int32Array,
  threshold: Float64Array,
  root: number,
  D: number,
  xb: Float64Array,
  xo: number,
  m: number,
  p: number,
  leaf: Int32Array,
): void {
  let i = 0;
  // a shallow tree (boosting) takes exactly D steps, with no test for having reached the leaves
  if (D <= SHALLOW) {
    for (; i + 4 <= m; i += 4) {
      const x0 = (xo + i) * p;
      const x1 = x0 + p;
      const x2 = x1 + p;
      const x3 = x2 + p;
      let n0 = root;
      let n1 = root;
      let n2 = root;
      let n3 = root;
      for (let s = 0; s < D; s++) {
        const a0 = 4 * n0;
        const a1 = 4 * n1;
        const a2 = 4 * n2;
        const a3 = 4 * n3;
        const v0 = xb[x0 + links[a0]!]!;
        const v1 = xb[x1 + links[a1]!]!;
        const v2 = xb[x2 + links[a2]!]!;
        const v3 = xb[x3 + links[a3]!]!;
        n0 = links[a0 + 1 + +(v0 > threshold[n0]!) + 2 * +Number.isNaN(v0)]!;
        n1 = links[a1 + 1 + +(v1 > threshold[n1]!) + 2 * +Number.isNaN(v1)]!;
        n2 = links[a2 + 1 + +(v2 > threshold[n2]!) + 2 * +Number.isNaN(v2)]!;
        n3 = links[a3 + 1 + +(v3 > threshold[n3]!) + 2 * +Number.isNaN(v3)]!;
      }
      leaf[i] = n0;
      leaf[i + 1] = n1;
      leaf[i + 2] = n2;
      leaf[i + 3] = n3;
    }
  }
  for (; i + 4 <= m; i += 4) {
    const x0 = (xo + i) * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    let n0 = root;
    let n1 = root;
    let n2 = root;
    let n3 = root;
    for (;;) {
      const a0 = 4 * n0;
      const a1 = 4 * n1;
      const a2 = 4 * n2;
      const a3 = 4 * n3;
      const v0 = xb[x0 + links[a0]!]!;
      const v1 = xb[x1 + links[a1]!]!;
      const v2 = xb[x2 + links[a2]!]!;
      const v3 = xb[x3 + links[a3]!]!;
      // child slot 1 (x <= t), 2 (x > t) or 3 (missing), as arithmetic: no branch to mispredict
      const m0 = links[a0 + 1 + +(v0 > threshold[n0]!) + 2 * +Number.isNaN(v0)]!;
      const m1 = links[a1 + 1 + +(v1 > threshold[n1]!) + 2 * +Number.isNaN(v1)]!;
      const m2 = links[a2 + 1 + +(v2 > threshold[n2]!) + 2 * +Number.isNaN(v2)]!;
      const m3 = links[a3 + 1 + +(v3 > threshold[n3]!) + 2 * +Number.isNaN(v3)]!;
      if (((m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3)) === 0) break;
      n0 = m0;
      n1 = m1;
      n2 = m2;
      n3 = m3;
    }
    leaf[i] = n0;
    leaf[i + 1] = n1;
    leaf[i + 2] = n2;
    leaf[i + 3] = n3;
  }
  for (; i < m; i++) {
    const x0 = (xo + i) * p;
    let n0 = root;
    for (;;) {
      const a0 = 4 * n0;
      const v0 = xb[x0 + links[a0]!]!;
      const m0 = links[a0 + 1 + +(v0 > threshold[n0]!) + 2 * +Number.isNaN(v0)]!;
      if (m0 === n0) break;
      n0 = m0;
    }
    leaf[i] = n0;
  }
}

/**
 * The leaf slot (index into perfect.value / k) of rows xo .. xo + m of xb in complete tree t: exactly
 * D steps, four rows at a time. `plain`: the block has no missing value (then no NaN test).
 */
function walkPerfect(
  C: NonNullable<PackedTrees["perfect"]>,
  t: number,
  plain: boolean,
  xb: Float64Array,
  xo: number,
  m: number,
  p: number,
  leaf: Int32Array,
): void {
  const { D, feat, thr, missRight } = C;
  const nSplit = (1 << D) - 1;
  const so = t * nSplit;
  // leaf slot of tree t = t · 2^D + (i − nSplit)
  const lo = t * (nSplit + 1) - nSplit;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const x0 = (xo + i) * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    let n0 = 0;
    let n1 = 0;
    let n2 = 0;
    let n3 = 0;
    if (plain) {
      for (let s = 0; s < D; s++) {
        const a0 = so + n0;
        const a1 = so + n1;
        const a2 = so + n2;
        const a3 = so + n3;
        n0 = 2 * n0 + 1 + +(xb[x0 + feat[a0]!]! > thr[a0]!);
        n1 = 2 * n1 + 1 + +(xb[x1 + feat[a1]!]! > thr[a1]!);
        n2 = 2 * n2 + 1 + +(xb[x2 + feat[a2]!]! > thr[a2]!);
        n3 = 2 * n3 + 1 + +(xb[x3 + feat[a3]!]! > thr[a3]!);
      }
    } else {
      for (let s = 0; s < D; s++) {
        const a0 = so + n0;
        const a1 = so + n1;
        const a2 = so + n2;
        const a3 = so + n3;
        const v0 = xb[x0 + feat[a0]!]!;
        const v1 = xb[x1 + feat[a1]!]!;
        const v2 = xb[x2 + feat[a2]!]!;
        const v3 = xb[x3 + feat[a3]!]!;
        n0 = 2 * n0 + 1 + (v0 > thr[a0]! ? 1 : v0 <= thr[a0]! ? 0 : missRight[a0]!);
        n1 = 2 * n1 + 1 + (v1 > thr[a1]! ? 1 : v1 <= thr[a1]! ? 0 : missRight[a1]!);
        n2 = 2 * n2 + 1 + (v2 > thr[a2]! ? 1 : v2 <= thr[a2]! ? 0 : missRight[a2]!);
        n3 = 2 * n3 + 1 + (v3 > thr[a3]! ? 1 : v3 <= thr[a3]! ? 0 : missRight[a3]!);
      }
    }
    leaf[i] = lo + n0;
    leaf[i + 1] = lo + n1;
    leaf[i + 2] = lo + n2;
    leaf[i + 3] = lo + n3;
  }
  for (; i < m; i++) {
    const x0 = (xo + i) * p;
    let n0 = 0;
    for (let s = 0; s < D; s++) {
      const a0 = so + n0;
      const v0 = xb[x0 + feat[a0]!]!;
      n0 = 2 * n0 + 1 + (v0 > thr[a0]! ? 1 : v0 <= thr[a0]! ? 0 : missRight[a0]!);
    }
    leaf[i] = lo + n0;
  }
}

/** walkTree on PackedTrees.compact, for rows with no missing value: the same leaves. */
function walkCompact(
  C: NonNullable<PackedTrees["compact"]>,
  root: number,
  D: number,
  xb: Float64Array,
  xo: number,
  m: number,
  p: number,
  leaf: Int32Array,
): void {
  const { fr, thr } = C;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const x0 = (xo + i) * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    let n0 = root;
    let n1 = root;
    let n2 = root;
    let n3 = root;
    if (D <= SHALLOW) {
      // exactly D steps: a shallow tree (boosting) needs no test for having reached the leaves
      for (let s = 0; s < D; s++) {
        const b0 = 2 * n0;
        const b1 = 2 * n1;
        const b2 = 2 * n2;
        const b3 = 2 * n3;
        n0 = n0 + 1 + +(xb[x0 + fr[b0]!]! > thr[n0]!) * (fr[b0 + 1]! - n0 - 1);
        n1 = n1 + 1 + +(xb[x1 + fr[b1]!]! > thr[n1]!) * (fr[b1 + 1]! - n1 - 1);
        n2 = n2 + 1 + +(xb[x2 + fr[b2]!]! > thr[n2]!) * (fr[b2 + 1]! - n2 - 1);
        n3 = n3 + 1 + +(xb[x3 + fr[b3]!]! > thr[n3]!) * (fr[b3 + 1]! - n3 - 1);
      }
    } else {
      for (;;) {
        const b0 = 2 * n0;
        const b1 = 2 * n1;
        const b2 = 2 * n2;
        const b3 = 2 * n3;
        const m0 = n0 + 1 + +(xb[x0 + fr[b0]!]! > thr[n0]!) * (fr[b0 + 1]! - n0 - 1);
        const m1 = n1 + 1 + +(xb[x1 + fr[b1]!]! > thr[n1]!) * (fr[b1 + 1]! - n1 - 1);
        const m2 = n2 + 1 + +(xb[x2 + fr[b2]!]! > thr[n2]!) * (fr[b2 + 1]! - n2 - 1);
        const m3 = n3 + 1 + +(xb[x3 + fr[b3]!]! > thr[n3]!) * (fr[b3 + 1]! - n3 - 1);
        if (((m0 ^ n0) | (m1 ^ n1) | (m2 ^ n2) | (m3 ^ n3)) === 0) break;
        n0 = m0;
        n1 = m1;
        n2 = m2;
        n3 = m3;
      }
    }
    leaf[i] = n0;
    leaf[i + 1] = n1;
    leaf[i + 2] = n2;
    leaf[i + 3] = n3;
  }
  for (; i < m; i++) {
    const x0 = (xo + i) * p;
    let n0 = root;
    for (;;) {
      const b0 = 2 * n0;
      const m0 = n0 + 1 + +(xb[x0 + fr[b0]!]! > thr[n0]!) * (fr[b0 + 1]! - n0 - 1);
      if (m0 === n0) break;
      n0 = m0;
    }
    leaf[i] = n0;
  }
}
