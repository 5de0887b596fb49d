/**
 * hist_gradient_boosting's histograms on two threads: a node of many rows has the slots from a split
 * point on built by the helper thread. Every slot still adds its rows in node order on one thread, so
 * the histograms, and the fitted trees, are the same to the bit as on one thread (the golden tests
 * against scikit-learn run on whichever the machine gives).
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { helperHandOffs, runWithHelper } from "../../src/core/helper.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { task } from "../../src/core/tasks.ts";
import {
  BOOST_ROWS_PARALLEL_MIN,
  binaryStep,
  boostRows,
  boostRowsHandOffs,
  boostRowsState,
} from "../../src/models/hgb/boost-rows.ts";
import {
  buildHistogram,
  buildHistogramBeside,
  histOffsets,
  histScratch,
  sparseRows,
} from "../../src/models/hgb/histogram.ts";
import { gradients } from "../../src/models/hgb/loss.ts";
import {
  disableHistogramHelper,
  HIST_PARALLEL_MIN_ROWS,
  HIST_PARALLEL_NODE_MIN_ROWS,
  histogramHandOffs,
  partitionHandOffs,
  pipelinedBuilds,
  SPLIT_TRIAL,
  splitPays,
  wasmFitKernels,
} from "../../src/models/hgb/wasm-kernels.ts";
import { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { MISSING_BIN } from "../../src/models/tree/binning.ts";
import { slowToRead, waitForHelper, wakeHelper } from "../helpers/helper-thread.ts";

afterAll(() => closePool());

/** Each column's bin count: a flag, missing values, many bins, 3, a flag, missing values. */
const NUM_BINS = [2, 12, 255, 3, 2, 200];
/** NUM_BINS' first `p` columns of n rows (binned, column-major), drawn row by row from `rng`. */
function randomBins(rng: Rng, n: number, p: 4 | 6): { nBins: Uint16Array; p: number; bins: Uint8Array } {
  const bins = new Uint8Array(n * p);
  for (let r = 0; r < n; r++) {
    bins[r] = rng.next() < 0.85 ? 0 : 1;
    bins[n + r] = rng.next() < 0.1 ? MISSING_BIN : rng.int(12);
    bins[2 * n + r] = rng.int(255);
    bins[3 * n + r] = rng.int(3);
    if (p === 4) continue;
    bins[4 * n + r] = rng.next() < 0.7 ? 1 : 0;
    bins[5 * n + r] = rng.next() < 0.05 ? MISSING_BIN : rng.int(200);
  }
  return { nBins: Uint16Array.from(NUM_BINS.slice(0, p)), p, bins };
}

