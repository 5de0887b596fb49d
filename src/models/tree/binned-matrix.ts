/**
 * A training matrix binned once and shared: what the tree learners fit on, without the float64 matrix.
 *
 * A BinnedMatrix holds, for nRows × nCols features (column-major, on SharedArrayBuffers so worker
 * threads read it without a copy):
 * - `bins`: every value's bin (uint8; MISSING_BIN for NaN) under `mapper` (fitBinMapper's bins);
 * - `raw`: the float64 columns of the quantile-binned features only (several values a bin: the
 *   growers' exact threshold search needs them; RawColumns, one packed slot per such feature);
 * - `values`: for every other feature (binned one value per bin) that value, per bin
 *   (`values[f * 256 + b]`; NaN for the missing bin and unused bins).
 * So every float64 value is recoverable exactly (`decodeRows`): a cross-validation fold or a test
 * chunk becomes a float64 matrix of only its rows when a model needs one, and the whole matrix is
 * never materialised. On NSL-KDD's 1 M-row scale file (122 features, 8 of them quantile-binned) that
 * is 98 MB of bins and 52 MB of raw columns against 787 MB of float64.
 *
 * `binnedMatrix(X, opts)` bins a float64 matrix; `BinnedMatrixBuilder` bins columns one at a time as a
 * column transformer makes them. Both give bins identical to fitBinMapper + binMatrix +
 * quantileColumns on the whole matrix (the same per-feature code), so a model fitted on a
 * BinnedMatrix grows the trees its fit on the float64 matrix grows, bit for bit.
 */
import { NetsecError } from "../../core/errors.ts";
import { allocMatrix, type Matrix } from "../../core/frame.ts";
import { checkLabels, checkValues } from "../checks.ts";
import type { BinnedFitOptions, Classifier, FitReport } from "../types.ts";
import {
  type BinMapper,
  type BinOptions,
  binColumn,
  FeatureBinner,
  MAX_BINS,
  MISSING_BIN,
  type RawColumns,
  singleValues,
} from "./binning.ts";
import type { BinnedData } from "./grow-classifier.ts";

export interface BinnedMatrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly names?: readonly string[];
  /** Column-major bins, nRows × nCols (shared). */
  readonly bins: Uint8Array;
  readonly mapper: BinMapper;
  /** Raw columns of the quantile-binned features (shared), or null when there is none. */
  readonly raw: RawColumns | null;
  /** values[f * 256 + b]: the one value of bin b of a feature binned one value per bin (shared). */
  readonly values: Float64Array;
  /** What the mapper was fitted with: a model binning otherwise cannot use these bins. */
  readonly binning: { maxBins: number; seed: number; subsample: number; rule: "midpoint" };
}

/** Rows decoded at a time when a model needs float64 rows of a BinnedMatrix (32 MB at 122 features). */
export const DECODE_CHUNK_ROWS = 32_768;

const SUBSAMPLE = 200_000;

function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * n));
}

/**
 * Bins columns handed over one at a time (any order, each once), for a training matrix that is never
 * held whole as float64. `add(f, column)` may reuse its column buffer for the next call.
 */
export class BinnedMatrixBuilder {
  private readonly nRows: number;
  private readonly nCols: number;
  private readonly names: readonly string[] | undefined;
  private readonly binner: FeatureBinner;
  private readonly binning: BinnedMatrix["binning"];
  private readonly bins: Uint8Array;
  private readonly values: Float64Array;
  private readonly thresholds: Float64Array[];
  private readonly cuts: Float64Array[];
  private readonly hasMissing: Uint8Array;
  /** Quantile-binned features' columns (copied) and their bins' single values, by feature. */
  private readonly quantile = new Map<number, { data: Float64Array<ArrayBuffer>; single: Float64Array }>();
  private added = 0;

  constructor(
    nRows: number,
    nCols: number,
    names?: readonly string[],
    opts: { maxBins?: number; seed?: number } = {},
  ) {
    this.nRows = nRows;
    this.nCols = nCols;
    this.names = names;
    this.binning = {
      maxBins: opts.maxBins ?? MAX_BINS,
      seed: opts.seed ?? 0,
      subsample: SUBSAMPLE,
      rule: "midpoint",
    };
    const o: BinOptions = { ...this.binning };
    this.binner = new FeatureBinner(nRows, o);
    this.bins = new Uint8Array(new SharedArrayBuffer(nRows * nCols));
    this.values = sharedF64(nCols * 256).fill(Number.NaN);
    this.thresholds = new Array(nCols);
    this.cuts = new Array(nCols);
    this.hasMissing = new Uint8Array(nCols);
  }

