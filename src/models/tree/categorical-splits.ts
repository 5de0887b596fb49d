/**
 * Category-set splits of a FlatTree (hist_gradient_boosting's native categorical features, as
 * scikit-learn's HistGradientBoosting routes them at predict).
 *
 * A categorical feature's values are category codes: integers 0..255. A categorical node c holds two
 * 256-bit sets, words bits[16c .. 16c + 8) the codes going left, bits[16c + 8 .. 16c + 16) the codes
 * known at fit. A known code goes left when in the left set, else right; anything else (NaN, a code
 * unseen at fit, a negative, fractional or too large value) goes the node's missing-value way
 * (missingLeft), as scikit-learn sends unknown categories the way of missing values.
 */

/** Uint32 words per categorical node: 8 (256-bit left set) + 8 (256-bit known set). */
export const CAT_WORDS = 16;
/** Category codes are integers in [0, MAX_CATEGORY_CODE]. */
export const MAX_CATEGORY_CODE = 255;

export interface CategoricalSplits {
  /** Per node: its index c into `bits` for a categorical split, −1 otherwise. */
  node: Int32Array;
  /** CAT_WORDS words per categorical node. */
  bits: Uint32Array;
}

/** Whether value v of a categorical node's feature goes left (c: the node's set index). */
export function categoryGoesLeft(bits: Uint32Array, c: number, v: number, missingLeft: number): boolean {
  if (!(v >= 0 && v <= MAX_CATEGORY_CODE && Number.isInteger(v))) return missingLeft !== 0;
  const w = c * CAT_WORDS + (v >>> 5);
  const m = 1 << (v & 31);
  if (bits[w]! & m) return true;
  return bits[w + 8]! & m ? false : missingLeft !== 0;
}

/** Whether code `v` (0..255) is in the 256-bit set at words[o .. o + 8). */
export function inSet(words: Uint32Array, o: number, v: number): boolean {
  return (words[o + (v >>> 5)]! & (1 << (v & 31))) !== 0;
}

/** Add code `v` (0..255) to the 256-bit set at words[o .. o + 8). */
export function addToSet(words: Uint32Array, o: number, v: number): void {
  words[o + (v >>> 5)]! |= 1 << (v & 31);
}
