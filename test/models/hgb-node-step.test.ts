/**
 * hist_gradient_boosting's split nodes on two threads (src/models/hgb/node-step.ts): each thread takes
 * a range of features and builds the smaller child's histogram there, the larger child's as the
 * parent's minus it, and each child's best split among its features. The reference is the one-thread
 * path: the JS histogram loop, the in-place subtraction and findBestSplit over every feature.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { type GrowInput, growScratch, growTree } from "../../src/models/hgb/grower.ts";
import {
  buildHistogram,
  HistPool,
  histOffsets,
  histScratch,
  sparseRows,
} from "../../src/models/hgb/histogram.ts";
import type { ChildSearch, NodeSearch } from "../../src/models/hgb/node-step.ts";
import { findBestSplit, nodeValue } from "../../src/models/hgb/split.ts";
import {
  disableHistogramHelper,
  HIST_PARALLEL_MIN_ROWS,
  NODE_STEP_MIN_ROWS,
  nodeHandOffCount,
  type WasmFitKernels,
  wasmFitKernels,
} from "../../src/models/hgb/wasm-kernels.ts";
import { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { MISSING_BIN } from "../../src/models/tree/binning.ts";
import { waitForHelper } from "../helpers/helper-thread.ts";

afterAll(() => closePool());

/** A fit's binned input: one-hot-like flags, a categorical code, counts, 255-bin values, missing values. */
function binnedInput(n: number, seed: number) {
  const rng = new Rng(seed);
  const nBins = Uint16Array.of(2, 12, 255, 6, 2, 200, 2, 40);
  const p = nBins.length;
  const bins = new Uint8Array(n * p);
  for (let r = 0; r < n; r++) {
    bins[r] = rng.next() < 0.85 ? 0 : 1;
    bins[n + r] = rng.next() < 0.1 ? MISSING_BIN : rng.int(12);
    bins[2 * n + r] = rng.int(255);
    bins[3 * n + r] = rng.int(6);
    bins[4 * n + r] = rng.next() < 0.7 ? 1 : 0;
    bins[5 * n + r] = rng.next() < 0.05 ? MISSING_BIN : rng.int(200);
    bins[6 * n + r] = rng.next() < 0.9 ? 0 : 1;
    bins[7 * n + r] = Math.min(39, Math.floor(-8 * Math.log(1 - rng.next())));
  }
  const off = histOffsets(nBins);
  const sparse = sparseRows(bins, n, nBins, off);
  const hasMissing = Uint8Array.from(nBins, (_, f) => +(f === 1 || f === 5));
  // feature 3 categorical (codes 0..5)
  const categorical = Uint8Array.from(nBins, (_, f) => +(f === 3));
  return { rng, n, p, nBins, bins, off, sparse, hasMissing, categorical };
}

/**
 * The split rules of these tests: 20 rows and scikit-learn's 1e-3 of hessian a child at least (also
 * under the name a min_child_weight parameter gives it; unknown names are ignored).
 */
function splitRules(l2: number) {
  return { minSamplesLeaf: 20, minChildWeight: 1e-3, l2 };
}

/** The fit's gradients (a binary fit's: hessians in (0, 0.25]) into the kernel memory. */
function fillGradients(wasm: WasmFitKernels, rng: Rng, n: number): void {
  for (let i = 0; i < n; i++) {
    const p = rng.next();
    const y = +(rng.next() < p * 0.8 + 0.1);
    wasm.g[i] = p - y;
    wasm.h[i] = Math.max(1e-3, p * (1 - p));
  }
}

