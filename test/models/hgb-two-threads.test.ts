/**
 * hist_gradient_boosting's histograms on two threads: a node of many rows has the slots from a split
 * point on built by the helper thread. Every slot still adds its rows in node order on one thread, so
 * the histograms, and the fitted trees, are the same to the bit as on one thread (the golden tests
 * against scikit-learn run on whichever the machine gives).
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { buildHistogram, histOffsets, histScratch, sparseRows } from "../../src/models/hgb/histogram.ts";
import {
  disableHistogramHelper,
  HIST_PARALLEL_MIN_ROWS,
  histogramHandOffs,
  SPLIT_TRIAL,
  splitPays,
  wasmFitKernels,
} from "../../src/models/hgb/wasm-kernels.ts";
import { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { MISSING_BIN } from "../../src/models/tree/binning.ts";
import { waitForHelper } from "../helpers/helper-thread.ts";

afterAll(() => closePool());

describe("hgb histograms split with the helper thread", () => {
  it("a large node: the JS loop's sums bit for bit, the helper's share included", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(8);
    const n = 3 * HIST_PARALLEL_MIN_ROWS;
    const nBins = Uint16Array.of(2, 12, 255, 3, 2, 200);
    const p = nBins.length;
    const bins = new Uint8Array(n * p);
    for (let r = 0; r < n; r++) {
      bins[r] = rng.next() < 0.85 ? 0 : 1;
      bins[n + r] = rng.next() < 0.1 ? MISSING_BIN : rng.int(12);
      bins[2 * n + r] = rng.int(255);
      bins[3 * n + r] = rng.int(3);
      bins[4 * n + r] = rng.next() < 0.7 ? 1 : 0;
      bins[5 * n + r] = rng.next() < 0.05 ? MISSING_BIN : rng.int(200);
    }
    const off = histOffsets(nBins);
    const sparse = sparseRows(bins, n, nBins, off);
    const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 1)!;
    expect(wasm).not.toBeNull();
    for (let i = 0; i < n; i++) {
      wasm.g[i] = rng.normal();
      wasm.h[i] = rng.next();
    }
    const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.8);
    rng.shuffle(picked);
    expect(picked.length).toBeGreaterThanOrEqual(HIST_PARALLEL_MIN_ROWS);
    wasm.rows.set(picked, 5);
    const end = 5 + picked.length;
    const jsRows = wasm.rows.slice();
    const base = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
    const want = new Float64Array(off[p]!);
    const b = buildHistogram(base, jsRows, 5, end, want, histScratch(n));
    // into a slot of the kernel's memory, and outside it (built in its scratch, copied out); a helper
    // descheduled by other work leaves its share to this thread: built again until it has done one
    for (const inMemory of [true, false]) {
      const before = histogramHandOffs();
      for (let attempt = 0; attempt < 5 && histogramHandOffs() === before; attempt++) {
        expect(await waitForHelper()).toBe(true);
        const got = inMemory ? wasm.slots[0]!.fill(7) : new Float64Array(off[p]!).fill(7);
        expect(buildHistogram(base, wasm.rows, 5, end, got, histScratch(n))).toEqual(b);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
      expect(histogramHandOffs()).toBe(before + 1);
    }
  });

  it("a fit grows the same trees with and without the helper", async () => {
    expect(await waitForHelper()).toBe(true);
    const rng = new Rng(12);
    const n = 2 * HIST_PARALLEL_MIN_ROWS + 123;
    const p = 12;
    const X = allocMatrix(n, p);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let z = 0;
      for (let f = 0; f < p; f++) {
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
        const m = new HistGradientBoostingClassifier({ maxIter: 8, earlyStopping: false, randomState: 0 });
        await m.fit(X, y, 2);
        return m;
      } finally {
        disableHistogramHelper(false);
      }
    };
    const alone = await fitModel(true);
    // a helper descheduled by other work on the machine leaves a build to this thread (the same
    // sums): fit again until the helper has built a share at least once (every fit compared)
    const before = histogramHandOffs();
    for (let attempt = 0; attempt < 5 && histogramHandOffs() === before; attempt++) {
      expect(await waitForHelper()).toBe(true);
      const split = await fitModel(false);
      expect(split.trees.length).toBe(alone.trees.length);
      split.trees.forEach((t, i) => {
        const u = alone.trees[i]!;
        expect(Array.from(t.feature)).toEqual(Array.from(u.feature));
        expect(Array.from(t.threshold)).toEqual(Array.from(u.threshold));
        expect(Array.from(t.value)).toEqual(Array.from(u.value));
        expect(Array.from(t.missingLeft)).toEqual(Array.from(u.missingLeft));
      });
    }
    expect(histogramHandOffs()).toBeGreaterThan(before);
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
