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
 *
 * The raw threshold a tree stores for a split "bins <= b left" is `cuts[f][b]`, not the bin bound: the
 * midpoint of the gap between the largest training value <= thresholds[b] and the smallest one above it
 * (every training value, not only the quantile subsample), where an exact tree (scikit-learn's
 * DecisionTreeClassifier) puts it. No training value lies in that gap, so every training row goes the
 * same way by raw value as by bin; unseen values inside a quantile bin's range are then split where the
 * training data has its gap, not at the quantile. For a feature binned one value per bin the cuts are
 * the bin bounds themselves.
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
  /**
   * Per feature: the raw threshold of the split "bins <= b left", for each b < nBins[f] - 1: the
   * midpoint of the training-value gap around thresholds[f][b] (see the header). Same array as
   * thresholds[f] for a feature binned one value per bin.
   */
  readonly cuts: readonly Float64Array[];
}

export interface BinOptions {
  /** Max non-missing bins per feature, 2..255. Default 255. */
  maxBins?: number;
  /** Rows used to compute quantiles (scikit-learn uses 200,000). Default 200,000. */
  subsample?: number;
  /** Seed for the subsample. Default 0. */
  seed?: number;
  /**
   * How thresholds are placed. "midpoint" (default, every tree learner but hist_gradient_boosting):
   * lo + (hi − lo)/2 between distinct values, numpy's "midpoint" percentiles. "averaged_inverted_cdf":
   * scikit-learn's HistGradientBoosting binner as of scikit-learn 1.8 bit for bit, (lo + hi)/2
   * between distinct values and numpy's "averaged_inverted_cdf" percentiles (mostly training values
   * themselves), so hist_gradient_boosting grows the same trees as scikit-learn's.
   */
  rule?: "midpoint" | "averaged_inverted_cdf";
}

/** Learn bin thresholds from X (column-major). Cost: O(nFeatures * m log m), m = min(nRows, subsample). */
export function fitBinMapper(X: Matrix, opts: BinOptions = {}): BinMapper {
  const { nRows, nCols } = X;
  const binner = new FeatureBinner(nRows, opts);
  const thresholds: Float64Array[] = [];
  const cuts: Float64Array[] = [];
  const nBins = new Uint16Array(nCols);
  const hasMissing = new Uint8Array(nCols);
  for (let f = 0; f < nCols; f++) {
    const b = binner.fit(X.data, f * nRows);
    thresholds.push(b.thresholds);
    cuts.push(b.cuts);
    nBins[f] = b.thresholds.length + 1;
    hasMissing[f] = b.hasMissing ? 1 : 0;
  }
  return { nFeatures: nCols, thresholds, nBins, hasMissing, cuts };
}

/** One feature's bins, as fitBinMapper finds them (see BinMapper). */
export interface FeatureBins {
  thresholds: Float64Array;
  /** The same array as `thresholds` when the feature is binned one value per bin. */
  cuts: Float64Array;
  hasMissing: boolean;
  /** Whether the column holds ±Infinity (the binnings' callers refuse it). */
  infinite: boolean;
}

/**
 * fitBinMapper one feature at a time, for columns made one after another (a training matrix binned
 * column by column, never held whole as float64): the quantile subsample's rows are drawn once, from
 * the seed, and are the same for every feature, so the features' bins are those of fitBinMapper on
 * the whole matrix.
 */
export class FeatureBinner {
  readonly nRows: number;
  private readonly maxBins: number;
  private readonly rule: NonNullable<BinOptions["rule"]>;
  private readonly rows: Uint32Array | null;
  private readonly buf: Float64Array;
  private readonly distinct: DistinctSet;
  private counted: DistinctCounts | null = null;

