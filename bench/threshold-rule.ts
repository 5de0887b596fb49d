/**
 * The one-standard-error rule for the decision threshold (CART's and glmnet's `1se` idea applied to
 * max_f1): the threshold that maximises F1 on the out-of-fold scores is kept only when it beats 0.5 on
 * the folds by more than the standard error of that gain; otherwise 0.5, the threshold the model's
 * probabilities were fitted for. Why: the folds' models see (k − 1)/k of the rows and the refit all of
 * them, so a threshold tuned to the folds' probabilities carries their noise to the refit (BENCHMARKS.md,
 * issue 15: max F1 lowered test F1 against 0.5 on 10 of 12 settings over 10 splits).
 *
 * Per fold f: d_f = F1(fold f's rows at t) − F1(fold f's rows at 0.5); gain = mean d_f,
 * se = sample standard deviation of d_f / √k; t is kept when gain > se.
 */
import type { Fold } from "../src/selection/kfold.ts";
import { f1Score } from "../src/selection/metrics.ts";

export interface ThresholdDecision {
  /** The threshold to use: `t` or 0.5. */
  threshold: number;
  /** Mean over the folds of F1 at t minus F1 at 0.5. */
  gain: number;
  /** Standard error of that mean (0 with identical fold gains). */
  se: number;
}

export function oneSeThreshold(
  y: ArrayLike<number>,
  oof: ArrayLike<number>,
  folds: readonly Fold[],
  t: number,
): ThresholdDecision {
  const k = folds.length;
  const d = folds.map((f) => {
    const yf = Array.from(f.test, (r) => y[r]!);
    const sf = Array.from(f.test, (r) => oof[r]!);
    return f1Score(yf, sf, t) - f1Score(yf, sf, 0.5);
  });
  const gain = d.reduce((a, b) => a + b, 0) / k;
  const variance = k > 1 ? d.reduce((a, b) => a + (b - gain) ** 2, 0) / (k - 1) : 0;
  const se = Math.sqrt(variance / k);
  return { threshold: gain > se ? t : 0.5, gain, se };
}
