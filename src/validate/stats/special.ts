/**
 * Special functions the drift tests need, hand-written (no npm library covers them with scipy's
 * accuracy): log-gamma, the regularised incomplete gamma (chi-squared survival function), and the
 * one-sided Smirnov survival function.
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS_G + 2; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k). */
export function lnBinom(n: number, k: number): number {
  return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

const EPS = 1e-16;
const TINY = 1e-300;

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a): series for x < a + 1, Lentz continued
 * fraction otherwise (Numerical Recipes 6.2), to ~1e-15 relative.
 */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || x < 0 || Number.isNaN(x)) return Number.NaN;
  if (x === 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const lnPre = a * Math.log(x) - x - lgamma(a);
  if (x < a + 1) {
    // P by series, Q = 1 - P
    let sum = 1 / a;
    let del = sum;
    let ap = a;
    for (let n = 0; n < 10_000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(lnPre);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(lnPre) * h;
}

/** Chi-squared survival function P(X > x) with `dof` degrees of freedom. */
export function chi2Sf(x: number, dof: number): number {
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}

/**
 * One-sided Smirnov survival function P(D_n^+ >= x), exactly, by the Birnbaum–Tingey sum
 *   x · Σ_{j=0}^{⌊n(1−x)⌋} C(n,j) (1 − x − j/n)^(n−j) (x + j/n)^(j−1)
 * whose terms are all positive, summed in log space with a max shift (cost O(n)).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const jmax = Math.floor(n * (1 - x) + 1e-12);
  const logs = new Float64Array(jmax + 1);
  let maxLog = Number.NEGATIVE_INFINITY;
  const lnx = Math.log(x);
  const lgn1 = lgamma(n + 1);
  for (let j = 0; j <= jmax; j++) {
    const a = 1 - x - j / n;
    if (a <= 0) {
      logs[j] = Number.NEGATIVE_INFINITY;
      continue;
    }
    const l =
      lgn1 - lgamma(j + 1) - lgamma(n - j + 1) + (n - j) * Math.log(a) + (j - 1) * Math.log(x + j / n) + lnx;
    logs[j] = l;
    if (l > maxLog) maxLog = l;
  }
  let s = 0;
  for (let j = 0; j <= jmax; j++) s += Math.exp(logs[j]! - maxLog);
  const p = Math.exp(maxLog) * s;
  return Math.min(1, Math.max(0, p));
}