  constructor(nRows: number, opts: BinOptions = {}) {
    const maxBins = opts.maxBins ?? MAX_BINS;
    if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS) {
      throw new RangeError(`maxBins must be an integer in [2, ${MAX_BINS}], got ${maxBins}`);
    }
    const subsample = opts.subsample ?? 200_000;
    this.nRows = nRows;
    this.maxBins = maxBins;
    this.rule = opts.rule ?? "midpoint";
    let rows: Uint32Array | null = null;
    if (nRows > subsample) {
      const idx = new Uint32Array(nRows);
      for (let i = 0; i < nRows; i++) idx[i] = i;
      new Rng(opts.seed ?? 0).shuffle(idx);
      rows = idx.slice(0, subsample).sort();
    }
    this.rows = rows;
    this.buf = new Float64Array(rows ? rows.length : nRows);
    this.distinct = new DistinctSet(maxBins);
  }

  /**
   * fit, and the column's bins under them into out[outBase .. outBase + nRows) (binColumn's): a
   * column of 0s and 1s only (one-hot, flags) in one pass, the others as fit and binColumn.
   */
  fitAndBin(data: Float64Array, base: number, out: Uint8Array, outBase: number): FeatureBins {
    const { nRows } = this;
    if (!this.rows) {
      const ones = zeroOneColumn(data, base, nRows, out, outBase);
      if (ones >= 0) {
        // fit's thresholds: between 0 and 1 when both occur, none otherwise (every row in bin 0)
        const both = ones > 0 && ones < nRows;
        if (!both) out.fill(0, outBase, outBase + nRows);
        const t = both ? Float64Array.of(midpoint(0, 1, this.rule)) : new Float64Array(0);
        return { thresholds: t, cuts: t, hasMissing: false, infinite: false };
      }
    }
    const b = this.fit(data, base);
    binColumn(data, base, nRows, b.thresholds, out, outBase);
    return b;
  }

  /** The bins of the column data[base .. base + nRows). */
  fit(data: Float64Array, base: number): FeatureBins {
    const { nRows, rows, buf, distinct, maxBins, rule } = this;
    const m = rows ? rows.length : nRows;
    // most columns (one-hot, flags, small counts) have at most maxBins distinct values: collect them
    // without sorting the column (same thresholds as the sorted path below)
    if (!rows) {
      const few = distinct.collect(data, base, nRows);
      if (few !== null) {
        const t = new Float64Array(Math.max(0, few.length - 1));
        for (let i = 0; i < t.length; i++) t[i] = midpoint(few[i]!, few[i + 1]!, rule);
        return { thresholds: t, cuts: t, hasMissing: distinct.sawNaN, infinite: infiniteEnds(few) };
      }
      // more distinct values, but far fewer than rows (byte and packet counts, durations): the
      // quantiles from each distinct value's count, sorting the distinct values only (the same
      // thresholds and cuts as sorting the column, below: NSL-KDD's seven such columns, about 8 ms
      // each sorted, 1 ms counted)
      this.counted ??= new DistinctCounts(Math.min(COUNTED_MAX_DISTINCT, nRows >>> 3));
      const c = this.counted.collect(data, base, nRows);
      if (c !== null) {
        const { values, below } = c;
        const k = below[values.length]!;
        // the sorted column's value at rank i: the last distinct value with fewer than i + 1 below it
        const at = (i: number): number => {
          let lo = 0;
          let hi = values.length - 1;
          while (lo < hi) {
            const mid = (lo + hi + 1) >>> 1;
            if (below[mid]! <= i) lo = mid;
            else hi = mid - 1;
          }
          return values[lo]!;
        };
        const t = quantileThresholds(k, at, maxBins, rule);
        // (gap cuts need only the distinct values: the largest below a threshold, the smallest above)
        return {
          thresholds: t,
          cuts: gapCutsOfSorted(values, t),
          hasMissing: this.counted.sawNaN,
          infinite: infiniteEnds(values),
        };
      }
    }
    let hasMissing = false;
    let k = 0;
    for (let i = 0; i < m; i++) {
      const v = data[base + (rows ? rows[i]! : i)]!;
      if (Number.isNaN(v)) hasMissing = true;
      else buf[k++] = v;
    }
    if (!hasMissing && rows) {
      // the subsample may have missed NaNs that exist in the full column
      for (let i = 0; i < nRows; i++) {
        if (Number.isNaN(data[base + i]!)) {
          hasMissing = true;
          break;
        }
      }
    }
    const vals = buf.subarray(0, k).slice().sort();
    const { t, perValue } = findThresholds(vals, maxBins, rule);
    // (a subsample's distinct values need not be the whole column's)
    const cuts = rows ? gapCutsOfColumn(data, base, nRows, t) : perValue ? t : gapCutsOfSorted(vals, t);
    // (a subsample's values need not hold the column's infinities: those are looked for in it all)
    return {
      thresholds: t,
      cuts,
      hasMissing,
      infinite: rows ? hasInfinity(data, base, nRows) : infiniteEnds(vals),
    };
  }
}

