/**
 * QuickScorer (src/models/tree/quick-scorer.ts): boosted trees of at most 32 leaves scored feature by
 * feature give every row the leaf and the sum the trees walked one by one give, to the bit (the
 * WebAssembly kernel and the JS walk); trees it does not know completely are left to the walks.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { helperHas } from "../../src/core/helper.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { CAT_WORDS } from "../../src/models/tree/categorical-splits.ts";
import { accumulateTree, type FlatTree } from "../../src/models/tree/flat-tree.ts";
import { packTrees } from "../../src/models/tree/packed-trees.ts";
import { QUICK_MAX_LEAVES, quickRows, quickScorable } from "../../src/models/tree/quick-scorer.ts";
import { disableWasmQuick, wasmQuick } from "../../src/models/tree/quick-scorer-wasm.ts";
import { accumulatePacked, PARALLEL_MIN_STEPS } from "../../src/models/tree/walk-dispatch.ts";
import { gatherRows, quickWalk } from "../../src/models/tree/walks.ts";
import { waitForHelper } from "../helpers/helper-thread.ts";

afterAll(() => closePool());

/**
 * A random tree of `leaves` leaves on p features, one value a node, numbered in the order a
 * best-first grower numbers them (children after their parent, not depth-first): a split goes to a
 * random leaf until the tree has its leaves, so trees are often deeper than 8 (no complete-tree walk).
 * Thresholds are drawn from `cuts` (ties with the data's values) or are +Infinity now and then.
 */
function randomTree(rng: Rng, leaves: number, p: number, cuts: readonly number[]): FlatTree {
  const feature = [-1];
  const threshold = [Number.NaN];
  const left = [-1];
  const right = [-1];
  const missingLeft = [rng.int(2)];
  const open = [0];
  while (open.length < leaves) {
    const i = open.splice(rng.int(open.length), 1)[0]!;
    feature[i] = rng.int(p);
    threshold[i] = rng.next() < 0.03 ? Number.POSITIVE_INFINITY : cuts[rng.int(cuts.length)]!;
    for (const side of [left, right]) {
      side[i] = feature.length;
      open.push(feature.length);
      feature.push(-1);
      threshold.push(Number.NaN);
      left.push(-1);
      right.push(-1);
      missingLeft.push(rng.int(2));
    }
  }
  const n = feature.length;
  return {
    nNodes: n,
    k: 1,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    missingLeft: Uint8Array.from(missingLeft),
    value: Float64Array.from({ length: n }, () => rng.normal()),
    weight: new Float64Array(n).fill(1),
  };
}

/** Thresholds: 40 values, so forests test more distinct pairs than a 64-bit row code holds. */
const CUTS = Array.from({ length: 40 }, (_, i) => i / 8 - 2.5);

/** Values from CUTS (ties with thresholds), normal draws, ±Infinity, and NaN at nanShare. */
function randomMatrix(rng: Rng, n: number, p: number, nanShare: number, shared = false): Matrix {
  const X = allocMatrix(n, p, undefined, shared);
  for (let i = 0; i < n * p; i++) {
    const u = rng.next();
    X.data[i] =
      u < nanShare
        ? Number.NaN
        : u < 0.3
          ? CUTS[rng.int(CUTS.length)]!
          : u < 0.31
            ? (rng.int(2) * 2 - 1) * Number.POSITIVE_INFINITY
            : rng.normal();
  }
  return X;
}

/** The trees walked one by one (flat-tree.ts's leafOf), tree t adding to score t mod R. */
function reference(trees: readonly FlatTree[], X: Matrix, R: number, scale: number): Float64Array {
  const ref = new Float64Array(X.nRows * R).fill(0.125);
  trees.forEach((t, i) => {
    accumulateTree(t, X.data, X.nRows, ref, scale, R, i % R);
  });
  return ref;
}

