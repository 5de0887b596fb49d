/**
 * The speed paths give the same numbers as the plain ones: packed batch prediction vs one tree at a
 * time, the branch-free binning vs a binary search per value, and a logistic regression on a matrix
 * with sparse (mostly one value) columns meets the optimality conditions computed densely.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { helperHas, runWithHelper } from "../../src/core/helper.ts";
import { STALL_HOLDING } from "../../src/core/helper-kept.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { task } from "../../src/core/tasks.ts";
import { GradientBoostingClassifier } from "../../src/models/gradient-boosting.ts";
import { LogisticRegression, PARALLEL_MIN_VALUES } from "../../src/models/logistic-regression.ts";
import { RandomForestClassifier } from "../../src/models/random-forest.ts";
import { binMatrix, binOf, fitBinMapper, MISSING_BIN } from "../../src/models/tree/binning.ts";
import {
  contributionSteps,
  packedContributionsAll,
  pathContributions,
} from "../../src/models/tree/contributions.ts";
import { accumulateTree, type FlatTree } from "../../src/models/tree/flat-tree.ts";
import { packTrees } from "../../src/models/tree/packed-trees.ts";
import {
  accumulatePacked,
  accumulateSingle,
  PARALLEL_MIN_STEPS,
  SINGLE_PARALLEL_MIN_STEPS,
} from "../../src/models/tree/walk-dispatch.ts";
import { bitCode, disableWasmWalks, wasmTrees } from "../../src/models/tree/wasm-walk.ts";
import { spinWhile, waitForHelper } from "../helpers/helper-thread.ts";

/** A random tree of `nNodes` nodes (depth-first numbering) on `p` features, `k` values per node. */
function randomTree(rng: Rng, nNodes: number, p: number, k: number): FlatTree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missingLeft: number[] = [];
  let budget = nNodes;
  const grow = (depth: number): number => {
    const i = feature.length;
    feature.push(-1);
    threshold.push(Number.NaN);
    left.push(-1);
    right.push(-1);
    missingLeft.push(rng.int(2));
    budget--;
    if (budget >= 2 && depth < 12 && rng.next() < 0.8) {
      feature[i] = rng.int(p);
      threshold[i] = rng.next() < 0.05 ? Number.POSITIVE_INFINITY : rng.normal();
      left[i] = grow(depth + 1);
      right[i] = grow(depth + 1);
    }
    return i;
  };
  grow(0);
  const n = feature.length;
  return {
    nNodes: n,
    k,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    missingLeft: Uint8Array.from(missingLeft),
    value: Float64Array.from({ length: n * k }, () => rng.normal()),
    weight: new Float64Array(n).fill(1),
  };
}

function randomMatrix(rng: Rng, n: number, p: number, nanShare: number): Matrix {
  const X = allocMatrix(n, p);
  for (let i = 0; i < n * p; i++) X.data[i] = rng.next() < nanShare ? Number.NaN : rng.normal();
  return X;
}

describe("packed tree prediction", () => {
  for (const [label, nTrees, nodes, k, R] of [
    ["forest, 3 values per node", 25, 101, 3, 1],
    ["boosting, one score per class (R = 3)", 30, 7, 1, 3],
    ["boosting, binary", 40, 15, 1, 1],
    ["stumps and single leaves", 10, 3, 2, 1],
  ] as const) {
    it(`equals accumulateTree tree by tree: ${label}`, () => {
      const rng = new Rng(11);
      const p = 9;
      const trees = Array.from({ length: nTrees }, (_, t) => randomTree(rng, t === 0 ? 1 : nodes, p, k));
      expect(packTrees(trees).compact).not.toBeNull();
      // shallow trees (at most 8 deep: boosting) are walked as complete trees
      const deepest = Math.max(...packTrees(trees).depth);
      expect(packTrees(trees).perfect !== null).toBe(deepest <= 8);
      if (nodes <= 7) expect(deepest).toBeLessThanOrEqual(8);
      // with missing values (the general walk) and without (the compact walk), and ±Infinity
      for (const [n, nanShare, negInf] of [
        [1, 0.05, false],
        [3, 0.05, false],
        [4, 0.05, false],
        [5, 0.05, false],
        [1037, 0.05, false],
        [5, 0, false],
        [1037, 0, false],
        [1037, 0, true],
      ] as const) {
        const X = randomMatrix(rng, n, p, nanShare);
        if (negInf) {
          X.data[17] = Number.NEGATIVE_INFINITY;
          X.data[n + 3] = Number.POSITIVE_INFINITY;
        }
        const outK = R === 1 ? k : R;
        const ref = new Float64Array(n * outK);
        trees.forEach((t, i) => {
          accumulateTree(t, X.data, n, ref, 0.25, outK, R === 1 ? 0 : i % R);
        });
        // the WebAssembly kernels (the default) and the JS walks
        const P = packTrees(trees);
        expect(wasmTrees(P)).not.toBeNull();
        const got = new Float64Array(n * outK);
        accumulatePacked(P, X.data, n, got, 0.25, outK, R);
        expect(Array.from(got)).toEqual(Array.from(ref));
        disableWasmWalks(true);
        try {
          const js = new Float64Array(n * outK);
          accumulatePacked(packTrees(trees), X.data, n, js, 0.25, outK, R);
          expect(Array.from(js)).toEqual(Array.from(ref));
        } finally {
          disableWasmWalks(false);
        }
      }
    });
  }
});

