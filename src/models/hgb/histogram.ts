/**
 * Gradient/hessian histograms of one node (pure kernels on typed arrays).
 *
 * Layout (`histOffsets`): feature f's slots start at off[f]; it has nBins[f] + 1 slots of
 * (G, H, count) — its non-missing bins, then one slot for missing values (bin MISSING_BIN = 255 in the
 * binned matrix). Sums are float64 over float32 gradients and hessians, as scikit-learn's
 * HistGradientBoosting keeps them (G_H_DTYPE float32, histogram sums float64).
 */

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
  g: Float32Array;
  h: Float32Array;
}

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
 */
export function buildHistogram(
  inp: HistInput,
  idx: Uint32Array,
  start: number,
  end: number,
  out: Float64Array,
  scratch: HistScratch,
): void {
  const { bins, nRows, nBins, off, g, h } = inp;
  const { gv, hv } = scratch;
  const m = end - start;
  // the node's gradients and hessians gathered once, read once per feature below
  for (let i = 0; i < m; i++) {
    const r = idx[start + i]!;
    gv[i] = g[r]!;
    hv[i] = h[r]!;
  }
  const nFeatures = nBins.length;
  out.fill(0, 0, off[nFeatures]!);
  for (let f = 0; f < nFeatures; f++) {
    const fo = f * nRows;
    const ho = off[f]!;
    // bins are < nBins[f] and MISSING_BIN (255) >= it: min() puts missing values in the last slot
    const nb = nBins[f]!;
    for (let i = 0; i < m; i++) {
      const b = ho + Math.min(bins[fo + idx[start + i]!]!, nb) * 3;
      out[b]! += gv[i]!;
      out[b + 1]! += hv[i]!;
      out[b + 2]!++;
    }
  }
}

/** parent − child into `parent` (the larger child's histogram, the parent's buffer reused). */
export function subtractHistogram(parent: Float64Array, child: Float64Array, length: number): void {
  for (let q = 0; q < length; q++) parent[q]! -= child[q]!;
}
