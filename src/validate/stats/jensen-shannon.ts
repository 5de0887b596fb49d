/**
 * Jensen–Shannon distance between two category count vectors (same category order) =
 * scipy's `spatial.distance.jensenshannon(p, q, base=2)`:
 *   m = (p + q) / 2,  JSD = (KL(p‖m) + KL(q‖m)) / 2  in bits,  distance = √JSD ∈ [0, 1]
 * with p, q the counts normalised to proportions. 0 for identical proportions, 1 when the two samples
 * share no category. A category absent from one sample contributes through m only (0·log 0 = 0).
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  if (p.length !== q.length) throw new RangeError("jensenShannonDistance: count vectors differ in length");
  const ps = p.reduce((a, b) => a + b, 0);
  const qs = q.reduce((a, b) => a + b, 0);
  if (ps === 0 || qs === 0) return Number.NaN;
  let kl = 0; // KL(p‖m) + KL(q‖m), natural log
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / ps;
    const b = q[i]! / qs;
    const m = (a + b) / 2;
    if (a > 0) kl += a * Math.log(a / m);
    if (b > 0) kl += b * Math.log(b / m);
  }
  // rounding can leave a divergence of about −1e-17 for identical inputs: that is a distance of 0
  return Math.sqrt(Math.max(0, kl / 2 / Math.LN2));
}