describe("hgb histograms split with the helper thread", () => {
  /**
   * A node of `share` of a fit's n rows (shuffled), its histogram built by the kernel (into a slot of
   * its memory and outside it) against the JS loop's; returns the helper's hand-offs it took.
   */
  const buildNode = async (n: number, share: number, seed: number): Promise<number> => {
    const rng = new Rng(seed);
    const { nBins, p, bins } = randomBins(rng, n, 6);
    const off = histOffsets(nBins);
    const sparse = sparseRows(bins, n, nBins, off);
    const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 1)!;
    expect(wasm).not.toBeNull();
    for (let i = 0; i < n; i++) {
      wasm.g[i] = rng.normal();
      wasm.h[i] = rng.next();
    }
    const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < share);
    rng.shuffle(picked);
    wasm.rows.set(picked, 5);
    const end = 5 + picked.length;
    const jsRows = wasm.rows.slice();
    const base = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
    const want = new Float64Array(off[p]!);
    const b = buildHistogram(base, jsRows, 5, end, want, histScratch(n));
    // into a slot of the kernel's memory, and outside it (built in its scratch, copied out); a helper
    // descheduled by other work leaves its share to this thread: built again until it has done one
    const before = histogramHandOffs();
    for (const inMemory of [true, false]) {
      const was = histogramHandOffs();
      for (let attempt = 0; attempt < 20 && (attempt === 0 || histogramHandOffs() === was); attempt++) {
        expect(await wakeHelper()).toBe(true);
        const got = inMemory ? wasm.slots[0]!.fill(7) : new Float64Array(off[p]!).fill(7);
        expect(buildHistogram(base, wasm.rows, 5, end, got, histScratch(n))).toEqual(b);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    }
    return histogramHandOffs() - before;
  };

  it("a node built beside this thread's work: the JS loop's sums bit for bit, shared or all here when the helper has not claimed it", async () => {
    const rng = new Rng(15);
    const n = 3 * HIST_PARALLEL_MIN_ROWS;
    const { nBins, p, bins } = randomBins(rng, n, 6);
    const off = histOffsets(nBins);
    const sparse = sparseRows(bins, n, nBins, off);
    const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 2)!;
    for (let i = 0; i < n; i++) {
      wasm.g[i] = rng.normal();
      wasm.h[i] = rng.next();
    }
    // a node of about 5,000 rows (NSL-KDD's pipelined children: 5,000 on average), shuffled
    const node = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.1);
    rng.shuffle(node);
    wasm.rows.set(node, 3);
    const end = 3 + node.length;
    const base = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
    const want = new Float64Array(off[p]!);
    const b = buildHistogram(base, wasm.rows.slice(), 3, end, want, histScratch(n));
    const counts = () => helperHandOffs().get("hgb.histWhole") ?? { helper: 0, caller: 0, late: 0 };
    // (a helper still busy with the kernel memory's first task is late: the histogram is its, skipped)
    const beside = (): boolean => {
      let mine = 0;
      const got = wasm.slots[1]!.fill(7);
      const sums = buildHistogramBeside(base, wasm.rows, 3, end, got, () => mine++);
      expect(mine).toBe(1);
      if (sums === "late") return false;
      expect(sums).toEqual(b);
      expect(Array.from(got)).toEqual(Array.from(want));
      return true;
    };
    // the helper awake: its slots and this thread's (again until the helper has done one)
    const before = pipelinedBuilds();
    for (let attempt = 0; attempt < 20 && pipelinedBuilds() === before; attempt++) {
      expect(await wakeHelper()).toBe(true);
      beside();
    }
    expect(pipelinedBuilds()).toBeGreaterThan(before);
    // the helper reading a slow message (its task taken back): it cannot claim, this thread builds all
    expect(await waitForHelper()).toBe(true);
    const notClaimed = counts().caller;
    const out = new Int32Array(new SharedArrayBuffer(4));
    expect(runWithHelper(task("core.keptCount", { out }), () => {}, slowToRead())).toBe(false);
    expect(beside()).toBe(true);
    expect(counts().caller).toBe(notClaimed + 1);
    expect(await waitForHelper()).toBe(true);
  });

  it("a large node: the JS loop's sums bit for bit, the helper's share included", async () => {
    // 80% of 3 · 16,384 rows
    expect(await buildNode(3 * HIST_PARALLEL_MIN_ROWS, 0.8, 8)).toBe(2);
  });

  it("a root built again (counts from the fit's first root): the JS loop's sums bit for bit", async () => {
    // every row of a fit in a shuffled order, new gradients each tree, on one thread and with the
    // helper (its share of the counts copied in too)
    const rng = new Rng(12);
    const n = 2 * HIST_PARALLEL_MIN_ROWS;
    const { nBins, p, bins } = randomBins(rng, n, 4);
    const off = histOffsets(nBins);
    const sparse = sparseRows(bins, n, nBins, off);
    const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 1)!;
    const base = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
    const before = histogramHandOffs();
    try {
      // (again, with the helper, until it has built a share: one descheduled by other work on the
      // machine does not claim its share, and this thread builds it)
      for (let round = 0; round < 4 || (round < 24 && histogramHandOffs() === before); round++) {
        const helperOff = round % 2 === 1;
        disableHistogramHelper(helperOff);
        for (let i = 0; i < n; i++) {
          wasm.g[i] = rng.normal();
          wasm.h[i] = rng.next();
        }
        const all = Uint32Array.from({ length: n }, (_, i) => i);
        rng.shuffle(all);
        wasm.rows.set(all);
        const want = new Float64Array(off[p]!);
        const b = buildHistogram(base, all, 0, n, want, histScratch(n));
        if (!helperOff) expect(await wakeHelper()).toBe(true);
        const got = wasm.slots[0]!.fill(7);
        expect(buildHistogram(base, wasm.rows, 0, n, got, histScratch(n))).toEqual(b);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    } finally {
      disableHistogramHelper(false);
    }
    expect(histogramHandOffs() - before).toBeGreaterThan(0);
  });

  it("a mid-size node of a large fit is split too; no node of a small fit is", async () => {
    // about 10,000 rows (HIST_PARALLEL_NODE_MIN_ROWS to HIST_PARALLEL_MIN_ROWS) of 49,152
    const n = 3 * HIST_PARALLEL_MIN_ROWS;
    const share = (HIST_PARALLEL_NODE_MIN_ROWS + HIST_PARALLEL_MIN_ROWS) / 2 / n;
    expect(share * n).toBeLessThan(HIST_PARALLEL_MIN_ROWS - 1000);
    expect(share * n).toBeGreaterThan(HIST_PARALLEL_NODE_MIN_ROWS + 1000);
    expect(await buildNode(n, share, 9)).toBe(2);
    // a fit of fewer rows than HIST_PARALLEL_MIN_ROWS: its root too on one thread
    expect(await buildNode(HIST_PARALLEL_MIN_ROWS - 1, 0.99, 10)).toBe(0);
  });

  it("a fit grows the same trees with and without the helper", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(12);
    const n = 2 * HIST_PARALLEL_MIN_ROWS + 123;
    // the last column categorical (codes 0..6): category-set splits in the pipeline too
    const p = 13;
    const X = allocMatrix(n, p);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let z = 0;
      const code = rng.int(7);
      X.data[12 * n + r] = code;
      z += [0.8, -0.6, 0.3, -1, 0.5, 0, -0.2][code]!;
      for (let f = 0; f < 12; f++) {
        // one-hot-like flags, counts, and continuous values with a few missing
        const v =
          f % 3 === 0
            ? +(rng.next() < 0.2)
            : f % 3 === 1
              ? rng.int(9)
              : rng.next() < 0.03
                ? Number.NaN
                : rng.normal();
        X.data[f * n + r] = v;
        if (!Number.isNaN(v)) z += (f % 4 === 0 ? 1 : -0.5) * v;
      }
      y[r] = +(z + rng.normal() > 0);
    }
    const fitModel = async (one: boolean) => {
      disableHistogramHelper(one);
      try {
        const m = new HistGradientBoostingClassifier({
          maxIter: 8,
          earlyStopping: false,
          randomState: 0,
          categoricalFeatures: [12],
        });
        await m.fit(X, y, 2);
        return m;
      } finally {
        disableHistogramHelper(false);
      }
    };
    const alone = await fitModel(true);
    expect(alone.trees.some((t) => t.categorical)).toBe(true);
    // a helper descheduled by other work on the machine leaves a build to this thread (the same
    // sums): fit again until the helper has built a share at least once (every fit compared)
    const before = histogramHandOffs();
    const stepsBefore = boostRowsHandOffs();
    const pipelinedBefore = pipelinedBuilds();
    for (
      let attempt = 0;
      attempt < 10 &&
      (histogramHandOffs() === before ||
        boostRowsHandOffs() === stepsBefore ||
        pipelinedBuilds() === pipelinedBefore);
      attempt++
    ) {
      expect(await wakeHelper()).toBe(true);
      const split = await fitModel(false);
      expect(split.trees.length).toBe(alone.trees.length);
      split.trees.forEach((t, i) => {
        const u = alone.trees[i]!;
        expect(Array.from(t.feature)).toEqual(Array.from(u.feature));
        expect(Array.from(t.threshold)).toEqual(Array.from(u.threshold));
        expect(Array.from(t.value)).toEqual(Array.from(u.value));
        expect(Array.from(t.missingLeft)).toEqual(Array.from(u.missingLeft));
        expect(Array.from(t.left)).toEqual(Array.from(u.left));
        expect(Array.from(t.weight)).toEqual(Array.from(u.weight));
        expect(t.categorical && Array.from(t.categorical.bits)).toEqual(
          u.categorical && Array.from(u.categorical.bits),
        );
      });
    }
    expect(histogramHandOffs()).toBeGreaterThan(before);
    // the grower's pipeline: smaller children's histograms built whole by the helper while this
    // thread partitioned a candidate ahead of its split
    expect(pipelinedBuilds()).toBeGreaterThan(pipelinedBefore);
    // the steps between trees (raw scores and gradients) had their upper rows done by the helper
    expect(boostRowsHandOffs()).toBeGreaterThan(stepsBefore);
  });
});