/** The same tree with its nodes numbered in another order (the root stays 0), as best-first growth numbers them. */
function renumbered(rng: Rng, t: FlatTree): FlatTree {
  const n = t.nNodes;
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 1; i--) {
    const j = 1 + rng.int(i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const k = t.k;
  const out: FlatTree = {
    ...t,
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    missingLeft: new Uint8Array(n),
    value: new Float64Array(n * k),
    weight: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const q = perm[i]!;
    out.feature[q] = t.feature[i]!;
    out.threshold[q] = t.threshold[i]!;
    out.left[q] = t.left[i]! >= 0 ? perm[t.left[i]!]! : -1;
    out.right[q] = t.right[i]! >= 0 ? perm[t.right[i]!]! : -1;
    out.missingLeft[q] = t.missingLeft[i]!;
    out.weight[q] = t.weight[i]!;
    for (let c = 0; c < k; c++) out.value[q * k + c] = t.value[i * k + c]!;
  }
  return out;
}

describe("trees numbered in any order (boosting grows best-first) pack to the same answers", () => {
  for (const [label, nodes] of [
    ["deep", 301],
    ["shallow (complete-tree walk)", 15],
  ] as const) {
    it(`predictions, leaves and contributions equal the trees walked one by one: ${label}`, () => {
      const rng = new Rng(44);
      const p = 6;
      const trees = Array.from({ length: 12 }, () => renumbered(rng, randomTree(rng, nodes, p, 2)));
      const P = packTrees(trees);
      expect(P.compact).not.toBeNull();
      for (const nan of [0, 0.05]) {
        const X = randomMatrix(rng, 700, p, nan);
        const ref = new Float64Array(X.nRows * 2);
        for (const t of trees) accumulateTree(t, X.data, X.nRows, ref, 0.5, 2, 0);
        const got = new Float64Array(X.nRows * 2);
        accumulatePacked(P, X.data, X.nRows, got, 0.5);
        expect(Array.from(got)).toEqual(Array.from(ref));
        disableWasmWalks(true);
        try {
          const js = new Float64Array(X.nRows * 2);
          accumulatePacked(packTrees(trees), X.data, X.nRows, js, 0.5);
          expect(Array.from(js)).toEqual(Array.from(ref));
        } finally {
          disableWasmWalks(false);
        }
        const steps = contributionSteps(P, 1, 0.5)!;
        const all = new Float64Array(X.nRows * p);
        const skipped = packedContributionsAll(P, steps, X.data, X.nRows, all, p) ?? [];
        for (let r = 0; r < X.nRows; r += 5) {
          if (skipped.includes(r)) continue;
          const want = new Float64Array(p);
          for (const t of trees) pathContributions(t, X.data, X.nRows, r, 1, want, 0.5);
          expect(Array.from(all.subarray(r * p, r * p + p))).toEqual(Array.from(want));
        }
      }
    });
  }
});

describe("gradient boosting explains a batch as it explains each row", () => {
  for (const K of [2, 3]) {
    it(`contributionsAll equals contributions row by row (${K} classes, missing values and ±Infinity)`, async () => {
      const rng = new Rng(31);
      const n = 400;
      const X = allocMatrix(n, 6);
      const y = new Int32Array(n);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < 6; c++) X.data[c * n + r] = c < 3 ? rng.int(3) - 1 : rng.normal();
        y[r] = (X.data[r]! + X.data[3 * n + r]! > 0 ? 1 : 0) + (K === 3 && X.data[4 * n + r]! > 0.8 ? 1 : 0);
      }
      for (let r = 0; r < n; r += 23) X.data[4 * n + r] = Number.NaN;
      const m = new GradientBoostingClassifier({ nEstimators: 25, maxDepth: 3, randomState: 1 });
      await m.fit(X, y, K);
      const Q = randomMatrix(rng, 300, 6, 0.02);
      Q.data[7] = Number.NEGATIVE_INFINITY;
      for (let cls = 0; cls < K; cls++) {
        const all = m.contributionsAll(Q, cls);
        for (let r = 0; r < Q.nRows; r++)
          expect(Array.from(all.subarray(r * 6, r * 6 + 6))).toEqual(Array.from(m.contributions(Q, r, cls)));
      }
    });
  }
});

