/** A FlatTree to and from JSON (a model's saved state). */
import { CAT_WORDS } from "./categorical-splits.ts";
import type { FlatTree } from "./flat-tree.ts";

export interface FlatTreeJSON {
  k: number;
  feature: number[];
  threshold: (number | null)[];
  left: number[];
  right: number[];
  missingLeft: number[];
  value: number[];
  weight: number[];
  /** Category-set splits (absent in trees without any, and in every bundle saved before them). */
  categorical?: { node: number[]; bits: number[] };
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
    ...(t.categorical
      ? { categorical: { node: Array.from(t.categorical.node), bits: Array.from(t.categorical.bits) } }
      : {}),
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
  const cat = j.categorical;
  if (cat) {
    const sets = cat.node.reduce((a, c) => Math.max(a, c + 1), 0);
    if (cat.node.length !== n || cat.bits.length !== sets * CAT_WORDS)
      throw new RangeError(
        `tree state: categorical splits for ${cat.node.length} nodes with ${cat.bits.length} words, expected ${n} nodes and ${sets * CAT_WORDS} words`,
      );
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
    ...(cat ? { categorical: { node: Int32Array.from(cat.node), bits: Uint32Array.from(cat.bits) } } : {}),
  };
}
