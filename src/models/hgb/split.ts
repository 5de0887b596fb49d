/**
 * Best split of a node from its histogram, as scikit-learn's HistGradientBoosting splitter finds it
 * (sklearn/ensemble/_hist_gradient_boosting/splitting.pyx), numerical features:
 *
 * - a node's value is −G / (H + λ + 1e-15) and its loss G · value; a split's gain is the node's loss
 *   minus its children's (the root's value is taken as 0, as scikit-learn's grower does);
 * - per feature, bins are scanned left to right with missing values on the right (the last
 *   non-missing bin may go left only when the feature has missing values at fit, so the right child is
 *   never empty), then, for a feature with missing values at fit, right to left with missing values
 *   on the left; a candidate must leave min_samples_leaf rows and min_hessian (1e-3) hessian on each
 *   side and beat the best gain so far strictly (and 0); min_hessian is min_child_weight (XGBoost's name,
 *   LightGBM's min_sum_hessian_in_leaf; default scikit-learn's 1e-3);
 * - categorical features (./categorical.ts) are split into category sets instead;
 * - across features the first best wins (strictly greater gains replace it).
 */
import { findCategorySplit } from "./categorical.ts";

/** scikit-learn's min_hessian_to_split: min_child_weight's default. */
export const MIN_HESSIAN_TO_SPLIT = 1e-3;

export interface SplitParams {
  minSamplesLeaf: number;
  /** The least summed hessian either child may have (a split leaving less is not a candidate). */
  minChildWeight: number;
  l2: number;
}

export interface SplitInfo {
  gain: number;
  feature: number;
  /** Non-missing bins <= bin go left (numerical splits). */
  bin: number;
  /** Categorical splits: the bins going left (8 words, bit 255 the missing bin); null otherwise. */
  cats: Uint32Array | null;
  /** 1: missing values go left (from the right-to-left scan). */
  missingLeft: number;
  gl: number;
  hl: number;
  nl: number;
  gr: number;
  hr: number;
  nr: number;
}

/** A node's (unshrunk) value: −G / (H + λ + 1e-15), scikit-learn's compute_node_value. */
export function nodeValue(G: number, H: number, l2: number): number {
  return -G / (H + l2 + 1e-15);
}

/**
 * The best split of a node (hist: histogram in histOffsets layout), or null when none has a positive
 * gain. `value`: the node's value (0 for the root). `allowed`: per feature 1 when it may be split on
 * (feature subsampling), null for all. `categorical`: per feature 1 when categorical, null for none.
 */
export function findBestSplit(
  hist: Float64Array,
  off: Int32Array,
  nBins: Uint16Array,
  hasMissing: Uint8Array,
  n: number,
  G: number,
  H: number,
  value: number,
  p: SplitParams,
  allowed: Uint8Array | null,
  categorical: Uint8Array | null = null,
): SplitInfo | null {
  const { minSamplesLeaf: minLeaf, minChildWeight: minH, l2 } = p;
  const lossNode = G * value;
  let best: SplitInfo | null = null;
  for (let f = 0; f < nBins.length; f++) {
    if (allowed && allowed[f] === 0) continue;
    const ho = off[f]!;
    const nb = nBins[f]!;
    const miss = hasMissing[f]!;
    if (categorical?.[f]) {
      const c = findCategorySplit(hist, ho, nb, miss, n, G, H, lossNode, p);
      if (c && (best === null || c.gain > best.gain))
        best = {
          gain: c.gain,
          feature: f,
          bin: -1,
          cats: c.left,
          missingLeft: (c.left[7]! >>> 31) & 1,
          gl: c.gl,
          hl: c.hl,
          nl: c.nl,
          gr: G - c.gl,
          hr: H - c.hl,
          nr: n - c.nl,
        };
      continue;
    }
    let bestGain = -1;
    let bBin = -1;
    let bMissLeft = 0;
    let bGl = 0;
    let bHl = 0;
    let bNl = 0;
    // left to right: missing values (if any) on the right
    const end = nb - 1 + miss;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let b = 0; b < end; b++) {
      const o = ho + b * 3;
      nl += hist[o + 2]!;
      hl += hist[o + 1]!;
      gl += hist[o]!;
      const nr = n - nl;
      const hr = H - hl;
      const gr = G - gl;
      if (nl < minLeaf) continue;
      if (nr < minLeaf) break;
      if (hl < minH) continue;
      if (hr < minH) break;
      const gain = lossNode - gl * nodeValue(gl, hl, l2) - gr * nodeValue(gr, hr, l2);
      if (gain > bestGain && gain > 0) {
        bestGain = gain;
        bBin = b;
        bMissLeft = 0;
        bGl = gl;
        bHl = hl;
        bNl = nl;
      }
    }
    if (miss) {
      // right to left: missing values on the left
      let gr = 0;
      let hr = 0;
      let nr = 0;
      for (let b = nb - 2; b >= 0; b--) {
        const o = ho + (b + 1) * 3;
        nr += hist[o + 2]!;
        hr += hist[o + 1]!;
        gr += hist[o]!;
        const nl2 = n - nr;
        const hl2 = H - hr;
        const gl2 = G - gr;
        if (nr < minLeaf) continue;
        if (nl2 < minLeaf) break;
        if (hr < minH) continue;
        if (hl2 < minH) break;
        const gain = lossNode - gl2 * nodeValue(gl2, hl2, l2) - gr * nodeValue(gr, hr, l2);
        if (gain > bestGain && gain > 0) {
          bestGain = gain;
          bBin = b;
          bMissLeft = 1;
          bGl = gl2;
          bHl = hl2;
          bNl = nl2;
        }
      }
    }
    if (bBin >= 0 && (best === null || bestGain > best.gain)) {
      best = {
        gain: bestGain,
        feature: f,
        bin: bBin,
        cats: null,
        missingLeft: bMissLeft,
        gl: bGl,
        hl: bHl,
        nl: bNl,
        gr: G - bGl,
        hr: H - bHl,
        nr: n - bNl,
      };
    }
  }
  return best;
}