/** Whether sorted values (without NaN) start at −Infinity or end at +Infinity. */
function infiniteEnds(sorted: Float64Array): boolean {
  const n = sorted.length;
  return n > 0 && (sorted[0] === Number.NEGATIVE_INFINITY || sorted[n - 1] === Number.POSITIVE_INFINITY);
}

/** Whether data[base .. base + n) holds ±Infinity. */
function hasInfinity(data: Float64Array, base: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (Math.abs(data[base + i]!) === Number.POSITIVE_INFINITY) return true;
  return false;
}

/** Rows a column of 0s and 1s is checked in at a time (zeroOneColumn gives up on a block with another value). */
const ZERO_ONE_BLOCK = 4096;

/**
 * The count of 1s of the column data[base .. base + n) when every value is 0 or 1 (−0 counts as 0),
 * each value written to out[outBase ..] as its bin under the threshold 0.5; −1 as soon as a block of
 * ZERO_ONE_BLOCK rows holds another value (NaN and ±Infinity included; out is then partly written).
 */
function zeroOneColumn(
  data: Float64Array,
  base: number,
  n: number,
  out: Uint8Array,
  outBase: number,
): number {
  let ones = 0;
  for (let r0 = 0; r0 < n; r0 += ZERO_ONE_BLOCK) {
    const r1 = Math.min(n, r0 + ZERO_ONE_BLOCK);
    let other = 0;
    for (let i = r0; i < r1; i++) {
      const v = data[base + i]!;
      out[outBase + i] = v;
      ones += v;
      // v · (v − 1) is 0 for 0 and 1 only (NaN or ±Infinity otherwise for NaN and ±Infinity)
      other |= +(v * (v - 1) !== 0);
    }
    if (other !== 0) return -1;
  }
  return ones;
}

/** The midpoint of the gap (lo, hi) between two training values, strictly below hi (as scikit-learn). */
export function gapMid(lo: number, hi: number): number {
  const c = lo + (hi - lo) / 2;
  return c < hi ? c : lo;
}

/** Gap cuts from the whole sorted, NaN-free column (a merge: O(rows + thresholds)). */
function gapCutsOfSorted(sorted: Float64Array, t: Float64Array): Float64Array {
  const out = new Float64Array(t.length);
  const n = sorted.length;
  let i = 0;
  for (let b = 0; b < t.length; b++) {
    const tb = t[b]!;
    while (i < n && sorted[i]! <= tb) i++;
    // the quantile thresholds lie inside the column's range; an empty side keeps the bin bound
    out[b] = i > 0 && i < n ? gapMid(sorted[i - 1]!, sorted[i]!) : tb;
  }
  return out;
}

