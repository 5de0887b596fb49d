/**
 * Gradient/hessian histograms of one node (pure kernels on typed arrays).
 *
 * Layout (`histOffsets`): feature f's slots start at off[f]; it has nBins[f] + 1 slots of
 * (G, H, count) — its non-missing bins, then one slot for missing values (bin MISSING_BIN = 255 in the
 * binned matrix). Sums are float64 over float32 gradients and hessians, as scikit-learn's
 * HistGradientBoosting keeps them (G_H_DTYPE float32, histogram sums float64).
 */
import type { WasmFitKernels } from "./wasm-kernels.ts";

/** Where each feature's histogram slots start; off[nFeatures] is the histogram's length. */
export function histOffsets(nBins: Uint16Array): Int32Array {
  const off = new Int32Array(nBins.length + 1);
  for (let f = 0; f < nBins.length; f++) off[f + 1] = off[f]! + (nBins[f]! + 1) * 3;
  return off;
}

export interface HistInput {
  /** Column-major binned matrix (nRows per column), MISSING_BIN for NaN. */
  bins: Uint8Array;
  nRows: number;
  nBins: Uint16Array;
  off: Int32Array;
  /** Every row's bins other than their feature's most common one, as histogram indices (`sparseRows`). */
  rows: SparseRows;
  g: Float32Array;
  h: Float32Array;
  /** The fit's WebAssembly kernel (used when idx, g and h are its memory's views), or null. */
  wasm?: WasmFitKernels | null;
}

/**
 * The binned matrix by row, without each feature's most common bin (one-hot columns, flags and
 * counts are mostly one value): row r's entries are `index[ptr[r] .. ptr[r + 1])`, each the histogram
 * index (off[f] + 3 · slot, missing values in the last slot) of one of its features, features
 * ascending. `common[f]` is feature f's most common slot's histogram index; a node's sums there are its
 * totals minus the feature's other slots. A histogram then reads each row's few uncommon bins as one
 * contiguous run instead of every feature's byte: the LightGBM way with sparse features.
 */
export interface SparseRows {
  ptr: Int32Array;
  index: Int32Array;
  common: Int32Array;
  /**
   * The first histogram index (a slot's) at which the entries up to and including its slot are more
   * than half of all: where the fit's kernels split a histogram between two threads (wasm-kernels.ts
   * counts it from `index` when absent).
   */
  half?: number;
}

export function sparseRows(bins: Uint8Array, nRows: number, nBins: Uint16Array, off: Int32Array): SparseRows {
  const p = nBins.length;
  const common = new Int32Array(p);
  const count = new Int32Array(256);
  const perRow = new Int32Array(nRows + 1);
  for (let f = 0; f < p; f++) {
    const fo = f * nRows;
    const nb = nBins[f]!;
    count.fill(0);
    byteCounts(bins, fo, nRows, count);
    for (let b = nb + 1; b < 256; b++) count[nb]! += count[b]!;
    let best = 0;
    for (let b = 1; b <= nb; b++) if (count[b]! > count[best]!) best = b;
    common[f] = best;
    for (let r = 0; r < nRows; r++) if (Math.min(bins[fo + r]!, nb) !== best) perRow[r + 1]!++;
  }
  const ptr = new Int32Array(nRows + 1);
  for (let r = 0; r < nRows; r++) ptr[r + 1] = ptr[r]! + perRow[r + 1]!;
  const index = new Int32Array(ptr[nRows]!);
  const fill = ptr.slice(0, nRows);
  // features in ascending order within each row (a row's entries are written feature by feature)
  for (let f = 0; f < p; f++) {
    const fo = f * nRows;
    const nb = nBins[f]!;
    const c = common[f]!;
    for (let r = 0; r < nRows; r++) {
      const b = Math.min(bins[fo + r]!, nb);
      if (b !== c) index[fill[r]!++] = off[f]! + 3 * b;
    }
    common[f] = off[f]! + 3 * c;
  }
  return { ptr, index, common };
}

/**
 * count[b] += the bytes b in bins[from .. from + n) (count: 256 entries). Four tallies,
 * row i into tally i mod 4, summed at the end: a column of one value (most one-hot rows) otherwise
 * adds to one counter row after row, each add waiting for the one before.
 */
export function byteCounts(bins: Uint8Array, from: number, n: number, count: Int32Array): void {
  const t = tallies;
  t.fill(0);
  const end = from + n;
  let r = from;
  for (; r + 3 < end; r += 4) {
    t[bins[r]!]!++;
    t[256 + bins[r + 1]!]!++;
    t[512 + bins[r + 2]!]!++;
    t[768 + bins[r + 3]!]!++;
  }
  for (; r < end; r++) t[bins[r]!]!++;
  for (let b = 0; b < 256; b++) count[b]! += t[b]! + t[256 + b]! + t[512 + b]! + t[768 + b]!;
}

const tallies = new Int32Array(1024);

/** Scratch reused by every node of a fit: the node's gradients and hessians gathered in row order. */
export interface HistScratch {
  gv: Float64Array;
  hv: Float64Array;
}

export function histScratch(nRows: number): HistScratch {
  return { gv: new Float64Array(nRows), hv: new Float64Array(nRows) };
}

