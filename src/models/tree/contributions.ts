/**
 * Per-feature path contributions (Saabas) of tree ensembles, for explanations: along a row's path, each
 * step's change of the node value is credited to the feature the step tested.
 */
import { type FlatTree, nextNode } from "./flat-tree.ts";
import type { PackedTrees } from "./packed-trees.ts";
import { wasmTrees } from "./wasm-walk.ts";

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
  const { feature, threshold, left, right, missingLeft, value, k, categorical } = t;
  for (;;) {
    const f = feature[node]!;
    if (f < 0) return;
    const v = data[f * nRows + r]!;
    const next = categorical
      ? nextNode(t, categorical, node, v)
      : v <= threshold[node]!
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