describe("a split node's children on two threads", () => {
  it("the one-thread path's histograms and splits, bit for bit", async () => {
    const d = binnedInput(3 * HIST_PARALLEL_MIN_ROWS, 21);
    const { rng, n, p, off, nBins, hasMissing, categorical } = d;
    const wasm = wasmFitKernels(d.sparse, d.bins, n, 1, off[p]!, 4, 0, d.off)!;
    expect(wasm).not.toBeNull();
    fillGradients(wasm, rng, n);
    const base = { bins: d.bins, nRows: n, nBins, off, rows: d.sparse, g: wasm.g, h: wasm.h };
    const search: NodeSearch = {
      off,
      nBins,
      hasMissing,
      common: d.sparse.common,
      categorical,
      ...splitRules(0.5),
    };
    const [parentSlot, smallSlot, largeSlot] = wasm.slots;
    // a parent of 60% of the rows (shuffled), its smaller child the first `m` of them
    const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.6);
    rng.shuffle(picked);
    const start = 3;
    wasm.rows.set(picked, start);
    const jsRows = wasm.rows.slice();
    const parent = new Float64Array(off[p]!);
    buildHistogram(base, jsRows, start, start + picked.length, parent, histScratch(n));
    const before = nodeHandOffCount();
    for (const m of [NODE_STEP_MIN_ROWS, 5000, 20000]) {
      const end = start + m;
      const small = new Float64Array(off[p]!);
      const sums = buildHistogram(base, jsRows, start, end, small, histScratch(n));
      const large = parent.slice();
      for (let q = 0; q < large.length; q++) large[q]! -= small[q]!;
      const mask = Uint8Array.from(nBins, (_, f) => +(f !== 2));
      const kids: ChildSearch[] = [
        { n: m, G: sums.G, H: sums.H, value: nodeValue(sums.G, sums.H, 0.5), allowed: null },
        { n: picked.length - m, G: 1.5, H: 900, value: nodeValue(1.5, 900, 0.5), allowed: mask },
      ];
      const want = [small, large].map((hist, i) =>
        findBestSplit(
          hist,
          off,
          nBins,
          hasMissing,
          kids[i]!.n,
          kids[i]!.G,
          kids[i]!.H,
          kids[i]!.value,
          search,
          kids[i]!.allowed,
          categorical,
        ),
      );
      expect(want[0]).not.toBeNull();
      expect(want[1]).not.toBeNull();
      // a helper descheduled by other work is late: asked again until it has done its half once
      let got: ReturnType<WasmFitKernels["children"]> = "late";
      for (let attempt = 0; attempt < 5 && (got === "late" || got === null); attempt++) {
        expect(await waitForHelper()).toBe(true);
        parentSlot!.set(parent);
        smallSlot!.fill(7);
        largeSlot!.fill(7);
        got = wasm.children(wasm.g, wasm.h, start, end, parentSlot!, smallSlot!, largeSlot!, search, kids);
      }
      expect(got).not.toBe("late");
      expect(got).not.toBeNull();
      expect(Array.from(smallSlot!)).toEqual(Array.from(small));
      expect(Array.from(largeSlot!)).toEqual(Array.from(large));
      // the parent is only read
      expect(Array.from(parentSlot!)).toEqual(Array.from(parent));
      expect(got).toEqual(want);
      // a child not searched gets no split
      expect(await waitForHelper()).toBe(true);
      const one = wasm.children(wasm.g, wasm.h, start, end, parentSlot!, smallSlot!, largeSlot!, search, [
        kids[0]!,
        null,
      ]);
      if (one !== "late" && one !== null) expect(one).toEqual([want[0], null]);
    }
    expect(nodeHandOffCount()).toBeGreaterThan(before);
  });

  it("a node below NODE_STEP_MIN_ROWS rows, or with the helper off, is left to the one-thread path", async () => {
    const d = binnedInput(HIST_PARALLEL_MIN_ROWS, 22);
    const wasm = wasmFitKernels(d.sparse, d.bins, d.n, 1, d.off[d.p]!, 4, 0, d.off)!;
    const search: NodeSearch = {
      off: d.off,
      nBins: d.nBins,
      hasMissing: d.hasMissing,
      common: d.sparse.common,
      categorical: null,
      ...splitRules(0),
    };
    const [a, b, c] = wasm.slots;
    const kid: ChildSearch = { n: 10, G: 0, H: 1, value: 0, allowed: null };
    expect(await waitForHelper()).toBe(true);
    b!.fill(7);
    expect(
      wasm.children(wasm.g, wasm.h, 0, NODE_STEP_MIN_ROWS - 1, a!, b!, c!, search, [kid, kid]),
    ).toBeNull();
    disableHistogramHelper(true);
    try {
      expect(wasm.children(wasm.g, wasm.h, 0, 4000, a!, b!, c!, search, [kid, kid])).toBeNull();
    } finally {
      disableHistogramHelper(false);
    }
    // nothing written
    expect(b!.every((v) => v === 7)).toBe(true);
    // histograms outside the memory cannot be shared
    expect(
      wasm.children(wasm.g, wasm.h, 0, 4000, new Float64Array(a!.length), b!, c!, search, [kid, kid]),
    ).toBeNull();
  });

  it("a tree is the same when every node's helper share is late (built again on this thread)", async () => {
    const d = binnedInput(2 * HIST_PARALLEL_MIN_ROWS + 77, 23);
    const { n, p, off, nBins } = d;
    const wasm = wasmFitKernels(d.sparse, d.bins, n, 1, off[p]!, 40, 0, d.off)!;
    fillGradients(wasm, d.rng, n);
    const inp: GrowInput = {
      bins: d.bins,
      rows: d.sparse,
      wasm,
      nRows: n,
      nBins,
      off,
      g: wasm.g,
      h: wasm.h,
      hasMissing: d.hasMissing,
      thresholds: Array.from(nBins, (nb) => Float64Array.from({ length: nb - 1 }, (_, b) => b + 0.5)),
      categories: Array.from(nBins, () => null),
      categorical: null,
    };
    const params = {
      maxLeafNodes: 31,
      maxDepth: Number.POSITIVE_INFINITY,
      ...splitRules(0),
      learningRate: 0.1,
      maxFeatures: 0.6,
    };
    const grow = (kernels: WasmFitKernels) => {
      wasm.rows.set(Uint32Array.from({ length: n }, (_, i) => i));
      const pool = new HistPool(off[p]!, wasm.slots, () => !kernels.helperBusy());
      const leaf = new Int32Array(n);
      const tree = growTree(
        { ...inp, wasm: kernels },
        wasm.rows,
        params,
        new Rng(5),
        growScratch(n, p, histScratch(n), pool),
        leaf,
      );
      return { tree, leaf };
    };
    disableHistogramHelper(true);
    const alone = (() => {
      try {
        return grow(wasm);
      } finally {
        disableHistogramHelper(false);
      }
    })();
    // every node step "late": the helper's histograms scribbled over, as a late helper might
    let late = 0;
    const lateKernels: WasmFitKernels = {
      ...wasm,
      children(g, h, start, end, parent, small, large, search, kids) {
        const r = wasm.children(g, h, start, end, parent, small, large, search, kids);
        if (r === null) return null;
        late++;
        small.fill(Number.NaN);
        large.fill(Number.NaN);
        return "late";
      },
    };
    // (a helper descheduled by other work, late for the root's build, leaves every node to this
    // thread: grown again until a node step was handed off, every tree compared)
    for (let attempt = 0; attempt < 5 && late === 0; attempt++) {
      expect(await waitForHelper()).toBe(true);
      const redone = grow(lateKernels);
      expect(redone.tree).toEqual(alone.tree);
      expect(Array.from(redone.leaf)).toEqual(Array.from(alone.leaf));
    }
    expect(late).toBeGreaterThan(0);
  });
});