  /**
   * Feature f's column (length nRows). ±Infinity is refused naming the feature and row, as a model's
   * fit refuses it (NaN is a missing value).
   */
  add(f: number, column: Float64Array): void {
    const n = this.nRows;
    if (column.length < n) throw new RangeError(`column ${f} has ${column.length} rows, expected ${n}`);
    if (this.thresholds[f]) throw new RangeError(`column ${f} was added twice`);
    checkValues(
      { nRows: n, nCols: 1, data: column, names: [this.names?.[f] ?? `feature ${f}`] },
      "training matrix",
      true,
    );
    const b = this.binner.fit(column, 0);
    this.thresholds[f] = b.thresholds;
    this.cuts[f] = b.cuts;
    this.hasMissing[f] = b.hasMissing ? 1 : 0;
    const bins = this.bins.subarray(f * n, (f + 1) * n);
    binColumn(column, 0, n, b.thresholds, bins, 0);
    if (b.cuts !== b.thresholds) {
      const single = new Float64Array(256);
      singleValues(column, 0, n, bins, b.thresholds, single, 0);
      this.quantile.set(f, { data: column.slice(0, n), single });
    } else oneValuePerBin(column, bins, n, this.values, f * 256);
    this.added++;
  }

  finish(): BinnedMatrix {
    if (this.added !== this.nCols)
      throw new RangeError(`${this.added} of ${this.nCols} columns were added before finish`);
    const n = this.nRows;
    const index = new Int32Array(this.nCols).fill(-1);
    let raw: RawColumns | null = null;
    if (this.quantile.size > 0) {
      const k = this.quantile.size;
      const data = sharedF64(k * n);
      const single = sharedF64(k * 256);
      let s = 0;
      for (let f = 0; f < this.nCols; f++) {
        const q = this.quantile.get(f);
        if (!q) continue;
        index[f] = s;
        data.set(q.data, s * n);
        single.set(q.single, s * 256);
        // each copy freed as soon as it is packed: the packed columns never sit beside all of their
        // copies (2 × 516 MB at 10 M training rows and 8 such features; the shared pages fill as
        // they are written)
        q.data.buffer.transfer(0);
        s++;
      }
      this.quantile.clear();
      raw = { index, data, single };
    }
    const mapper: BinMapper = {
      nFeatures: this.nCols,
      thresholds: this.thresholds,
      cuts: this.cuts,
      nBins: Uint16Array.from(this.thresholds, (t) => t.length + 1),
      hasMissing: this.hasMissing,
    };
    return {
      nRows: n,
      nCols: this.nCols,
      ...(this.names ? { names: this.names } : {}),
      bins: this.bins,
      mapper,
      raw,
      values: this.values,
      binning: this.binning,
    };
  }
}

/** One value a bin: each bin's value into out[off + bin] (the missing bin's stays as it is: NaN). */
function oneValuePerBin(
  column: Float64Array,
  bins: Uint8Array,
  n: number,
  out: Float64Array,
  off: number,
): void {
  for (let r = 0; r < n; r++) {
    const bin = bins[r]!;
    if (bin !== MISSING_BIN) out[off + bin] = column[r]!;
  }
}

/**
 * BinnedMatrix.values of X binned by binMatrix(X, mapper) (`bins`), on shared memory: the one value
 * of each bin of the features binned one value per bin, NaN elsewhere.
 */
export function binValues(X: Matrix, bins: Uint8Array, mapper: BinMapper): Float64Array {
  const n = X.nRows;
  const out = sharedF64(X.nCols * 256).fill(Number.NaN);
  for (let f = 0; f < X.nCols; f++)
    if (mapper.cuts[f] === mapper.thresholds[f])
      oneValuePerBin(X.data.subarray(f * n, (f + 1) * n), bins.subarray(f * n, (f + 1) * n), n, out, f * 256);
  return out;
}

/** A float64 matrix binned (bins and raw columns copied into shared memory). */
export function binnedMatrix(X: Matrix, opts: { maxBins?: number; seed?: number } = {}): BinnedMatrix {
  const b = new BinnedMatrixBuilder(X.nRows, X.nCols, X.names, opts);
  for (let f = 0; f < X.nCols; f++) b.add(f, X.data.subarray(f * X.nRows, (f + 1) * X.nRows));
  return b.finish();
}

/**
 * Whether a model binning with `maxBins` and seed `seed` (fitBinMapper's options) finds B's bins on
 * B's rows: the same bin count, and the same quantile subsample (the seed draws it only when there
 * are more rows than the subsample).
 */
export function binnedAs(B: BinnedMatrix, maxBins: number, seed: number): boolean {
  return B.binning.maxBins === maxBins && (B.binning.seed === seed || B.nRows <= B.binning.subsample);
}

/**
 * Rows of B as a float64 matrix (column-major), exactly the values B was binned from: `rows` (indices
 * into B, in that order) or, when null, rows from..to-1. On a SharedArrayBuffer when `shared`.
 */
