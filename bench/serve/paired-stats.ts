/**
 * The median of paired measurements and its distribution-free 95 % interval (order statistics), for
 * bench/serve/monitor-ab.ts: each pair is one round of a server with monitoring on and one with it off
 * run back to back, so the machine's other jobs weigh on both sides of a pair alike and its ratio
 * holds while the rounds' own figures move far more.
 */

import { Rng } from "../../src/core/rng.ts";

/** P(X ≤ k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n; // C(n, 0) / 2^n
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

export interface MedianInterval {
  median: number;
  /** The interval's ends (null with too few values for a 95 % interval: fewer than 6). */
  low: number | null;
  high: number | null;
  /** Its coverage: P(low ≤ the true median ≤ high), at least 0.95 when the ends are given. */
  coverage: number;
  n: number;
}

/**
 * The median of `xs` and the interval between its k-th smallest and k-th largest values, k the
 * largest with P(Binomial(n, 1/2) < k) ≤ 2.5 %: it holds the true median with probability ≥ 95 %
 * whatever the values' distribution (independent pairs with a common median assumed).
 */
export function medianInterval(xs: readonly number[]): MedianInterval {
  const n = xs.length;
  if (n === 0) throw new Error("medianInterval: no values");
  const s = [...xs].sort((a, b) => a - b);
  const median = n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  let k = 0;
  while (k + 1 <= n / 2 && binomialHalfCdf(n, k) <= 0.025) k++;
  // k: the largest with P(X ≤ k − 1) ≤ 0.025 (0 when even the extremes fall short)
  if (k === 0) return { median, low: null, high: null, coverage: 1 - 2 * binomialHalfCdf(n, 0), n };
  return { median, low: s[k - 1]!, high: s[n - k]!, coverage: 1 - 2 * binomialHalfCdf(n, k - 1), n };
}

const medianOf = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/**
 * The median of every group's values and a 95 % interval that allows for the groups differing: a
 * two-stage bootstrap (groups drawn with replacement, then values within each drawn group), the
 * 2.5th and 97.5th percentiles of `reps` resampled medians. For pairs measured on several pairs of
 * server processes (monitor-ab.ts --blocks): one process may run a few percent faster than another
 * for as long as it lives (where its threads landed, what its compiler made of the hot code), which
 * pairs within one block cannot average out and an interval over pairs alone would hide.
 */
export function groupedMedianInterval(
  groups: readonly (readonly number[])[],
  reps = 4000,
  seed = 1,
): MedianInterval {
  const all = groups.flat();
  if (all.length === 0) throw new Error("groupedMedianInterval: no values");
  if (groups.length < 2) return medianInterval(all);
  // seeded, so the same figures give the same interval
  const rng = new Rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const medians: number[] = [];
  for (let r = 0; r < reps; r++) {
    const sample: number[] = [];
    for (let g = 0; g < groups.length; g++) {
      const group = pick(groups);
      for (let i = 0; i < group.length; i++) sample.push(pick(group));
    }
    medians.push(medianOf(sample));
  }
  medians.sort((a, b) => a - b);
  return {
    median: medianOf(all),
    low: medians[Math.floor(0.025 * reps)]!,
    high: medians[Math.ceil(0.975 * reps) - 1]!,
    coverage: 0.95,
    n: all.length,
  };
}