describe("fits with split nodes on two threads", () => {
  it("three classes, a native categorical feature, feature subsampling, min_child_weight: the same trees", async () => {
    const rng = new Rng(24);
    const n = 2 * HIST_PARALLEL_MIN_ROWS + 301;
    const p = 9;
    const X = allocMatrix(n, p);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let z = 0;
      for (let f = 0; f < p; f++) {
        // flags, counts, continuous values with a few missing, a category code (the last feature: the
        // helper's range)
        const v =
          f === p - 1
            ? rng.int(7)
            : f % 3 === 0
              ? +(rng.next() < 0.2)
              : f % 3 === 1
                ? rng.int(30)
                : rng.next() < 0.03
                  ? Number.NaN
                  : rng.normal();
        X.data[f * n + r] = v;
        if (!Number.isNaN(v)) z += (f === p - 1 ? (v % 3) - 1 : f % 4 === 0 ? 1 : -0.2) * v;
      }
      const t = z + rng.normal();
      y[r] = t < -0.5 ? 0 : t < 0.8 ? 1 : 2;
    }
    // min_child_weight binds on nodes of less than about 200 rows (softmax hessians p(1 − p) ≈ 0.2): the
    // helper's split search must apply it as this thread's does
    const fitModel = async (one: boolean, minChildWeight = 40) => {
      disableHistogramHelper(one);
      try {
        const m = new HistGradientBoostingClassifier({
          maxIter: 3,
          earlyStopping: false,
          randomState: 3,
          maxFeatures: 0.7,
          categoricalFeatures: [p - 1],
          minChildWeight,
        });
        await m.fit(X, y, 3);
        return m;
      } finally {
        disableHistogramHelper(false);
      }
    };
    const alone = await fitModel(true);
    expect((await fitModel(true, 1e-3)).trees).not.toEqual(alone.trees);
    const before = nodeHandOffCount();
    // a helper descheduled by other work leaves nodes to this thread: fit again until it took some
    for (let attempt = 0; attempt < 5 && nodeHandOffCount() === before; attempt++) {
      expect(await waitForHelper()).toBe(true);
      const split = await fitModel(false);
      expect(split.trees).toEqual(alone.trees);
    }
    expect(nodeHandOffCount()).toBeGreaterThan(before);
    expect(alone.trees.some((t) => t.categorical !== undefined)).toBe(true);
  });
});

describe("the histogram pool", () => {
  it("hands out a held histogram only once the other thread is idle", () => {
    let idle = false;
    const pool = new HistPool(4, [], () => idle);
    const a = pool.acquire();
    const b = pool.acquire();
    pool.hold(a);
    pool.release(b);
    expect(pool.acquire()).toBe(b);
    const c = pool.acquire();
    expect(c).not.toBe(a);
    idle = true;
    expect(pool.acquire()).toBe(a);
  });
});