export function decodeRows(
  B: BinnedMatrix,
  rows: ArrayLike<number> | null,
  from = 0,
  to = rows ? rows.length : B.nRows,
  shared = false,
): Matrix {
  const m = to - from;
  const n = B.nRows;
  const X = allocMatrix(m, B.nCols, B.names, shared);
  const { bins, values, raw } = B;
  for (let f = 0; f < B.nCols; f++) {
    const o = f * m;
    const slot = raw ? raw.index[f]! : -1;
    if (slot >= 0) {
      const base = slot * n;
      if (!rows) X.data.set(raw!.data.subarray(base + from, base + to), o);
      else for (let i = 0; i < m; i++) X.data[o + i] = raw!.data[base + rows[from + i]!]!;
      continue;
    }
    const bf = f * n;
    const vf = f * 256;
    if (!rows) for (let i = 0; i < m; i++) X.data[o + i] = values[vf + bins[bf + from + i]!]!;
    else for (let i = 0; i < m; i++) X.data[o + i] = values[vf + bins[bf + rows[from + i]!]!]!;
  }
  return X;
}

/** The whole of B as a float64 matrix (a model that cannot fit on bins; the NPY artifacts). */
export function decodeAll(B: BinnedMatrix, shared = false): Matrix {
  return decodeRows(B, null, 0, B.nRows, shared);
}

/**
 * Float64 rows of B (`rows`, or all rows when null) decoded DECODE_CHUNK_ROWS at a time and handed to
 * `fn` in order, with the position of the chunk's first row among them.
 */
export function forRowChunks(
  B: BinnedMatrix,
  rows: ArrayLike<number> | null,
  fn: (X: Matrix, from: number) => void,
): void {
  const n = rows ? rows.length : B.nRows;
  for (let from = 0; from < n; from += DECODE_CHUNK_ROWS)
    fn(decodeRows(B, rows, from, Math.min(n, from + DECODE_CHUNK_ROWS)), from);
}

/** Row-wise results of `fn` on B's rows a chunk at a time (forRowChunks), `width` numbers a row. */
export function mapRowChunks(
  B: BinnedMatrix,
  rows: ArrayLike<number> | null,
  width: number,
  fn: (X: Matrix) => Float64Array,
): Float64Array {
  const out = new Float64Array((rows ? rows.length : B.nRows) * width);
  forRowChunks(B, rows, (X, from) => out.set(fn(X), from * width));
  return out;
}

/** A binned matrix as the tree growers read it (the bins, the mapper's tables, the raw columns). */
export function binnedData(B: BinnedMatrix): BinnedData {
  return {
    bins: B.bins,
    nRows: B.nRows,
    nFeatures: B.nCols,
    thresholds: B.mapper.thresholds,
    cuts: B.mapper.cuts,
    raw: B.raw,
  };
}

/** fitBinned's checks: B has rows and features, one label per row of B, `rows` ascending in range. */
export function checkBinnedFit(
  B: BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  rows: Uint32Array | undefined,
  model: string,
): void {
  if ((rows ? rows.length : B.nRows) === 0)
    throw new NetsecError("DATA_INVALID", `${model}: no training rows`, {});
  if (B.nCols === 0) throw new NetsecError("DATA_INVALID", `${model}: no features`, {});
  if (y.length !== B.nRows)
    throw new NetsecError("DATA_INVALID", `${model}: ${B.nRows} rows of features but ${y.length} labels`, {});
  if (rows) {
    for (let j = 0; j < rows.length; j++)
      if (rows[j]! >= B.nRows || (j > 0 && rows[j]! <= rows[j - 1]!))
        throw new RangeError(`${model}: training rows must be ascending indices below ${B.nRows}`);
  }
  checkLabels(rows ? Int32Array.from(rows, (i) => y[i]!) : y, nClasses, model);
}

/** A model fitted on B's rows (opts.rows, or all) decoded to float64: for models without fitBinned. */
export function fitDecoded(
  model: Classifier,
  B: BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  opts: BinnedFitOptions = {},
): Promise<FitReport> {
  const { rows, ...fitOpts } = opts;
  const X = rows ? decodeRows(B, rows) : decodeAll(B);
  return model.fit(X, rows ? Int32Array.from(rows, (i) => y[i]!) : y, nClasses, fitOpts);
}

/** Fit any model on B's rows: on the bins where it can (fitBinned), else on the decoded rows. */
export function fitOnBinned(
  model: Classifier,
  B: BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  opts: BinnedFitOptions = {},
): Promise<FitReport> {
  return model.fitBinned ? model.fitBinned(B, y, nClasses, opts) : fitDecoded(model, B, y, nClasses, opts);
}
