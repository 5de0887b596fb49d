/**
 * Early stopping on a held-out validation fraction, as scikit-learn's HistGradientBoosting with
 * scoring="loss": the score is −(validation log-loss), recorded for the baseline and after every
 * iteration; fitting stops when none of the last n_iter_no_change scores beats the one before them
 * by more than tol.
 */
import { Rng } from "../../core/rng.ts";

/**
 * A stratified split of rows 0..n-1: ceil(fraction · n) validation rows (at least one, at most n − 1
 * overall), each class contributing in proportion to its size (largest remainders first, ties to the
 * lower class), drawn with a seeded shuffle. Both lists ascending. (scikit-learn's train_test_split
 * allocates the same sizes but draws with numpy's generator: the rows differ.)
 */
export function stratifiedSplit(
  y: Int32Array,
  K: number,
  fraction: number,
  seed: number,
): { train: Uint32Array; val: Uint32Array } {
  const n = y.length;
  const nVal = Math.min(n - 1, Math.max(1, Math.ceil(fraction * n)));
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < n; i++) byClass[y[i]!]!.push(i);
  const take = byClass.map((rows) => Math.floor((rows.length * nVal) / n));
  let left = nVal - take.reduce((a, b) => a + b, 0);
  const order = byClass
    .map((rows, k) => ({ k, rem: (rows.length * nVal) / n - take[k]! }))
    .sort((a, b) => b.rem - a.rem || a.k - b.k);
  for (const { k } of order) {
    if (left === 0) break;
    if (take[k]! < byClass[k]!.length) {
      take[k]!++;
      left--;
    }
  }
  const rng = new Rng(seed);
  const isVal = new Uint8Array(n);
  byClass.forEach((rows, k) => {
    const a = Uint32Array.from(rows);
    rng.shuffle(a);
    for (let i = 0; i < take[k]!; i++) isVal[a[i]!] = 1;
  });
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? val : train).push(i);
  return { train: Uint32Array.from(train), val: Uint32Array.from(val) };
}

/** scikit-learn's _should_stop: scores (higher is better) include the baseline's first. */
export function shouldStop(scores: readonly number[], nIterNoChange: number, tol: number): boolean {
  const ref = nIterNoChange + 1;
  if (scores.length < ref) return false;
  const reference = scores[scores.length - ref]! + tol;
  for (let i = scores.length - ref + 1; i < scores.length; i++) if (scores[i]! > reference) return false;
  return true;
}