describe("the step between two trees of a binary fit", () => {
  it("moves each row by its leaf's value and gives loss.ts's gradients, in two halves", () => {
    const rng = new Rng(5);
    const n = 1001;
    const y = Int32Array.from({ length: n }, () => +(rng.next() < 0.4));
    const w = Float64Array.from({ length: n }, () => 0.5 + rng.next());
    const values = Float64Array.of(0.3, -0.25, 0.125, 1e-3);
    const leaf = Int32Array.from({ length: n }, () => rng.int(values.length));
    const F0 = Float64Array.from({ length: n }, () => 3 * rng.normal());
    // the reference: the raw scores moved by hand, then loss.ts's gradients over every row
    const want = F0.map((f, i) => f + values[leaf[i]!]!);
    const gWant = new Float32Array(n);
    const hWant = new Float32Array(n);
    gradients(want, y, w, 1, gWant, hWant, new Float64Array(1));
    // the lower half in place, the upper into outputs of its own (the helper's way)
    const mid = 400;
    const F = F0.slice();
    const g = new Float32Array(n).fill(9);
    const h = new Float32Array(n).fill(9);
    const Fo = new Float64Array(n - mid);
    const go = new Float32Array(n - mid);
    const ho = new Float32Array(n - mid);
    binaryStep(F, leaf, values, y, w, true, 0, mid, F, g, h, 0);
    binaryStep(F, leaf, values, y, w, true, mid, n, Fo, go, ho, mid);
    expect(Array.from(F.subarray(0, mid))).toEqual(Array.from(want.subarray(0, mid)));
    expect(Array.from(F.subarray(mid))).toEqual(Array.from(F0.subarray(mid)));
    expect(Array.from(Fo)).toEqual(Array.from(want.subarray(mid)));
    expect(Array.from(g.subarray(0, mid))).toEqual(Array.from(gWant.subarray(0, mid)));
    expect(Array.from(go)).toEqual(Array.from(gWant.subarray(mid)));
    expect(Array.from(h.subarray(0, mid))).toEqual(Array.from(hWant.subarray(0, mid)));
    expect(Array.from(ho)).toEqual(Array.from(hWant.subarray(mid)));
    // without a tree (the first iteration): gradients only, F untouched
    const g0 = new Float32Array(n);
    const h0 = new Float32Array(n);
    const gRef = new Float32Array(n);
    const hRef = new Float32Array(n);
    gradients(F0, y, w, 1, gRef, hRef, new Float64Array(1));
    const F1 = F0.slice();
    binaryStep(F1, leaf, null, y, w, true, 0, n, F1, g0, h0, 0);
    expect(Array.from(F1)).toEqual(Array.from(F0));
    expect(Array.from(g0)).toEqual(Array.from(gRef));
    expect(Array.from(h0)).toEqual(Array.from(hRef));
  });

  it("a step over many rows with the helper: the same arrays as on one thread", async () => {
    const rng = new Rng(6);
    const n = 3 * BOOST_ROWS_PARALLEL_MIN + 7;
    const y = Int32Array.from({ length: n }, () => +(rng.next() < 0.5));
    const w = Float64Array.from({ length: n }, () => 1);
    const values = Float64Array.of(0.2, -0.4, 0.05);
    const alone = boostRowsState(y, w);
    const split = boostRowsState(y, w);
    for (let i = 0; i < n; i++) {
      alone.F[i] = split.F[i] = rng.normal();
      alone.leaf[i] = split.leaf[i] = rng.int(values.length);
    }
    const [g1, h1, g2, h2] = [0, 0, 0, 0].map(() => new Float32Array(n));
    boostRows(alone, values, true, g1!, h1!, false);
    const before = boostRowsHandOffs();
    // a helper descheduled by other work leaves its half to this thread: step again until it has
    // done one (each step compared; the raw scores move each time)
    for (let attempt = 0; attempt < 10 && boostRowsHandOffs() === before; attempt++) {
      expect(await wakeHelper()).toBe(true);
      if (attempt > 0) boostRows(alone, values, true, g1!, h1!, false);
      boostRows(split, values, true, g2!, h2!, true);
      expect(Array.from(split.F)).toEqual(Array.from(alone.F));
      expect(Array.from(g2!)).toEqual(Array.from(g1!));
      expect(Array.from(h2!)).toEqual(Array.from(h1!));
    }
    expect(boostRowsHandOffs()).toBe(before + 1);
  });

  it("on the fit's kernel memory (the step kernel on both threads): the JS step's arrays", async () => {
    const rng = new Rng(7);
    const n = 2 * BOOST_ROWS_PARALLEL_MIN + 3;
    const y = Int32Array.from({ length: n }, () => +(rng.next() < 0.5));
    const w = Float64Array.from({ length: n }, () => 0.5 + rng.next());
    const values = Float64Array.of(0.2, -0.4, 0.05, 1.5);
    const nBins = Uint16Array.of(2);
    const bins = new Uint8Array(n);
    const off = histOffsets(nBins);
    const wasm = wasmFitKernels(sparseRows(bins, n, nBins, off), bins, n, 1, off[1]!, 1, values.length);
    const alone = boostRowsState(y, w);
    const split = boostRowsState(y, w, wasm!.boost);
    expect(split.memory).not.toBeNull();
    for (let i = 0; i < n; i++) {
      alone.F[i] = split.F[i] = 4 * rng.normal();
      alone.leaf[i] = split.leaf[i] = rng.int(values.length);
    }
    const g1 = new Float32Array(n);
    const h1 = new Float32Array(n);
    boostRows(alone, values, true, g1, h1, false);
    const before = boostRowsHandOffs();
    for (let attempt = 0; attempt < 10 && boostRowsHandOffs() === before; attempt++) {
      expect(await wakeHelper()).toBe(true);
      if (attempt > 0) boostRows(alone, values, true, g1, h1, false);
      boostRows(split, values, true, wasm!.g, wasm!.h, true);
      expect(Array.from(split.F)).toEqual(Array.from(alone.F));
      expect(Array.from(wasm!.g)).toEqual(Array.from(g1));
      expect(Array.from(wasm!.h)).toEqual(Array.from(h1));
    }
    expect(boostRowsHandOffs()).toBe(before + 1);
  });
});