describe("deep forests walked in the order of the first tree's leaves", () => {
  it("give every row its own sums, in row order", () => {
    const rng = new Rng(21);
    const p = 6;
    const trees = Array.from({ length: 16 }, () => randomTree(rng, 301, p, 2));
    const P = packTrees(trees);
    expect(P.perfect).toBeNull();
    expect(P.compact).not.toBeNull();
    for (const n of [63, 64, 500, 2049]) {
      const X = randomMatrix(rng, n, p, 0);
      const ref = new Float64Array(n * 2);
      for (const t of trees) accumulateTree(t, X.data, n, ref, 0.5, 2, 0);
      const got = new Float64Array(n * 2).fill(0);
      accumulatePacked(P, X.data, n, got, 0.5);
      expect(Array.from(got)).toEqual(Array.from(ref));
    }
  });
});

describe("one tree on the column-major data", () => {
  it("accumulateSingle equals accumulateTree (missing values, ±Infinity, 1..3 values a node)", () => {
    const rng = new Rng(31);
    for (const k of [1, 2, 3]) {
      for (const nodes of [1, 3, 41, 301]) {
        const tree = randomTree(rng, nodes, 6, k);
        for (const n of [1, 3, 4, 7, 257]) {
          const X = randomMatrix(rng, n, 6, 0.05);
          X.data[0] = Number.POSITIVE_INFINITY;
          if (n > 1) X.data[n + 1] = Number.NEGATIVE_INFINITY;
          const ref = new Float64Array(n * k);
          accumulateTree(tree, X.data, n, ref, 0.5);
          const got = new Float64Array(n * k);
          accumulateSingle(packTrees([tree]), X.data, n, got, 0.5);
          expect(Array.from(got)).toEqual(Array.from(ref));
        }
      }
    }
  });
});

