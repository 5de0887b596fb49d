/**
 * First Wasserstein (earth mover's) distance between two one-dimensional weighted samples =
 * scipy's `stats.wasserstein_distance(u_values, v_values, u_weights, v_weights)`:
 *   W = ∫ |F_u(x) − F_v(x)| dx
 * over the pooled sorted values, with F the weighted ECDFs (weights normalised to sum 1). The result is
 * in the column's own units; `detectDrift` divides it by a scale (see there) to make thresholds mean
 * the same on every column.
 *
 * Inputs are distinct ascending values with counts (a stored profile's value → count table is enough).
 */
import type { WeightedSample } from "./ks.ts";

export function wassersteinDistance(u: WeightedSample, v: WeightedSample): number {
  const nu = sum(u.counts);
  const nv = sum(v.counts);
  if (nu === 0 || nv === 0) return Number.NaN;
  // walk both ascending value lists at once; between two consecutive pooled values x_k < x_{k+1},
  // both ECDFs are constant, so the integral adds |F_u − F_v| · (x_{k+1} − x_k)
  let i = 0;
  let j = 0;
  let cu = 0;
  let cv = 0;
  let prev = Number.NaN;
  let w = 0;
  while (i < u.values.length || j < v.values.length) {
    const x =
      j >= v.values.length || (i < u.values.length && u.values[i]! <= v.values[j]!)
        ? u.values[i]!
        : v.values[j]!;
    if (!Number.isNaN(prev)) w += Math.abs(cu / nu - cv / nv) * (x - prev);
    while (i < u.values.length && u.values[i] === x) cu += u.counts[i++]!;
    while (j < v.values.length && v.values[j] === x) cv += v.counts[j++]!;
    prev = x;
  }
  return w;
}

function sum(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return s;
}