/** Gap cuts from a whole column in row order (the thresholds came from a subsample). */
function gapCutsOfColumn(data: Float64Array, base: number, n: number, t: Float64Array): Float64Array {
  const nb = t.length + 1;
  const lo = new Float64Array(nb).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(nb).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < n; r++) {
    const v = data[base + r]!;
    if (Number.isNaN(v)) continue;
    let a = 0;
    let z = t.length;
    while (a < z) {
      const mid = (a + z) >>> 1;
      if (v <= t[mid]!) z = mid;
      else a = mid + 1;
    }
    if (v < lo[a]!) lo[a] = v;
    if (v > hi[a]!) hi[a] = v;
  }
  // largest value in bins <= b and smallest in bins > b (empty bins skipped)
  const minAbove = new Float64Array(nb);
  let m = Number.POSITIVE_INFINITY;
  for (let b = nb - 1; b >= 0; b--) {
    minAbove[b] = m;
    if (lo[b]! < m) m = lo[b]!;
  }
  const out = new Float64Array(t.length);
  let maxBelow = Number.NEGATIVE_INFINITY;
  let same = true;
  for (let b = 0; b < t.length; b++) {
    if (hi[b]! > maxBelow) maxBelow = hi[b]!;
    const up = minAbove[b]!;
    out[b] =
      maxBelow > Number.NEGATIVE_INFINITY && up < Number.POSITIVE_INFINITY ? gapMid(maxBelow, up) : t[b]!;
    if (out[b] !== t[b] || lo[b] !== hi[b]) same = false;
  }
  // one value per bin and the cuts are the bounds: binned per value after all (like a small column)
  return same && lo[t.length] === hi[t.length] ? t : out;
}

/** The most distinct values FeatureBinner counts instead of sorting a column (and at most an eighth of its rows). */
const COUNTED_MAX_DISTINCT = 16384;

/**
 * A column's distinct non-NaN values and how many rows hold each, while there are at most `limit`
 * (open addressing; no shortcut for repeated values: each row's value is counted where it is kept).
 */
class DistinctCounts {
  private readonly keys: Float64Array;
  private readonly counts: Int32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;
  private readonly limit: number;
  private readonly bits = new Float64Array(1);
  private readonly words = new Int32Array(this.bits.buffer);
  sawNaN = false;

  constructor(limit: number) {
    this.limit = limit;
    let size = 16;
    while (size < 2 * (limit + 1)) size *= 2;
    this.keys = new Float64Array(size);
    this.counts = new Int32Array(size);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
  }

  private slot(v: number): number {
    const { bits, words, keys, used, mask } = this;
    bits[0] = v;
    let h = (Math.imul(words[0]! ^ Math.imul(words[1]!, 0x9e3779b1), 0x85ebca6b) >>> 7) & mask;
    while (used[h] === 1 && keys[h] !== v) h = (h + 1) & mask;
    return h;
  }

  /**
   * The sorted distinct values of data[base .. base + n) and below[j], the values under values[j]
   * (below[values.length]: the non-NaN values), or null when there are more than `limit` distinct
   * values or a −0 (a sort puts it before +0: where it lands among the quantiles counts cannot tell).
   */
  collect(data: Float64Array, base: number, n: number): { values: Float64Array; below: Int32Array } | null {
    const { keys, counts, used } = this;
    used.fill(0);
    this.sawNaN = false;
    let distinct = 0;
    let zeros = 0;
    for (let i = 0; i < n; i++) {
      const v = data[base + i]!;
      if (Number.isNaN(v)) {
        this.sawNaN = true;
        continue;
      }
      if (v === 0) {
        if (1 / v < 0) return null;
        zeros++;
        continue;
      }
      const h = this.slot(v);
      if (used[h] === 1) counts[h]!++;
      else {
        if (distinct === this.limit) return null;
        used[h] = 1;
        keys[h] = v;
        counts[h] = 1;
        distinct++;
      }
    }
    const values = new Float64Array(distinct + (zeros > 0 ? 1 : 0));
    let j = 0;
    for (let h = 0; h < keys.length; h++) if (used[h] === 1) values[j++] = keys[h]!;
    values.sort();
    const below = new Int32Array(values.length + 1);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      below[i + 1] = below[i]! + (v === 0 ? zeros : counts[this.slot(v)]!);
    }
    return { values, below };
  }
}