describe("packed tree prediction split with the helper thread", () => {
  afterAll(() => closePool());
  it("gives the same sums as one tree at a time", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(12);
    const p = 7;
    const trees = Array.from({ length: 40 }, () => randomTree(rng, 61, p, 2));
    const n = 40_001;
    expect(n * packTrees(trees).sumDepth).toBeGreaterThanOrEqual(PARALLEL_MIN_STEPS); // split with the helper
    const X = randomMatrix(rng, n, p, 0.02);
    const ref = new Float64Array(n * 2).fill(0.5);
    for (const t of trees) accumulateTree(t, X.data, n, ref, 0.1);
    const got = new Float64Array(n * 2).fill(0.5);
    accumulatePacked(packTrees(trees), X.data, n, got, 0.1);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });

  it("a helper that is held: a large batch is walked here alone, the same sums, and the helper is not waited for", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(14);
    const trees = Array.from({ length: 40 }, () => randomTree(rng, 61, 6, 1));
    const n = 20_001;
    const X = randomMatrix(rng, n, 6, 0.02);
    const ref = new Float64Array(n);
    for (const t of trees) accumulateTree(t, X.data, n, ref, 1);
    const gate = new Int32Array(new SharedArrayBuffer(8));
    // (held: the caller's share lasts until the helper has claimed the stall)
    expect(runWithHelper(task("core.stall", { gate, ms: 10_000 }), () => spinWhile(gate, 1, 0))).toBe(false);
    const got = new Float64Array(n);
    accumulatePacked(packTrees(trees), X.data, n, got, 1);
    expect(Array.from(got)).toEqual(Array.from(ref));
    expect(Atomics.load(gate, 1)).toBe(STALL_HOLDING); // the helper is still held
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    expect(await waitForHelper()).toBe(true);
  });

  it("two forests in turn: the helper keeps each one's tables and never mixes them up", async () => {
    await waitForHelper();
    const rng = new Rng(13);
    const p = 5;
    const forests = [0, 1].map(() => Array.from({ length: 30 }, () => randomTree(rng, 41, p, 1)));
    const packed = forests.map((f) => packTrees(f));
    const n = 3_001;
    for (const P of packed) expect(n * P.sumDepth).toBeGreaterThanOrEqual(PARALLEL_MIN_STEPS);
    const X = randomMatrix(rng, n, p, 0.02);
    const refs = forests.map((f) => {
      const ref = new Float64Array(n);
      for (const t of f) accumulateTree(t, X.data, n, ref, 1);
      return ref;
    });
    // a first batch too small to repay cloning the trees stays on this thread: nothing sent
    const m = 128;
    expect(m * packed[0]!.sumDepth).toBeGreaterThanOrEqual(PARALLEL_MIN_STEPS);
    expect(m * packed[0]!.sumDepth).toBeLessThan(64 * packed[0]!.threshold.length);
    const small = randomMatrix(rng, m, p, 0.02);
    const smallRef = new Float64Array(m);
    for (const t of forests[0]!) accumulateTree(t, small.data, m, smallRef, 1);
    const few = new Float64Array(m);
    accumulatePacked(packed[0]!, small.data, m, few, 1);
    expect(Array.from(few)).toEqual(Array.from(smallRef));
    expect(helperHas(packed[0]!)).toBe(false);
    // the model's second batch: split, the trees sent once for the batches to come
    few.fill(0);
    accumulatePacked(packed[0]!, small.data, m, few, 1);
    expect(Array.from(few)).toEqual(Array.from(smallRef));
    expect(helperHas(packed[0]!)).toBe(true);
    for (let round = 0; round < 3; round++)
      for (const i of [0, 1]) {
        // so the batch is split (under load the caller may have finished the last batch's rows
        // itself, the helper still busy with its share: wait for it)
        expect(await waitForHelper()).toBe(true);
        const got = new Float64Array(n);
        accumulatePacked(packed[i]!, X.data, n, got, 1);
        expect(helperHas(packed[i]!)).toBe(true); // the trees went to the helper
        expect(Array.from(got)).toEqual(Array.from(refs[i]!));
      }
  });
});

/** The same matrix in shared memory (as bundles build large batches), which the helper may read. */
function shared(X: Matrix): Matrix {
  const S = allocMatrix(X.nRows, X.nCols, X.names, true);
  S.data.set(X.data);
  return S;
}

