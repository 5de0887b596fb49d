/**
 * hist_gradient_boosting's histogram kernel against a direct count: per feature and bin (missing
 * values in the feature's last slot), the rows' summed gradients and hessians and their count. The
 * kernel skips each feature's most common bin and derives it from the node's totals, so those sums are
 * compared to rounding (1e-9 on sums of a few hundred values of size ~1); counts exactly.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { buildHistogram, histOffsets, histScratch, sparseRows } from "../../src/models/hgb/histogram.ts";
import { wasmFitKernels } from "../../src/models/hgb/wasm-kernels.ts";
import { MISSING_BIN } from "../../src/models/tree/binning.ts";

describe("hgb histogram", () => {
  it("equals a direct per-bin sum for any subset of rows, with one-hot, dense and missing columns", () => {
    const rng = new Rng(3);
    const n = 500;
    const nBins = Uint16Array.of(2, 7, 40, 1);
    const p = nBins.length;
    const bins = new Uint8Array(n * p);
    for (let r = 0; r < n; r++) {
      bins[r] = rng.next() < 0.9 ? 0 : 1; // one-hot: mostly 0
      bins[n + r] = rng.next() < 0.2 ? MISSING_BIN : rng.int(7);
      bins[2 * n + r] = rng.int(40);
      bins[3 * n + r] = 0; // constant
    }
    const g = Float32Array.from({ length: n }, () => rng.normal());
    const h = Float32Array.from({ length: n }, () => rng.next());
    const off = histOffsets(nBins);
    const inp = { bins, nRows: n, nBins, off, rows: sparseRows(bins, n, nBins, off), g, h };
    const idx = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.6);
    const out = new Float64Array(off[p]!);
    const sums = buildHistogram(inp, idx, 0, idx.length, out, histScratch(n));
    const want = new Float64Array(off[p]!);
    let G = 0;
    let H = 0;
    for (const r of idx) {
      G += g[r]!;
      H += h[r]!;
      for (let f = 0; f < p; f++) {
        const q = off[f]! + 3 * Math.min(bins[f * n + r]!, nBins[f]!);
        want[q]! += g[r]!;
        want[q + 1]! += h[r]!;
        want[q + 2]!++;
      }
    }
    expect(sums.G).toBe(G);
    expect(sums.H).toBe(H);
    for (let q = 0; q < want.length; q++) {
      if (q % 3 === 2) expect(out[q], `slot ${q}`).toBe(want[q]);
      else expect(Math.abs(out[q]! - want[q]!), `slot ${q}`).toBeLessThan(1e-9);
    }
  });
});

describe("hgb histogram in WebAssembly", () => {
  it("gives the JS loop's sums bit for bit, for any node's rows and either class's gradients", () => {
    const rng = new Rng(5);
    const n = 700;
    const R = 2;
    const nBins = Uint16Array.of(2, 12, 255, 3);
    const p = nBins.length;
    const bins = new Uint8Array(n * p);
    for (let r = 0; r < n; r++) {
      bins[r] = rng.next() < 0.85 ? 0 : 1;
      bins[n + r] = rng.next() < 0.1 ? MISSING_BIN : rng.int(12);
      bins[2 * n + r] = rng.int(255);
      bins[3 * n + r] = rng.next() < 0.5 ? 2 : rng.int(3);
    }
    const off = histOffsets(nBins);
    const sparse = sparseRows(bins, n, nBins, off);
    const wasm = wasmFitKernels(sparse, bins, n, R, off[p]!, 1);
    expect(wasm).not.toBeNull();
    for (let i = 0; i < n * R; i++) {
      wasm!.g[i] = rng.normal();
      wasm!.h[i] = rng.next();
    }
    // a node: some rows in a shuffled order, at an offset inside the rows array (as after partitions)
    const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.5);
    rng.shuffle(picked);
    const start = 17;
    wasm!.rows.set(picked, start);
    const end = start + picked.length;
    const jsRows = wasm!.rows.slice();
    for (let k = 0; k < R; k++) {
      const g = wasm!.g.subarray(k * n, (k + 1) * n);
      const h = wasm!.h.subarray(k * n, (k + 1) * n);
      const base = { bins, nRows: n, nBins, off, rows: sparse, g, h };
      const got = new Float64Array(off[p]!).fill(7);
      const want = new Float64Array(off[p]!).fill(7);
      // into a histogram outside the memory (built in its scratch, copied out) and into a slot
      const a = buildHistogram({ ...base, wasm }, wasm!.rows, start, end, got, histScratch(n));
      const slot = wasm!.slots[0]!.fill(7);
      const c = buildHistogram({ ...base, wasm }, wasm!.rows, start, end, slot, histScratch(n));
      // the same rows outside the kernel's memory: the JS loop
      const b = buildHistogram({ ...base, wasm }, jsRows, start, end, want, histScratch(n));
      expect(a).toEqual(b);
      expect(c).toEqual(b);
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(Array.from(slot)).toEqual(Array.from(want));
    }
  });
});

describe("hgb partition in WebAssembly", () => {
  it("splits a node's rows stably: its left rows in order, then its right rows in order", () => {
    const rng = new Rng(8);
    const n = 400;
    const nBins = Uint16Array.of(50, 2);
    const bins = new Uint8Array(n * 2);
    for (let r = 0; r < n; r++) {
      bins[r] = rng.next() < 0.15 ? MISSING_BIN : rng.int(50);
      bins[n + r] = rng.int(2);
    }
    const off = histOffsets(nBins);
    const wasm = wasmFitKernels(sparseRows(bins, n, nBins, off), bins, n, 1, off[2]!, 0)!;
    for (const [feature, bin, missingLeft] of [
      [0, 20, 0],
      [0, 20, 1],
      [0, 0, 1],
      [1, 0, 0],
    ] as const) {
      const node = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.7);
      rng.shuffle(node);
      const start = 9;
      wasm.rows.set(node, start);
      const goesLeft = (r: number) => {
        const b = bins[feature * n + r]!;
        return b === MISSING_BIN ? missingLeft === 1 : b <= bin;
      };
      const want = [...node.filter(goesLeft), ...node.filter((r) => !goesLeft(r))];
      const mid = wasm.partition(start, start + node.length, feature, bin, missingLeft);
      expect(mid - start).toBe(node.filter(goesLeft).length);
      expect(Array.from(wasm.rows.subarray(start, start + node.length))).toEqual(want);
    }
  });
});
