/**
 * The packed tree walks (the kernels): each walks the rows it is given on the calling thread and never
 * hands work to another thread; walk-dispatch.ts decides which rows each thread walks.
 */
import { type PackedTrees, SHALLOW } from "./packed-trees.ts";
import { quickRows } from "./quick-scorer.ts";
import { wasmQuick } from "./quick-scorer-wasm.ts";
import { MAX_BIT_TESTS, wasmTrees } from "./wasm-walk.ts";

/** A single tree's tables for singleRows. */
export interface SingleTree {
  links: Int32Array;
  threshold: Float64Array;
  features: Int32Array;
  value: Float64Array;
  k: number;
  root: number;
}

export function singleTable(P: PackedTrees): SingleTree {
  return {
    links: P.links,
    threshold: P.threshold,
    features: P.features,
    value: P.value,
    k: P.k,
    root: P.roots[0]!,
  };
}

/** accumulateSingle's walk over rows [from, to) (from a multiple of 4). */
export function singleRows(
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

/**
 * Bytes of rows per block: a block's copy (rows x used features doubles: row-major for the walks,
 * column by column in WebAssembly memory for QuickScorer) stays in the L2 cache (2 MB a core here) beside what the walk reads of the trees.
 * Deep forests: 1 MB (43 → 39-40 ms vs 512 KB in a micro-benchmark of NSL-KDD's forests), whose
 * tables do not fit anyway: a larger block walks each tree over more rows. Trees whose tables
 * (16 bytes a node) take at most SMALL_TABLES_BYTES (boosting): 256 KB, so the block, its copy and the
 * tables all fit (NSL-KDD's KDDTest+, 100 trees of 31 leaves: 50 → 40 ms of CPU time vs 1 MB blocks;
 * 64 to 256 KB alike; phishing's, on 8-byte row codes, the same either way).
 */
const BLOCK_BYTES = 1 << 20;
const SMALL_BLOCK_BYTES = 1 << 18;
const SMALL_TABLES_BYTES = 1 << 18;

function blockBytes(P: PackedTrees): number {
  return 16 * P.threshold.length <= SMALL_TABLES_BYTES ? SMALL_BLOCK_BYTES : BLOCK_BYTES;
}

function blockRows(p: number, nRows: number, bytes = BLOCK_BYTES): number {
  return 4 * Math.max(1, Math.min(Math.ceil(nRows / 4), Math.floor(bytes / (32 * p))));
}

/** Copy rows [from, to) of the used features of column-major `data` to row-major xr (row from at 0). */
export function gatherRows(
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
 * accumulatePacked on rows [from, to), in this thread; `features`: the column of data holding each of
 * P.features (a copy of some columns), P.features themselves by default.
 */
export function accumulateRows(
  P: PackedTrees,
  data: Float64Array,
  nRows: number,
  from: number,
  to: number,
  out: Float64Array,
  scale: number,
  outK: number,
  R: number,
  features = P.features,
): void {
  const p = Math.max(1, P.features.length);
  const B = blockRows(p, to - from, blockBytes(P));
  const Wq = quickWalk(P) ? wasmQuick(P) : null;
  const xb = Wq ? null : new Float64Array(B * p);
  for (let r0 = from; r0 < to; r0 += B) {
    const r1 = Math.min(to, r0 + B);
    // QuickScorer's kernel reads the block's columns as they are (one copy of each, no transposition)
    if (Wq) Wq.scoreColumns(features, data, nRows, r0, r1 - r0, out, scale, outK, R);
    else {
      gatherRows(features, data, nRows, r0, r1, xb!, p);
      walkRows(P, xb!, p, r0, r0, r1, out, scale, outK, R);
    }
  }
}

/**
 * Whether QuickScorer (quick-scorer.ts) scores P's rows: always for trees with category-set splits
 * (no other packed walk knows them); otherwise when P has its tables, is not complete trees of a few
 * levels (PackedTrees.perfect: a fixed, short walk) and tests more distinct (feature, threshold) pairs
 * than a row's 64-bit code holds (wasm-walk.ts's bitCode: a walk of one load a step, twice
 * QuickScorer's speed on phishing's -1/0/1 features).
 */
export function quickWalk(P: PackedTrees): boolean {
  return P.quick !== null && (P.categorical || (P.perfect === null && P.quick.tests > MAX_BIT_TESTS));
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
  if (P.categorical) throw new RangeError("leavesPacked: trees with category-set splits");
  const p = Math.max(1, P.features.length);
  const B = blockRows(p, to - from, blockBytes(P));
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

/** accumulatePacked's walk over rows [from, to), whose used features are row-major in xr from row `base`. */
export function walkRows(
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
  const B = blockRows(p, to - from, blockBytes(P));
  const leaf = new Int32Array(B);
  const quick = quickWalk(P);
  const W = quick ? null : wasmTrees(P);
  const Wq = quick ? wasmQuick(P) : null;
  const words = quick && !Wq ? new Int32Array(nTrees) : null;
  for (let r0 = from; r0 < to; r0 += B) {
    const m = Math.min(B, to - r0);
    const xo = r0 - base;
    if (quick) {
      if (Wq) Wq.score(xr, xo, m, p, out, r0, scale, outK, R);
      else quickRows(P.quick!, nTrees, xr, xo, m, p, out, r0, scale, outK, R, words!);
      continue;
    }
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