/** The distinct non-NaN values of a column while there are at most `limit` of them (open addressing). */
class DistinctSet {
  private readonly keys: Float64Array;
  private readonly used: Uint8Array;
  private readonly mask: number;
  private readonly vals: Float64Array;
  private readonly limit: number;
  private readonly bits = new Float64Array(1);
  private readonly words = new Int32Array(this.bits.buffer);
  sawNaN = false;

  constructor(limit: number) {
    this.limit = limit;
    let size = 16;
    while (size < 4 * (limit + 1)) size *= 2;
    this.keys = new Float64Array(size);
    this.used = new Uint8Array(size);
    this.mask = size - 1;
    this.vals = new Float64Array(limit + 1);
  }

  /** Sorted distinct values of data[base .. base + n), or null when there are more than `limit`. */
  collect(data: Float64Array, base: number, n: number): Float64Array | null {
    const { keys, used, mask, vals, bits, words } = this;
    used.fill(0);
    this.sawNaN = false;
    let count = 0;
    // the two values seen last (most columns are flags or few-valued: most values are one of them)
    let last = Number.NaN;
    let before = Number.NaN;
    for (let i = 0; i < n; i++) {
      const v = data[base + i]! + 0; // -0 counts as 0
      if (v === last || v === before) continue;
      if (Number.isNaN(v)) {
        this.sawNaN = true;
        continue;
      }
      before = last;
      last = v;
      bits[0] = v;
      let h = (Math.imul(words[0]! ^ Math.imul(words[1]!, 0x9e3779b1), 0x85ebca6b) >>> 7) & mask;
      for (;;) {
        if (used[h] === 0) {
          if (count === this.limit) return null;
          used[h] = 1;
          keys[h] = v;
          vals[count++] = v;
          break;
        }
        if (keys[h] === v) break;
        h = (h + 1) & mask;
      }
    }
    return vals.slice(0, count).sort();
  }
}

/** Thresholds for one sorted, NaN-free column; `perValue`: one bin per distinct value. */
/** The threshold between two consecutive distinct values under `rule` (the two round differently). */
function midpoint(lo: number, hi: number, rule: BinOptions["rule"]): number {
  return rule === "averaged_inverted_cdf" ? (lo + hi) / 2 : lo + (hi - lo) / 2;
}

function findThresholds(
  sorted: Float64Array,
  maxBins: number,
  rule: BinOptions["rule"] = "midpoint",
): { t: Float64Array; perValue: boolean } {
  const n = sorted.length;
  if (n === 0) return { t: new Float64Array(0), perValue: true };
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
    for (let i = 0; i < t.length; i++) t[i] = midpoint(distinct[i]!, distinct[i + 1]!, rule);
    return { t, perValue: true };
  }
  return { t: quantileThresholds(n, (i) => sorted[i]!, maxBins, rule), perValue: false };
}

/**
 * The quantile thresholds of a sorted, NaN-free column of n values, `at(i)` its value at rank i
 * (the column itself, or its distinct values' counts).
 */
function quantileThresholds(
  n: number,
  at: (i: number) => number,
  maxBins: number,
  rule: BinOptions["rule"],
): Float64Array {
  if (rule === "averaged_inverted_cdf") {
    // numpy.percentile(..., method="averaged_inverted_cdf") at linspace(0, 100, maxBins + 1)[1:-1],
    // with numpy's arithmetic: virtual index n·q − 1; between two values only when it is an integer
    // (numpy's lerp at 1/2: hi − (hi − lo)/2), else the value above it
    const step = 100 / maxBins;
    const out: number[] = [];
    for (let q = 1; q < maxBins; q++) {
      const vi = n * ((q * step) / 100) - 1;
      const prev = Math.min(Math.max(Math.floor(vi), 0), n - 1);
      const next = Math.min(prev + 1, n - 1);
      const lo = at(prev);
      const hi = at(next);
      const v = vi - Math.floor(vi) === 0 ? hi - (hi - lo) * 0.5 : hi;
      if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
    }
    return Float64Array.from(out);
  }
  // numpy.percentile(..., method="midpoint") at linspace(0, 100, maxBins + 1)[1:-1]
  const out: number[] = [];
  for (let q = 1; q < maxBins; q++) {
    const pos = (q / maxBins) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    const v = (at(lo) + at(hi)) / 2;
    if (out.length === 0 || v > out[out.length - 1]!) out.push(v);
  }
  return Float64Array.from(out);
}