/**
 * The histogram of rows idx[start..end) into `out` (every slot written, every feature: with feature
 * subsampling per split a child's split still needs every feature, and subtraction needs the parent's).
 * Returns the node's sums of gradients and hessians (in row order).
 */
export function buildHistogram(
  inp: HistInput,
  idx: Uint32Array,
  start: number,
  end: number,
  out: Float64Array,
  scratch: HistScratch,
): { G: number; H: number } {
  const { nBins, off, g, h, wasm } = inp;
  const m = end - start;
  let sums: { G: number; H: number };
  if (
    wasm &&
    idx.buffer === wasm.rows.buffer &&
    idx.byteOffset === wasm.rows.byteOffset &&
    g.buffer === wasm.g.buffer &&
    h.buffer === wasm.h.buffer
  ) {
    sums = wasm.build(g, h, start, end, out);
    if (wasm.commonBins(out, off, sums.G, sums.H, m)) return sums;
  } else sums = sparseSums(inp, idx, start, end, out, scratch);
  // each feature's common bin: the node's totals minus its other bins
  const { G, H } = sums;
  const { common } = inp.rows;
  const p = nBins.length;
  for (let f = 0; f < p; f++) {
    const c = common[f]!;
    let gs = 0;
    let hs = 0;
    let ns = 0;
    for (let q = off[f]!; q < off[f + 1]!; q += 3) {
      gs += out[q]!;
      hs += out[q + 1]!;
      ns += out[q + 2]!;
    }
    out[c] = G - gs;
    out[c + 1] = H - hs;
    out[c + 2] = m - ns;
  }
  return sums;
}

/**
 * buildHistogram's result built by the helper thread (the fit's kernel, whole: the same sums) while
 * `mine()` runs on this thread. Only when the fit's kernel memory holds `idx`, g, h and `out` and
 * the helper is free: else "not sent" (nothing run, `out` untouched). "caller": `mine()` ran, the
 * helper never started the build (`out` untouched, the caller's to build into). "late": `mine()` ran,
 * the helper did not finish in time, `out` is its and must be neither read nor reused. Otherwise the
 * node's sums.
 */
export function buildHistogramBeside(
  inp: HistInput,
  idx: Uint32Array,
  start: number,
  end: number,
  out: Float64Array,
  mine: () => void,
): { G: number; H: number } | "not sent" | "caller" | "late" {
  const { off, g, h, wasm } = inp;
  if (
    !wasm ||
    idx.buffer !== wasm.rows.buffer ||
    idx.byteOffset !== wasm.rows.byteOffset ||
    g.buffer !== wasm.g.buffer ||
    h.buffer !== wasm.h.buffer ||
    !wasm.besideReady(end - start, out)
  )
    return "not sent";
  const sums = wasm.buildBeside(g, h, start, end, out, mine);
  if (typeof sums === "string") return sums;
  wasm.commonBins(out, off, sums.G, sums.H, end - start);
  return sums;
}

/** The JS loop: every slot but the common bins' (zero there), and the node's G and H in row order. */
function sparseSums(
  inp: HistInput,
  idx: Uint32Array,
  start: number,
  end: number,
  out: Float64Array,
  scratch: HistScratch,
): { G: number; H: number } {
  const { nBins, off, g, h } = inp;
  const { ptr, index } = inp.rows;
  const { gv, hv } = scratch;
  const m = end - start;
  let G = 0;
  let H = 0;
  for (let i = 0; i < m; i++) {
    const r = idx[start + i]!;
    G += gv[i] = g[r]!;
    H += hv[i] = h[r]!;
  }
  out.fill(0, 0, off[nBins.length]!);
  // row by row, its uncommon bins (each bin still adds its rows in node order)
  for (let i = 0; i < m; i++) {
    const r = idx[start + i]!;
    const gi = gv[i]!;
    const hi = hv[i]!;
    const e = ptr[r + 1]!;
    for (let k = ptr[r]!; k < e; k++) {
      const b = index[k]!;
      out[b]! += gi;
      out[b + 1]! += hi;
      out[b + 2]!++;
    }
  }
  return { G, H };
}

/**
 * Node histograms reused from node to node and tree to tree of a fit (each one is large: every bin of
 * every feature): acquire() takes a free one (`slots` first: the fit's WebAssembly memory, where the
 * kernel builds in place), or allocates when none is free; release() gives one back.
 */
export class HistPool {
  private readonly free: Float64Array[];
  private readonly size: number;
  private readonly home: ArrayBufferLike | null;

  constructor(size: number, slots: readonly Float64Array[] = []) {
    this.size = size;
    this.free = slots.slice();
    this.home = slots[0]?.buffer ?? null;
  }

  acquire(): Float64Array {
    return this.free.pop() ?? new Float64Array(this.size);
  }

  release(h: Float64Array | null): void {
    if (!h) return;
    // allocated ones to the bottom: the slots in the memory are taken first
    if (h.buffer === this.home) this.free.push(h);
    else this.free.unshift(h);
  }
}

/** parent − child into `parent` (the larger child's histogram, the parent's buffer reused). */
export function subtractHistogram(parent: Float64Array, child: Float64Array, length: number): void {
  for (let q = 0; q < length; q++) parent[q]! -= child[q]!;
}