describe("QuickScorer's leaves", () => {
  it("a hand-worked tree: each row's leaf is the lowest leaf bit no failed node cleared", () => {
    // node 0: x0 <= 1 ? node 1 : leaf 4 (value 30); node 1: x1 <= 0 ? leaf 2 (10) : leaf 3 (20)
    const tree: FlatTree = {
      nNodes: 5,
      k: 1,
      feature: Int32Array.from([0, 1, -1, -1, -1]),
      threshold: Float64Array.from([1, 0, Number.NaN, Number.NaN, Number.NaN]),
      left: Int32Array.from([1, 2, -1, -1, -1]),
      right: Int32Array.from([4, 3, -1, -1, -1]),
      missingLeft: new Uint8Array(5),
      value: Float64Array.from([0, 0, 10, 20, 30]),
      weight: new Float64Array(5).fill(1),
    };
    const P = packTrees([tree]);
    expect(P.quick).not.toBeNull();
    // rows (x0, x1): (1, 0) → 10 (ties go left), (0, 5) → 20, (2, -5) → 30, (Infinity, 0) → 30
    const rows = Float64Array.from([1, 0, 0, 5, 2, -5, Number.POSITIVE_INFINITY, 0]);
    const want = [10, 20, 30, 30];
    const js = new Float64Array(4);
    quickRows(P.quick!, 1, rows, 0, 4, 2, js, 0, 1, 1, 1, new Int32Array(1));
    expect(Array.from(js)).toEqual(want);
    const wasm = new Float64Array(4);
    wasmQuick(P)!.score(rows, 0, 4, 2, wasm, 0, 1, 1, 1);
    expect(Array.from(wasm)).toEqual(want);
  });
});

describe("QuickScorer's sums equal the trees walked one by one, to the bit", () => {
  for (const [label, nTrees, R] of [
    ["binary (one score a row)", 60, 1],
    ["three classes (tree t adds to score t mod 3)", 45, 3],
  ] as const) {
    it(label, () => {
      const rng = new Rng(7);
      const p = 11;
      const trees = Array.from({ length: nTrees }, (_, t) =>
        randomTree(rng, t % 7 === 0 ? 1 + rng.int(4) : 20 + rng.int(QUICK_MAX_LEAVES - 19), p, CUTS),
      );
      const P = packTrees(trees);
      expect(P.quick).not.toBeNull();
      // deeper than 8 (no complete-tree walk), more than 63 tests (no bit-coded walk): QuickScorer
      expect(P.perfect).toBeNull();
      expect(quickWalk(P)).toBe(true);
      // no missing value, and some (a NaN fails the nodes that send missing values right)
      for (const [n, nanShare] of [
        [1, 0],
        [7, 0],
        [3001, 0],
        [3001, 0.001],
        [3001, 0.05],
      ] as const) {
        const X = randomMatrix(rng, n, p, nanShare);
        const ref = reference(trees, X, R, 0.5);
        const got = new Float64Array(n * R).fill(0.125);
        accumulatePacked(P, X.data, n, got, 0.5, R, R);
        expect(Array.from(got)).toEqual(Array.from(ref));
        // the kernels themselves
        {
          const xr = new Float64Array(n * P.features.length);
          gatherRows(P.features, X.data, n, 0, n, xr, P.features.length);
          const js = new Float64Array(n * R).fill(0.125);
          quickRows(P.quick!, nTrees, xr, 0, n, P.features.length, js, 0, 0.5, R, R, new Int32Array(nTrees));
          expect(Array.from(js)).toEqual(Array.from(ref));
          const wasm = new Float64Array(n * R).fill(0.125);
          wasmQuick(P)!.score(xr, 0, n, P.features.length, wasm, 0, 0.5, R, R);
          expect(Array.from(wasm)).toEqual(Array.from(ref));
          // the block's columns read as they are (column-major, no row-major copy)
          const cols = new Float64Array(n * R).fill(0.125);
          wasmQuick(P)!.scoreColumns(P.features, X.data, n, 0, n, cols, 0.5, R, R);
          expect(Array.from(cols)).toEqual(Array.from(ref));
        }
        // without WebAssembly: the JS walk
        disableWasmQuick(true);
        try {
          const js = new Float64Array(n * R).fill(0.125);
          accumulatePacked(packTrees(trees), X.data, n, js, 0.5, R, R);
          expect(Array.from(js)).toEqual(Array.from(ref));
        } finally {
          disableWasmQuick(false);
        }
      }
    });
  }

  // the helper reads its rows of the shared batch in place, missing values (rare NaNs: some
  // blocks of either thread's half) included
  for (const [nanShare, shared] of [
    [0, true],
    [0.00002, true],
    [0.00002, false],
  ] as const) {
    const where = shared ? "in shared memory" : "in private memory (the helper's columns copied)";
    it(`a large batch ${where} split with the helper thread (NaN share ${nanShare})`, async () => {
      expect(await waitForHelper()).toBe(true);
      const rng = new Rng(9);
      const p = 8;
      const trees = Array.from({ length: 40 }, () => randomTree(rng, 31, p, CUTS));
      const n = 20_001;
      const P = packTrees(trees);
      expect(quickWalk(P)).toBe(true);
      expect(n * P.sumDepth).toBeGreaterThanOrEqual(PARALLEL_MIN_STEPS);
      const X = randomMatrix(rng, n, p, nanShare, shared);
      expect(X.data.some(Number.isNaN)).toBe(nanShare > 0);
      const ref = reference(trees, X, 1, 1);
      const got = new Float64Array(n).fill(0.125);
      accumulatePacked(P, X.data, n, got, 1);
      expect(helperHas(P)).toBe(true); // the batch was split
      expect(Array.from(got)).toEqual(Array.from(ref));
    });
  }
});

