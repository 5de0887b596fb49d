/**
 * Native categorical features of hist_gradient_boosting, as scikit-learn's HistGradientBoosting
 * (1.x, `categorical_features`) bins and splits them:
 *
 * - a categorical feature's values are category codes (integers 0..255, NaN missing); its categories
 *   are the codes seen in all the training rows (before the early-stopping split, as scikit-learn's),
 *   at most max_bins of them, one bin each in ascending code order;
 * - a node's split (splitting.pyx, _find_best_bin_to_split_category): the categories with enough
 *   support (hessian sum · n / H ≥ MIN_CAT_SUPPORT = 10, LightGBM's cat_smooth; the missing bin, when
 *   the feature had missing values at fit, is one more category) are sorted by G / (H + 10); the first
 *   ones of that order go left, scanned from each end up to the middle; the best gain wins (left to
 *   right first, strictly greater gains replace). Low-support categories always go right. Equal ratios
 *   keep ascending bin order (scikit-learn's qsort leaves their order to the C library).
 *
 * A split's left set is held in bin space (bit b: bin b; bit 255: the missing bin), and the tree stores
 * it as category codes (tree/categorical-splits.ts).
 */
import { NetsecError } from "../../core/errors.ts";
import type { Matrix } from "../../core/frame.ts";
import { MAX_CATEGORY_CODE } from "../tree/categorical-splits.ts";
import { nodeValue, type SplitParams } from "./split.ts";

/** scikit-learn's MIN_CAT_SUPPORT (LightGBM's cat_smooth): support needed, and the ratio's smoothing. */
export const MIN_CAT_SUPPORT = 10;
/** The bin-space bit standing for missing values (MISSING_BIN). */
const MISSING_BIT = 255;

/** What `categorical_features` may be: column indices, a mask over the columns, or column names. */
export type CategoricalFeatures = readonly number[] | readonly boolean[] | readonly string[] | null;

/**
 * Per column: its categories (ascending codes) when categorical, else null. Every value of a
 * categorical column must be NaN or an integer code 0..255, and there may be at most maxBins codes.
 */
export function findCategories(
  X: Matrix,
  mask: Uint8Array,
  maxBins: number,
  model: string,
): (Int32Array | null)[] {
  const n = X.nRows;
  return Array.from(mask, (isCat, f) => {
    if (!isCat) return null;
    const seen = new Uint8Array(MAX_CATEGORY_CODE + 1);
    const name = X.names?.[f] ?? `${f}`;
    for (let r = 0; r < n; r++) {
      const v = X.data[f * n + r]!;
      if (Number.isNaN(v)) continue;
      if (!(Number.isInteger(v) && v >= 0 && v <= MAX_CATEGORY_CODE))
        throw new NetsecError(
          "DATA_INVALID",
          `${model}: categorical feature ${name} has value ${v} in row ${r}; categories must be integer codes 0..${MAX_CATEGORY_CODE}`,
          { column: name, row: r, value: v },
        );
      seen[v] = 1;
    }
    const cats = Int32Array.from(Array.from(seen).flatMap((s, v) => (s ? [v] : [])));
    if (cats.length > maxBins)
      throw new NetsecError(
        "DATA_INVALID",
        `${model}: categorical feature ${name} has ${cats.length} categories, more than max_bins (${maxBins})`,
        { column: name, categories: cats.length, maxBins },
      );
    return cats;
  });
}

/** Bin categorical column f of X (column-major, n rows) into bins[f·n ..]: a code's bin is its rank. */
export function binCategories(
  X: Matrix,
  f: number,
  categories: Int32Array,
  bins: Uint8Array,
  missingBin: number,
): void {
  const n = X.nRows;
  const rank = new Int32Array(MAX_CATEGORY_CODE + 1).fill(-1);
  categories.forEach((c, i) => {
    rank[c] = i;
  });
  for (let r = 0; r < n; r++) {
    const v = X.data[f * n + r]!;
    bins[f * n + r] = Number.isNaN(v) ? missingBin : rank[v]!;
  }
}

export interface CategorySplit {
  gain: number;
  gl: number;
  hl: number;
  nl: number;
  /** Bins going left (8 words; bit 255: the missing bin). */
  left: Uint32Array;
}

/**
 * The best category-set split of feature f's histogram slots hist[ho ..] (nb non-missing bins, then
 * the missing slot), or null when none has a positive gain. n, G, H: the node's rows and sums;
 * lossNode: G · the node's value.
 */
export function findCategorySplit(
  hist: Float64Array,
  ho: number,
  nb: number,
  hasMissing: number,
  n: number,
  G: number,
  H: number,
  lossNode: number,
  p: SplitParams,
): CategorySplit | null {
  const supportFactor = n / H;
  const used: number[] = [];
  const ratio: number[] = [];
  const consider = (bin: number, slot: number): void => {
    const hb = hist[ho + slot * 3 + 1]!;
    if (hb * supportFactor >= MIN_CAT_SUPPORT) {
      used.push(bin);
      ratio.push(hist[ho + slot * 3]! / (hb + MIN_CAT_SUPPORT));
    }
  };
  for (let b = 0; b < nb; b++) consider(b, b);
  if (hasMissing) consider(MISSING_BIT, nb);
  const m = used.length;
  if (m <= 1) return null;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => ratio[a]! - ratio[b]! || a - b);
  const slotOf = (bin: number): number => (bin === MISSING_BIT ? nb : bin);
  let best: { gain: number; at: number; dir: number; gl: number; hl: number; nl: number } | null = null;
  for (const dir of [1, -1]) {
    const middle = dir === 1 ? (m + 1) >> 1 : ((m + 1) >> 1) - 1;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let i = 0; i < middle; i++) {
      const at = dir === 1 ? i : m - 1 - i;
      const o = ho + slotOf(used[order[at]!]!) * 3;
      nl += hist[o + 2]!;
      hl += hist[o + 1]!;
      gl += hist[o]!;
      const nr = n - nl;
      const hr = H - hl;
      const gr = G - gl;
      if (nl < p.minSamplesLeaf || hl < p.minChildWeight) continue;
      if (nr < p.minSamplesLeaf || hr < p.minChildWeight) break;
      const gain = lossNode - gl * nodeValue(gl, hl, p.l2) - gr * nodeValue(gr, hr, p.l2);
      if (gain > (best?.gain ?? -1) && gain > 0) best = { gain, at, dir, gl, hl, nl };
    }
  }
  if (!best) return null;
  const left = new Uint32Array(8);
  const [from, to] = best.dir === 1 ? [0, best.at] : [best.at, m - 1];
  for (let i = from; i <= to; i++) {
    const bin = used[order[i]!]!;
    left[bin >>> 5]! |= 1 << (bin & 31);
  }
  return { gain: best.gain, gl: best.gl, hl: best.hl, nl: best.nl, left };
}
