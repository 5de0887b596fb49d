/**
 * Feature binning shared by every tree learner (decision tree, forest, AdaBoost, gradient boosting).
 *
 * Each feature is mapped to at most `maxBins` (<= 255) ordered bins plus one bin for missing values
 * (NaN), so a whole column fits in a Uint8Array and split finding scans 256-entry histograms instead of
 * sorted values. Thresholds follow scikit-learn's HistGradientBoosting binner:
 * - a feature with at most `maxBins` distinct values gets one bin per value, thresholds at the midpoints
 *   between consecutive distinct values (so a tree on binned data can make exactly the splits an exact
 *   tree makes: phishing's features have 2-3 values);
 * - otherwise thresholds are the quantiles at 1/maxBins, 2/maxBins, ... of (a subsample of) the
 *   column, computed with the "midpoint" rule, de-duplicated.
 *
 * A value v goes to the first bin b with v <= thresholds[b]; values above every threshold go to the last
 * non-missing bin `thresholds.length`. Missing values go to `MISSING_BIN` (255) whatever the feature.
 */
import type { Matrix } from "../../core/frame.ts";
import { Rng } from "../../core/rng.ts";

export const MISSING_BIN = 255;
export const MAX_BINS = 255;

export interface BinMapper {
  readonly nFeatures: number;
  /** Per feature: ascending bin upper bounds (raw feature units); length = nBins[f] - 1. */
  readonly thresholds: readonly Float64Array[];
  /** Per feature: number of non-missing bins actually used (1..maxBins). */
  readonly nBins: Uint16Array;
  /** Per feature: whether any NaN was seen at fit (the missing bin can then hold samples). */
  readonly hasMissing: Uint8Array;
}

export interface BinOptions {
  /** Max non-missing bins per feature, 2..255. Default 255. */
  maxBins?: number;
  /** Rows used to compute quantiles (scikit-learn uses 200,000). Default 200,000. */
  subsample?: number;
  /** Seed for the subsample. Default 0. */
  seed?: number;
}

/** Learn bin thresholds from X (column-major). Cost: O(nFeatures * m log m), m = min(nRows, subsample). */
export function fitBinMapper(X: Matrix, opts: BinOptions = {}): BinMapper {
  const maxBins = opts.maxBins ?? MAX_BINS;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS) {
    throw new RangeError(`maxBins must be an integer in [2, ${MAX_BINS}], got ${maxBins}`);
  }
  const subsample = opts.subsample ?? 200_000;
  const { nRows, nCols } = X;
  let rows: Uint32Array | null = null;
  if (nRows > subsample) {
    const idx = new Uint32Array(nRows);
    for (let i = 0; i < nRows; i++) idx[i] = i;
    new Rng(opts.seed ?? 0).shuffle(idx);
    rows = idx.slice(0, subsample).sort();
  }
  const thresholds: Float64Array[] = [];
  const nBins = new Uint16Array(nCols);
  const hasMissing = new Uint8Array(nCols);
  const m = rows ? rows.length : nRows;
  const buf = new Float64Array(m);
  for (let f = 0; f < nCols; f++) {
    const base = f * nRows;
    let k = 0;
    for (let i = 0; i < m; i++) {
      const v = X.data[base + (rows ? rows[i]! : i)]!;
      if (Number.isNaN(v)) hasMissing[f] = 1;
      else buf[k++] = v;
    }
    if (!hasMissing[f] && rows) {
      // the subsample may have missed NaNs that exist in the full column
      for (let i = 0; i < nRows; i++) {
        if (Number.isNaN(X.data[base + i]!)) {
          hasMissing[f] = 1;
          break;
        }
      }
    }
    const vals = buf.subarray(0, k).slice().sort();
    const t = findThresholds(vals, maxBins);
    thresholds.push(t);
    nBins[f] = t.length + 1;
  }
  return { nFeatures: nCols, thresholds, nBins, hasMissing };
}

/** Thresholds for one sorted, NaN-free column. */
function findThresholds(sorted: Float64Array, maxBins: number): Float64Array {
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  // distinct values
  const distinct: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = sorted[i]!;
    if (i === 0 || v !== sorted[i - 1]) {
      distinct.push(v);
      if (distinct.length > maxBins) break;
    }
  }
  if (distinct.length <= maxBins) {
    const t = new Float64Array(distinct.length - 1);
    for (let i = 0; i < t.length; i++) t[i] = distinct[i]! + (distinct[i + 1]! - distinct[i]!) / 2;
    return t;
  }
  // numpy.percentile(..., method="midpoint") at linspace(0, 100, maxBins + 1)[1:-1]
  const out: number[] = [];
  for (let q = 1; q < maxBins; q++) {
    const pos = (q / maxBins) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const v = (sorted[lo]! + sorted[hi]!) / 2;
    if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
  }
  return Float64Array.from(out);
}

/** Bin index of a raw value for feature f (binary search over its thresholds). */
export function binOf(mapper: BinMapper, f: number, v: number): number {
  if (Number.isNaN(v)) return MISSING_BIN;
  const t = mapper.thresholds[f]!;
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= t[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bin a whole matrix: column-major Uint8Array of nRows * nFeatures (on a SharedArrayBuffer when `shared`). */
export function binMatrix(X: Matrix, mapper: BinMapper, shared = false): Uint8Array {
  if (X.nCols !== mapper.nFeatures) {
    throw new RangeError(`binning expects ${mapper.nFeatures} features, got ${X.nCols}`);
  }
  const { nRows, nCols } = X;
  const out = shared ? new Uint8Array(new SharedArrayBuffer(nRows * nCols)) : new Uint8Array(nRows * nCols);
  for (let f = 0; f < nCols; f++) {
    const base = f * nRows;
    const t = mapper.thresholds[f]!;
    const nt = t.length;
    for (let i = 0; i < nRows; i++) {
      const v = X.data[base + i]!;
      let b: number;
      if (Number.isNaN(v)) b = MISSING_BIN;
      else if (nt <= 8) {
        // few thresholds (typical for categorical/one-hot/low-cardinality features): linear scan is fastest
        b = 0;
        while (b < nt && v > t[b]!) b++;
      } else {
        let lo = 0;
        let hi = nt;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (v <= t[mid]!) hi = mid;
          else lo = mid + 1;
        }
        b = lo;
      }
      out[base + i] = b;
    }
  }
  return out;
}

/** JSON form of a bin mapper (for model state). */
export function binMapperToJSON(m: BinMapper): { thresholds: number[][]; hasMissing: number[] } {
  return { thresholds: m.thresholds.map((t) => Array.from(t)), hasMissing: Array.from(m.hasMissing) };
}

export function binMapperFromJSON(j: { thresholds: number[][]; hasMissing: number[] }): BinMapper {
  const thresholds = j.thresholds.map((t) => Float64Array.from(t));
  return {
    nFeatures: thresholds.length,
    thresholds,
    nBins: Uint16Array.from(thresholds.map((t) => t.length + 1)),
    hasMissing: Uint8Array.from(j.hasMissing),
  };
}