describe("hgb partitions split with the helper thread", () => {
  it("a large node's rows: left rows in order, then right rows in order, the helper's half included", async () => {
    const rng = new Rng(9);
    const n = 3 * HIST_PARALLEL_MIN_ROWS;
    const nBins = Uint16Array.of(50, 2);
    const bins = new Uint8Array(n * 2);
    for (let r = 0; r < n; r++) {
      bins[r] = rng.next() < 0.15 ? MISSING_BIN : rng.int(50);
      bins[n + r] = rng.int(2);
    }
    const off = histOffsets(nBins);
    const wasm = wasmFitKernels(sparseRows(bins, n, nBins, off), bins, n, 1, off[2]!, 0)!;
    const before = partitionHandOffs();
    // a helper descheduled by other work leaves its half to this thread (the same rows): partition
    // again until the helper has done one half (every partition compared)
    for (let attempt = 0; attempt < 10 && partitionHandOffs() === before; attempt++) {
      for (const [feature, bin, missingLeft] of [
        [0, 20, 1],
        [0, 0, 0],
        [1, 0, 0],
      ] as const) {
        const node = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.8);
        rng.shuffle(node);
        const start = 7;
        wasm.rows.set(node, start);
        const goesLeft = (r: number) => {
          const b = bins[feature * n + r]!;
          return b === MISSING_BIN ? missingLeft === 1 : b <= bin;
        };
        const left = node.filter(goesLeft);
        expect(await wakeHelper()).toBe(true);
        const mid = wasm.partition(start, start + node.length, feature, bin, missingLeft);
        expect(mid - start).toBe(left.length);
        const got = wasm.rows.subarray(start, start + node.length);
        expect(got.subarray(0, left.length).findIndex((r, i) => r !== left[i])).toBe(-1);
        const right = node.filter((r) => !goesLeft(r));
        expect(got.subarray(left.length).findIndex((r, i) => r !== right[i])).toBe(-1);
      }
    }
    expect(partitionHandOffs()).toBeGreaterThan(before);
  });
});

describe("a fit stops splitting when the helper costs more than it saves", () => {
  it("splits its first builds whatever they cost, then only while they have saved time in all", () => {
    expect(splitPays(-50, 0)).toBe(true);
    expect(splitPays(-50, SPLIT_TRIAL - 1)).toBe(true);
    expect(splitPays(-0.001, SPLIT_TRIAL)).toBe(false);
    expect(splitPays(0, SPLIT_TRIAL)).toBe(true);
    expect(splitPays(3.5, 400)).toBe(true);
    expect(splitPays(-3.5, 400)).toBe(false);
  });
});
