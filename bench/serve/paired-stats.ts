/**
 * The median of paired measurements and its distribution-free 95 % interval (order statistics), for
 * bench/serve/monitor-ab.ts: each pair is one round of a server with monitoring on and one with it off
 * run back to back, so the machine's other jobs weigh on both sides of a pair alike and its ratio
 * holds while the rounds' own figures move far more.
 */

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
