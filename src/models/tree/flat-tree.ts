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
  const { feature, threshold, left, right, missingLeft, value, k } = t;
  for (let r = 0; r < nRows; r++) {
    let node = 0;
    let f = feature[0]!;
    while (f >= 0) {
      const v = data[f * nRows + r]!;
      const th = threshold[node]!;
      node = v <= th ? left[node]! : v > th ? right[node]! : missingLeft[node] ? left[node]! : right[node]!;
      f = feature[node]!;
    }
    const base = node * k;
    const o = r * outK + offset;
    for (let c = 0; c < k; c++) out[o + c]! += scale * value[base + c]!;
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