/**
 * randomTree with category-set splits on the first nCat features: each such node gets a random known
 * set among codes 0..CODES − 1 and a random left subset of it (sometimes most of the codes, sometimes
 * few: QuickScorer takes either child as "left").
 */
const CODES = 40;
function randomCategoryTree(rng: Rng, leaves: number, p: number, nCat: number): FlatTree {
  const t = randomTree(rng, leaves, p, CUTS);
  const node = new Int32Array(t.nNodes).fill(-1);
  const sets: number[] = [];
  for (let i = 0; i < t.nNodes; i++) {
    if (t.feature[i]! < 0) continue;
    if (rng.next() < 0.5) t.feature[i] = rng.int(nCat);
    if (t.feature[i]! >= nCat) continue;
    node[i] = sets.length / CAT_WORDS;
    const words = new Array<number>(CAT_WORDS).fill(0);
    const leftShare = rng.next();
    for (let c = 0; c < CODES; c++) {
      if (rng.next() < 0.2) continue; // not seen at fit
      words[8 + (c >>> 5)]! |= 1 << (c & 31);
      if (rng.next() < leftShare) words[c >>> 5]! |= 1 << (c & 31);
    }
    sets.push(...words);
    t.threshold[i] = Number.NaN;
  }
  return { ...t, categorical: { node, bits: Uint32Array.from(sets, (w) => w >>> 0) } };
}

/** randomMatrix whose first nCat columns hold codes, and now and then NaN, −1, 2.5, 300 or −0. */
function categoryMatrix(rng: Rng, n: number, p: number, nCat: number, shared = false): Matrix {
  const X = randomMatrix(rng, n, p, 0.01, shared);
  const odd = [Number.NaN, -1, 2.5, 300, -0, 255, Number.POSITIVE_INFINITY];
  for (let i = 0; i < n * nCat; i++)
    X.data[i] = rng.next() < 0.05 ? odd[rng.int(odd.length)]! : rng.int(CODES);
  return X;
}

describe("QuickScorer on trees with category-set splits", () => {
  const rng = new Rng(11);
  const p = 9;
  const nCat = 3;
  const trees = Array.from({ length: 48 }, () =>
    randomCategoryTree(rng, 2 + rng.int(QUICK_MAX_LEAVES - 1), p, nCat),
  );

  it("packs them for QuickScorer alone", () => {
    expect(trees.some((t) => t.categorical!.node.some((c) => c >= 0))).toBe(true);
    const P = packTrees(trees);
    expect(P.categorical).toBe(true);
    expect(P.quick!.catPos.length).toBe(nCat);
    expect(quickWalk(P)).toBe(true);
    expect(P.compact).toBeNull();
    expect(P.perfect).toBeNull();
  });

  for (const [label, R] of [
    ["binary", 1],
    ["three classes", 3],
  ] as const) {
    it(`${label}: the sums of the trees walked one by one (flat-tree.ts), to the bit`, () => {
      const P = packTrees(trees);
      for (const n of [1, 5, 2003]) {
        const X = categoryMatrix(rng, n, p, nCat);
        const ref = reference(trees, X, R, 0.5);
        const got = new Float64Array(n * R).fill(0.125);
        accumulatePacked(P, X.data, n, got, 0.5, R, R);
        expect(Array.from(got)).toEqual(Array.from(ref));
        const xr = new Float64Array(n * P.features.length);
        gatherRows(P.features, X.data, n, 0, n, xr, P.features.length);
        const js = new Float64Array(n * R).fill(0.125);
        quickRows(
          P.quick!,
          P.nTrees,
          xr,
          0,
          n,
          P.features.length,
          js,
          0,
          0.5,
          R,
          R,
          new Int32Array(P.nTrees),
        );
        expect(Array.from(js)).toEqual(Array.from(ref));
        const wasm = new Float64Array(n * R).fill(0.125);
        wasmQuick(P)!.score(xr, 0, n, P.features.length, wasm, 0, 0.5, R, R);
        expect(Array.from(wasm)).toEqual(Array.from(ref));
        disableWasmQuick(true);
        try {
          const noWasm = new Float64Array(n * R).fill(0.125);
          accumulatePacked(packTrees(trees), X.data, n, noWasm, 0.5, R, R);
          expect(Array.from(noWasm)).toEqual(Array.from(ref));
        } finally {
          disableWasmQuick(false);
        }
      }
    });
  }

  for (const shared of [true, false])
    it(`a large batch split with the helper thread (${shared ? "shared" : "private"} memory)`, async () => {
      expect(await waitForHelper()).toBe(true);
      const n = 20_001;
      const X = categoryMatrix(rng, n, p, nCat, shared);
      const ref = reference(trees, X, 3, 1);
      const got = new Float64Array(3 * n).fill(0.125);
      const P = packTrees(trees);
      accumulatePacked(P, X.data, n, got, 1, 3, 3);
      expect(helperHas(P)).toBe(true); // the batch was split
      expect(Array.from(got)).toEqual(Array.from(ref));
    });

  it("a feature split both by thresholds and by category sets is declined", () => {
    const mixed = randomCategoryTree(rng, 12, p, nCat);
    const i = mixed.categorical!.node.findIndex((c) => c >= 0);
    const f = mixed.feature[i]!;
    const j = mixed.feature.findIndex((g, k) => g >= 0 && mixed.categorical!.node[k]! < 0);
    mixed.feature[j] = f;
    expect(quickScorable([mixed])).toBe(false);
    expect(() => packTrees([mixed])).toThrow(/category-set splits/);
  });
});