describe("a large batch in shared memory, split with the helper thread", () => {
  afterAll(() => closePool());

  it("a single tree: the same sums as one row at a time (odd row counts, missing values)", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(21);
    const tree = randomTree(rng, 301, 6, 2);
    const P = packTrees([tree]);
    for (const n of [40_001, 40_004]) {
      expect(n * P.depth[0]!).toBeGreaterThanOrEqual(SINGLE_PARALLEL_MIN_STEPS); // split with the helper
      const X = shared(randomMatrix(rng, n, 6, 0.03));
      const ref = new Float64Array(n * 2).fill(0.25);
      accumulateTree(tree, X.data, n, ref, 0.5);
      const got = new Float64Array(n * 2).fill(0.25);
      accumulateSingle(P, X.data, n, got, 0.5);
      // the helper finishes and is idle again (the bounded wait lets the caller walk a late
      // helper's rows itself, so it may still be busy on a loaded machine)
      expect(await waitForHelper()).toBe(true);
      expect(Array.from(got)).toEqual(Array.from(ref));
    }
  });

  it("logistic regression: the same probabilities to the bit, and a bad value in the helper's half is named", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(22);
    const p = 12;
    const fitX = randomMatrix(rng, 2000, p, 0);
    const y = Int32Array.from({ length: 2000 }, (_, r) =>
      fitX.data[r]! + 0.5 * fitX.data[2000 + r]! > 0 ? 1 : 0,
    );
    const m = new LogisticRegression();
    await m.fit(fitX, y, 2);
    const n = 30_001;
    expect(n * p).toBeGreaterThanOrEqual(PARALLEL_MIN_VALUES); // split with the helper
    const X = randomMatrix(rng, n, p, 0);
    const S = shared(X);
    // the plain matrix is scored by this thread alone
    expect(Array.from(m.predictProba(S))).toEqual(Array.from(m.predictProba(X)));
    expect(Array.from(m.decision(S))).toEqual(Array.from(m.decision(X)));
    // and against the formula, computed here row by row
    const proba = m.predictProba(S);
    for (const r of [0, 1, 15_000, 15_001, n - 1]) {
      let z = m.intercept[0]!;
      for (let c = 0; c < p; c++) z += m.coef[c]! * X.data[c * n + r]!;
      expect(proba[2 * r + 1]).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
      expect(proba[2 * r]! + proba[2 * r + 1]!).toBeCloseTo(1, 15);
    }
    S.data[5 * n + (n - 3)] = Number.NaN; // column 5, row n - 2 (1-based): in the helper's half
    expect(() => m.predictProba(S)).toThrow(new RegExp(`row ${n - 2}, column feature 5 is NaN`));
  });
});

describe("binning", () => {
  it("bins every value as binOf does (few and many thresholds, missing values)", () => {
    const rng = new Rng(3);
    const n = 2000;
    const X = allocMatrix(n, 4);
    for (let r = 0; r < n; r++) {
      X.data[r] = rng.int(2); // one-hot
      X.data[n + r] = rng.int(6); // few values
      X.data[2 * n + r] = rng.next() < 0.1 ? Number.NaN : rng.normal(); // many values, missing
      X.data[3 * n + r] = Math.round(rng.normal() * 1000) / 10; // many values
    }
    for (const maxBins of [255, 17, 2]) {
      const mapper = fitBinMapper(X, { maxBins });
      const test = randomMatrix(rng, 500, 4, 0.05);
      for (const M of [X, test]) {
        const bins = binMatrix(M, mapper);
        for (let f = 0; f < 4; f++)
          for (let r = 0; r < M.nRows; r++) {
            const v = M.data[f * M.nRows + r]!;
            expect(bins[f * M.nRows + r]).toBe(Number.isNaN(v) ? MISSING_BIN : binOf(mapper, f, v));
          }
      }
    }
  });
});

describe("logistic regression with sparse columns", () => {
  it("reaches a zero gradient of the objective computed densely", async () => {
    const rng = new Rng(5);
    const n = 600;
    const p = 6;
    const X = allocMatrix(n, p);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      X.data[r] = rng.normal();
      X.data[n + r] = rng.next() < 0.1 ? 1 : 0; // sparse around 0
      X.data[2 * n + r] = rng.next() < 0.05 ? -2 : 3; // sparse around 3
      X.data[3 * n + r] = rng.int(3) - 1;
      X.data[4 * n + r] = rng.next() < 0.15 ? rng.normal() : 0.5;
      X.data[5 * n + r] = 0; // constant
      const z = X.data[r]! + 2 * X.data[n + r]! - 0.3 * X.data[2 * n + r]! + X.data[4 * n + r]!;
      y[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    for (const solver of ["lbfgs", "newton"] as const) {
      const m = new LogisticRegression({ C: 0.7, tol: 1e-10, maxIter: 10000, solver });
      await m.fit(X, y, 2);
      // the optimality conditions, computed densely: the gradient of the objective is zero
      const g = new Float64Array(p + 1);
      for (let r = 0; r < n; r++) {
        let z = m.intercept[0]!;
        for (let c = 0; c < p; c++) z += m.coef[c]! * X.data[c * n + r]!;
        const res = (1 / (1 + Math.exp(-z)) - y[r]!) / n;
        for (let c = 0; c < p; c++) g[c]! += res * X.data[c * n + r]!;
        g[p]! += res;
      }
      for (let c = 0; c < p; c++) g[c]! += m.coef[c]! / (0.7 * n);
      for (let c = 0; c <= p; c++)
        expect(Math.abs(g[c]!), `${solver} gradient ${c}`).toBeLessThanOrEqual(1e-8);
    }
  });
});

describe("random forest contributions from the packed trees", () => {
  it("equal pathContributions tree by tree, with and without missing values", async () => {
    const rng = new Rng(21);
    const n = 300;
    const X = allocMatrix(n, 5);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < 5; c++) X.data[c * n + r] = rng.normal();
      y[r] = X.data[r]! + X.data[n + r]! > 0 ? 1 : rng.int(3);
    }
    // a few missing values in training, so trees route them
    for (let r = 0; r < n; r += 17) X.data[2 * n + r] = Number.NaN;
    const m = new RandomForestClassifier({ nEstimators: 15, randomState: 2, maxFeatures: 3 });
    await m.fit(X, y, 3);
    const Q = randomMatrix(rng, 40, 5, 0.1);
    Q.data[3] = Number.NEGATIVE_INFINITY;
    Q.data[40 + 5] = Number.POSITIVE_INFINITY;
    for (const cls of [0, 2]) {
      for (let r = 0; r < Q.nRows; r++) {
        const ref = new Float64Array(5);
        for (const t of m.trees) pathContributions(t, Q.data, Q.nRows, r, cls, ref, 1 / m.trees.length);
        expect(Array.from(m.contributions(Q, r, cls))).toEqual(Array.from(ref));
      }
      // every row at once (four rows a walk, the rows with missing values the general way)
      const all = m.contributionsAll(Q, cls);
      for (let r = 0; r < Q.nRows; r++)
        expect(Array.from(all.subarray(r * 5, r * 5 + 5))).toEqual(Array.from(m.contributions(Q, r, cls)));
    }
  });
});