/**
 * The raw columns of the features binned at quantiles (several training values per bin; `cuts[f]` is
 * not `thresholds[f]`), for the growers' exact threshold search next to a chosen bin boundary.
 * `index[f]` is the feature's slot (column `data[slot * nRows ..]`) or -1; `single[slot * 256 + b]` is
 * bin b's training value when it holds only one (else NaN): such a bin needs no sorting, and between
 * two of them the exact threshold is their midpoint. Null when there is no such feature.
 */
export interface RawColumns {
  index: Int32Array;
  data: Float64Array;
  single: Float64Array;
}

/**
 * `bins`: binMatrix(X, mapper) if at hand (else the values are binned here). `shared`: on
 * SharedArrayBuffers (for the forest's workers). X's own columns are used where they can be (no copy).
 */
export function quantileColumns(
  X: Matrix,
  mapper: BinMapper,
  bins: Uint8Array | null = null,
  shared = false,
): RawColumns | null {
  const nCols = X.nCols;
  const n = X.nRows;
  const index = new Int32Array(nCols).fill(-1);
  // a copy only for workers when X is not shared already: the quantile columns alone, packed
  const copy = shared && !(X.data.buffer instanceof SharedArrayBuffer);
  let k = 0;
  for (let f = 0; f < nCols; f++) if (mapper.cuts[f] !== mapper.thresholds[f]) index[f] = copy ? k++ : f;
  if (copy ? k === 0 : index.every((s) => s < 0)) return null;
  const nSlots = copy ? k : nCols;
  let data = X.data;
  if (copy) {
    data = new Float64Array(new SharedArrayBuffer(8 * n * k));
    for (let f = 0; f < nCols; f++) {
      const s = index[f]!;
      if (s >= 0) data.set(X.data.subarray(f * n, (f + 1) * n), s * n);
    }
  }
  const single = shared
    ? new Float64Array(new SharedArrayBuffer(8 * 256 * nSlots))
    : new Float64Array(256 * nSlots);
  for (let f = 0; f < nCols; f++) {
    const s = index[f]!;
    if (s >= 0) singleValues(X.data, f * n, n, bins, mapper.thresholds[f]!, single, s * 256);
  }
  return { index, data, single };
}

/**
 * For the column data[base .. base + n): single[off + b] = bin b's value when all its rows hold one
 * value, else NaN (RawColumns.single). `bins`: the column's bins at the same offset, or null.
 */
export function singleValues(
  data: Float64Array,
  base: number,
  n: number,
  bins: Uint8Array | null,
  t: Float64Array,
  single: Float64Array,
  off: number,
): void {
  const lo = new Float64Array(256).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(256).fill(Number.NEGATIVE_INFINITY);
  for (let r = 0; r < n; r++) {
    const v = data[base + r]!;
    if (Number.isNaN(v)) continue;
    const b = bins ? bins[base + r]! : binOfThresholds(t, v);
    if (v < lo[b]!) lo[b] = v;
    if (v > hi[b]!) hi[b] = v;
  }
  for (let b = 0; b < 256; b++) single[off + b] = lo[b] === hi[b] ? lo[b]! : Number.NaN;
}