describe("which walk scores deep boosted trees", () => {
  it("QuickScorer above 63 distinct tests, the bit-coded walk up to them (phishing's -1/0/1 features)", () => {
    const rng = new Rng(4);
    const few = Array.from({ length: 30 }, () => randomTree(rng, 31, 5, [-0.5, 0.5]));
    const many = Array.from({ length: 30 }, () => randomTree(rng, 31, 5, CUTS));
    const P = packTrees(few);
    expect(P.quick!.tests).toBeLessThanOrEqual(15); // 5 features x (2 cuts, +Infinity)
    expect(quickWalk(P)).toBe(false);
    const Q = packTrees(many);
    expect(Q.quick!.tests).toBeGreaterThan(63);
    expect(quickWalk(Q)).toBe(true);
    // the sums do not depend on the walk
    const X = randomMatrix(rng, 500, 5, 0);
    for (const trees of [few, many]) {
      const got = new Float64Array(500).fill(0.125);
      accumulatePacked(packTrees(trees), X.data, 500, got, 1);
      expect(Array.from(got)).toEqual(Array.from(reference(trees, X, 1, 1)));
    }
  });
});

describe("trees QuickScorer declines (quickScorable) are walked as before", () => {
  const rng = new Rng(3);
  const base = (): FlatTree[] => Array.from({ length: 5 }, () => randomTree(rng, 12, 4, CUTS));

  it("accepts numeric-threshold trees of at most 32 leaves, one value a node", () => {
    expect(quickScorable(base())).toBe(true);
    expect(quickScorable([randomTree(rng, QUICK_MAX_LEAVES, 4, CUTS)])).toBe(true);
  });

  for (const [label, change] of [
    [
      "a tree with a field it does not know (another split kind's tables)",
      (t: FlatTree) => Object.assign(t, { categorical: { node: new Int32Array(t.nNodes).fill(-1) } }),
    ],
    ["a split without a threshold (NaN)", (t: FlatTree) => t.threshold.fill(Number.NaN, 0, 1)],
    ["more than 32 leaves", (_t: FlatTree) => randomTree(rng, QUICK_MAX_LEAVES + 1, 4, CUTS)],
    [
      "two values a node",
      (t: FlatTree) => ({
        ...t,
        k: 2,
        value: Float64Array.from({ length: 2 * t.nNodes }, () => rng.normal()),
      }),
    ],
  ] as const) {
    it(`declines ${label}`, () => {
      const trees = base();
      const changed = change(trees[2]!);
      if (changed && changed !== trees[2]) trees[2] = changed as FlatTree;
      expect(quickScorable(trees)).toBe(false);
      // (trees of two values a node do not pack with trees of one; packTrees refuses category splits,
      // which only the generic walks route)
      if (trees[2]!.k !== 1) return;
      if (trees[2]!.categorical) expect(() => packTrees(trees)).toThrow(/category-set splits/);
      else expect(packTrees(trees).quick).toBeNull();
    });
  }

  it("an unknown field left undefined is not another split kind", () => {
    const trees = base();
    Object.assign(trees[0]!, { categorical: undefined });
    expect(quickScorable(trees)).toBe(true);
  });
});