describe("forests on few-valued features (each row one 64-bit code of test answers)", () => {
  const ternary = (rng: Rng, n: number, p: number): Matrix => {
    const X = allocMatrix(n, p);
    for (let i = 0; i < n * p; i++) X.data[i] = rng.int(3) - 1;
    return X;
  };

  it("predict and explain exactly as the trees one by one, and as the JS walks", async () => {
    const rng = new Rng(5);
    const n = 600;
    const p = 9;
    const X = ternary(rng, n, p);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) y[r] = X.data[r]! + X.data[n + r]! - X.data[3 * n + r]! > 0 ? 1 : rng.int(2);
    const m = new RandomForestClassifier({ nEstimators: 24, randomState: 4 });
    await m.fit(X, y, 2);
    const P = packTrees(m.trees);
    expect(P.perfect).toBeNull();
    const B = bitCode(P.compact!);
    expect(B).not.toBeNull();
    expect(B!.feat.length).toBeLessThanOrEqual(2 * p);
    // plain blocks take the bit-coded walk; a block with a missing value takes the general walk
    const Q = ternary(rng, 1037, p);
    const Qn = ternary(rng, 300, p);
    Qn.data[5] = Number.NaN;
    Qn.data[300 * 4 + 77] = Number.NaN;
    for (const q of [Q, Qn]) {
      const ref = new Float64Array(q.nRows * 2);
      // the trees' sums, divided once (as scikit-learn's predict_proba)
      for (const t of m.trees) accumulateTree(t, q.data, q.nRows, ref, 1, 2, 0);
      for (let i = 0; i < ref.length; i++) ref[i]! /= m.trees.length;
      const got = m.predictProba(q);
      expect(Array.from(got)).toEqual(Array.from(ref));
      for (const cls of [0, 1]) {
        const all = m.contributionsAll(q, cls);
        for (let r = 0; r < q.nRows; r += 7) {
          const want = new Float64Array(p);
          for (const t of m.trees) pathContributions(t, q.data, q.nRows, r, cls, want, 1 / m.trees.length);
          expect(Array.from(all.subarray(r * p, r * p + p))).toEqual(Array.from(want));
        }
      }
      disableWasmWalks(true);
      try {
        expect(Array.from(m.predictProba(q))).toEqual(Array.from(got));
      } finally {
        disableWasmWalks(false);
      }
    }
  });

  it("more than 63 distinct tests: no bit code (the compact walk)", () => {
    const rng = new Rng(8);
    const trees = Array.from({ length: 4 }, () => randomTree(rng, 201, 6, 1));
    expect(bitCode(packTrees(trees).compact!)).toBeNull();
  });
});
