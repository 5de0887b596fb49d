/**
 * hist_gradient_boosting's histogram kernel against a direct count: per feature and bin (missing
 * values in the feature's last slot), the rows' summed gradients and hessians and their count. The
 * kernel skips each feature's most common bin and derives it from the node's totals, so those sums are
 * compared to rounding (1e-9 on sums of a few hundred values of size ~1); counts exactly.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { assemble } from "../../src/core/wasm.ts";
import { boostRows, boostRowsState } from "../../src/models/hgb/boost-rows.ts";
import {
  buildHistogram,
  byteCounts,
  histOffsets,
  histScratch,
  sparseRows,
  subtractHistogram,
} from "../../src/models/hgb/histogram.ts";
import { gradients } from "../../src/models/hgb/loss.ts";
import { expKernel } from "../../src/models/hgb/step-kernel.ts";
import { fitMemory, wasmFitKernels } from "../../src/models/hgb/wasm-kernels.ts";
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

  it("keeps entries as u16 slot numbers up to 65,536 slots and as i32 offsets beyond: the same sums", () => {
    // 256 features of 255 bins and a missing slot: 65,536 slots, the last one (65,535) used by the
    // last feature's missing values; one feature more: 65,792 slots, past what a u16 numbers
    for (const p of [256, 257]) {
      const rng = new Rng(p);
      const n = 300;
      const nBins = new Uint16Array(p).fill(255);
      const bins = new Uint8Array(n * p);
      for (let f = 0; f < p; f++)
        for (let r = 0; r < n; r++) {
          const u = rng.next();
          // (the last feature mostly bin 0, its most common slot, and often missing)
          bins[f * n + r] = u < 0.05 ? MISSING_BIN : f === p - 1 && u < 0.7 ? 0 : rng.int(255);
        }
      const off = histOffsets(nBins);
      expect(off[p]! / 3).toBe(256 * p);
      const sparse = sparseRows(bins, n, nBins, off);
      const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 1)!;
      for (let i = 0; i < n; i++) {
        wasm.g[i] = rng.normal();
        wasm.h[i] = rng.next();
      }
      const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.7);
      rng.shuffle(picked);
      wasm.rows.set(picked, 3);
      const end = 3 + picked.length;
      const jsRows = wasm.rows.slice();
      const base = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
      const want = new Float64Array(off[p]!).fill(7);
      const b = buildHistogram(base, jsRows, 3, end, want, histScratch(n));
      // the last feature's missing slot holds rows (not its most common slot, derived from the totals)
      expect(want[off[p]! - 1]).toBeGreaterThan(0);
      expect(sparse.common[p - 1]).not.toBe(off[p]! - 3);
      const slot = wasm.slots[0]!.fill(7);
      expect(buildHistogram(base, wasm.rows, 3, end, slot, histScratch(n))).toEqual(b);
      expect(Array.from(slot)).toEqual(Array.from(want));
    }
  });

  it("subtracts a child's histogram from its parent's as the JS loop, an odd length included", () => {
    const rng = new Rng(6);
    const n = 300;
    // (3 + 13 + 255 + 4) slots of 3: 825 doubles, the last one past the pairs
    const nBins = Uint16Array.of(2, 12, 254, 3);
    const p = nBins.length;
    const bins = new Uint8Array(n * p);
    for (let i = 0; i < bins.length; i++) bins[i] = rng.int(3);
    const off = histOffsets(nBins);
    expect(off[p]! % 2).toBe(1);
    const wasm = wasmFitKernels(sparseRows(bins, n, nBins, off), bins, n, 1, off[p]!, 2)!;
    const [parent, child] = wasm.slots as [Float64Array, Float64Array];
    for (let q = 0; q < off[p]!; q++) {
      parent[q] = rng.normal() * 1e3;
      child[q] = rng.normal();
    }
    const want = parent.slice();
    subtractHistogram(want, child, off[p]!);
    expect(wasm.subtract(parent, child, off[p]!)).toBe(true);
    expect(Array.from(parent)).toEqual(Array.from(want));
    // a histogram outside the memory: left to the JS loop
    expect(wasm.subtract(new Float64Array(off[p]!), child, off[p]!)).toBe(false);
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
    const sparse = sparseRows(bins, n, nBins, off);
    // the bins copied into the kernels' memory, and binned into it (fitMemory: grown, not copied)
    const made = fitMemory(n, 2, 1, 0, 0)!;
    made.bins.set(bins);
    const copied = wasmFitKernels(sparse, bins, n, 1, off[2]!, 0)!;
    const inPlace = wasmFitKernels(sparse, made.bins, n, 1, off[2]!, 0, 0, made)!;
    expect(inPlace.rows.buffer).toBe(made.memory.buffer);
    expect(copied.rows.buffer).not.toBe(made.memory.buffer);
    // (memory made for other bins: copied)
    const other = fitMemory(n, 2, 1, 0, 0)!;
    expect(wasmFitKernels(sparse, bins, n, 1, off[2]!, 0, 0, other)!.rows.buffer).not.toBe(
      other.memory.buffer,
    );
    // (and memory too small for the regions asked for, a histogram past its most: copied, the bins
    // read from the copy)
    const small = fitMemory(n, 2, 1, 0, 0)!;
    small.bins.set(bins);
    const outgrown = wasmFitKernels(sparse, small.bins, n, 1, 3 * 100_000, 0, 0, small)!;
    expect(outgrown.rows.buffer).not.toBe(small.memory.buffer);
    const cases: [number, number, number][] = [
      [0, 20, 0],
      [0, 20, 1],
      [0, 0, 1],
      [1, 0, 0],
      [0, 30, 0],
    ];
    for (const [c, [feature, bin, missingLeft]] of cases.entries()) {
      const wasm = c === 4 ? outgrown : c % 2 ? inPlace : copied;
      const picked = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rng.next() < 0.7);
      // odd and even counts by turns (the kernel takes two rows a turn, then the last one)
      const node = picked.subarray(0, picked.length - ((picked.length + c) % 2));
      expect(node.length % 2).toBe(c % 2);
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

describe("hgb step between trees in WebAssembly", () => {
  it("moves the raw scores and gives loss.ts's gradients (Math.exp) bit for bit, at e^x's edges too", () => {
    // (the kernel takes 16 rows a turn, then two at a time, the last alone: each remainder)
    for (const n of [4001, 4006, 4011]) stepMatchesGradients(n);
  });
});

function stepMatchesGradients(n: number): void {
  const rng = new Rng(9);
  const nBins = Uint16Array.of(2);
  const bins = new Uint8Array(n);
  const off = histOffsets(nBins);
  const values = Float64Array.of(0.3, -0.25, 0.125, 1e-3, -2.5);
  const wasm = wasmFitKernels(sparseRows(bins, n, nBins, off), bins, n, 1, off[1]!, 1, values.length);
  expect(wasm?.boost).toBeTruthy();
  // fdlibm's branch points (|x| at 0.5 ln 2, 1.5 ln 2, 2^-28, the overflow and underflow
  // thresholds, e^1), the k = 1024 and subnormal scalings, NaN and infinities; then raw scores of
  // every size a fit meets and far beyond
  const edges = [0, -0, 1, -1, 0.5, -0.5, Math.LN2 / 2, -Math.LN2 / 2, 0.3465735902799726];
  edges.push(-0.3465735902799726, 1.5 * Math.LN2, -1.5 * Math.LN2, 1.0397207708399179, -1.0397207708399179);
  edges.push(2 ** -28, -(2 ** -28), 2 ** -29, 1e-300, -1e-300, 709.78, -709.78, 709.7827128933841);
  edges.push(-709.7827128933841, 710, -710, 745.1, -745.1, -745.2, 740, -740, 708.3964185322641);
  edges.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 37, -37, 1e-9);
  const scales = [1e-6, 0.3, 1, 4, 10, 40, 800];
  const F0 = Float64Array.from({ length: n }, (_, i) =>
    i < edges.length ? edges[i]! : (2 * rng.next() - 1) * scales[i % scales.length]!,
  );
  const y = Int32Array.from({ length: n }, () => +(rng.next() < 0.4));
  const w = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : 0.5 + 2 * rng.next()));
  const leaf = Int32Array.from({ length: n }, () => rng.int(values.length));
  const s = boostRowsState(y, w, wasm!.boost);
  expect(s.memory).not.toBeNull();
  s.F.set(F0);
  s.leaf.set(leaf);
  // the first iteration: gradients only, F untouched
  const gRef = new Float32Array(n);
  const hRef = new Float32Array(n);
  gradients(F0, y, w, 1, gRef, hRef, new Float64Array(1));
  boostRows(s, null, true, wasm!.g, wasm!.h, false);
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    expect(Array.from(a, (v) => (Object.is(v, -0) ? "-0" : v))).toEqual(
      Array.from(b, (v) => (Object.is(v, -0) ? "-0" : v)),
    );
  same(s.F, F0);
  same(wasm!.g, gRef);
  same(wasm!.h, hRef);
  // then a tree: the raw scores moved by hand, loss.ts's gradients of them
  const want = F0.map((f, i) => f + values[leaf[i]!]!);
  gradients(want, y, w, 1, gRef, hRef, new Float64Array(1));
  boostRows(s, values, true, wasm!.g, wasm!.h, false);
  same(s.F, want);
  same(wasm!.g, gRef);
  same(wasm!.h, hRef);
}

describe("e^x in WebAssembly (fdlibm's e_exp.c, as V8's Math.exp)", () => {
  it("is Math.exp bit for bit, one value at a time and two", () => {
    const mod = new WebAssembly.Module(assemble([expKernel()], true));
    const n = 200_001;
    const pages = { initial: 64, maximum: 64, shared: true };
    const memory = new WebAssembly.Memory(pages);
    const kernels = new WebAssembly.Instance(mod, { env: { memory } }).exports;
    const exp = (kernels as Record<string, (...a: number[]) => void>).exp!;
    const xs = new Float64Array(memory.buffer, 0, n);
    const out = new Float64Array(memory.buffer, 8 * n, n);
    const rng = new Rng(11);
    // the branch points and scalings (values next to each other: a pair with one outside the
    // two-lane range takes the one-value code), then values of every size
    const edges = [0, -0, 1, -1, 0.5, -0.5, 0.3465735902799726, -0.3465735902799726, 1.0397207708399179];
    edges.push(-1.0397207708399179, 2 ** -28, -(2 ** -28), 2 ** -29, 3e-9, -3e-9, 1e-300, 699.9, -699.9);
    edges.push(700, -700, 708.3964185322641, -708.3964185322641, 709.7827128933841, -709.7827128933841);
    edges.push(
      709.79,
      -745.1,
      -745.2,
      800,
      -800,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    );
    const scales = [1e-8, 0.3, 0.7, 1, 4, 40, 300, 720];
    for (let i = 0; i < n; i++)
      xs[i] = i < edges.length ? edges[i]! : (2 * rng.next() - 1) * scales[i % scales.length]!;
    exp(0, 8 * n, n);
    const bad: number[] = [];
    for (let i = 0; i < n; i++) if (!Object.is(out[i], Math.exp(xs[i]!))) bad.push(xs[i]!);
    expect(bad.slice(0, 5)).toEqual([]);
  });
});

describe("hgb byte counts", () => {
  it("adds each byte's rows in a range to the counts there (any offset and length)", () => {
    const rng = new Rng(4);
    const bins = Uint8Array.from({ length: 5000 }, () =>
      rng.next() < 0.7 ? 0 : rng.next() < 0.5 ? 255 : rng.int(9),
    );
    for (const [from, n] of [
      [0, 5000],
      [3, 1001],
      [17, 2],
      [4999, 1],
      [10, 0],
    ] as const) {
      const count = new Int32Array(256).fill(5);
      byteCounts(bins, from, n, count);
      const want = new Int32Array(256).fill(5);
      for (let r = from; r < from + n; r++) want[bins[r]!]!++;
      expect(Array.from(count), `${from}, ${n}`).toEqual(Array.from(want));
    }
  });
});