/** Bin index of a raw value for feature f (binary search over its thresholds). */
export function binOf(mapper: BinMapper, f: number, v: number): number {
  return binOfThresholds(mapper.thresholds[f]!, v);
}

/** Bin index of a raw value under ascending thresholds `t`. */
function binOfThresholds(t: Float64Array, v: number): number {
  if (Number.isNaN(v)) return MISSING_BIN;
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
  for (let f = 0; f < nCols; f++) binColumn(X.data, f * nRows, nRows, mapper.thresholds[f]!, out, f * nRows);
  return out;
}

/** Bin the column data[base .. base + n) at thresholds `t` into out[outBase .. outBase + n). */
export function binColumn(
  data: Float64Array,
  base: number,
  n: number,
  t: Float64Array,
  out: Uint8Array,
  outBase: number,
): void {
  const nt = t.length;
  if (nt <= 1) {
    // constant or two-valued (one-hot, flags): one comparison; NaN fails both tests
    const t0 = nt === 1 ? t[0]! : Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = data[base + i]!;
      out[outBase + i] = v <= t0 ? 0 : v > t0 ? 1 : MISSING_BIN;
    }
    return;
  }
  if (nt <= 8) {
    // few thresholds (categorical, low-cardinality features): count the thresholds below v
    for (let i = 0; i < n; i++) {
      const v = data[base + i]!;
      let b = 0;
      for (let j = 0; j < nt; j++) b += +(v > t[j]!);
      out[outBase + i] = Number.isNaN(v) ? MISSING_BIN : b;
    }
    return;
  }
  if (nt > 255) {
    // (not from fitBinMapper, which makes at most 254 thresholds)
    for (let i = 0; i < n; i++) out[outBase + i] = binOfThresholds(t, data[base + i]!);
    return;
  }
  // binary search without branches: eight halving steps over the thresholds padded with +Infinity
  const tp = new Float64Array(256).fill(Number.POSITIVE_INFINITY);
  tp.set(t);
  const t0 = t[0]!;
  for (let i = 0; i < n; i++) {
    const v = data[base + i]!;
    // the first bin without the search (counts, bytes and rates are mostly 0)
    if (v <= t0) {
      out[outBase + i] = 0;
      continue;
    }
    let b = 128 * +(v > tp[127]!);
    b += 64 * +(v > tp[b + 63]!);
    b += 32 * +(v > tp[b + 31]!);
    b += 16 * +(v > tp[b + 15]!);
    b += 8 * +(v > tp[b + 7]!);
    b += 4 * +(v > tp[b + 3]!);
    b += 2 * +(v > tp[b + 1]!);
    b += +(v > tp[b]!);
    out[outBase + i] = Number.isNaN(v) ? MISSING_BIN : b;
  }
}

export interface BinMapperJSON {
  thresholds: number[][];
  hasMissing: number[];
  /** Per feature: the split thresholds, or null where they are the bin bounds (absent in older state). */
  cuts?: (number[] | null)[];
}

/** JSON form of a bin mapper (for model state). */
export function binMapperToJSON(m: BinMapper): BinMapperJSON {
  return {
    thresholds: m.thresholds.map((t) => Array.from(t)),
    hasMissing: Array.from(m.hasMissing),
    cuts: m.cuts.map((c, f) => (c === m.thresholds[f] ? null : Array.from(c))),
  };
}

/** Reads binMapperToJSON's output; state without `cuts` splits at the bin bounds, as it was fitted. */
export function binMapperFromJSON(j: BinMapperJSON): BinMapper {
  const thresholds = j.thresholds.map((t) => Float64Array.from(t));
  return {
    nFeatures: thresholds.length,
    thresholds,
    nBins: Uint16Array.from(thresholds.map((t) => t.length + 1)),
    hasMissing: Uint8Array.from(j.hasMissing),
    cuts: thresholds.map((t, f) => {
      const c = j.cuts?.[f];
      return c ? Float64Array.from(c) : t;
    }),
  };
}
