/**
 * Population stability index between reference and current bin counts:
 *   PSI = Σ (c_i − r_i) · ln(c_i / r_i)
 * with r_i, c_i the bin proportions, floored at 1e-4 so an empty bin gives a large but finite term.
 * Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 */
export const PSI_EPSILON = 1e-4;

export function psi(ref: readonly number[], cur: readonly number[]): number {
  const rs = ref.reduce((a, b) => a + b, 0);
  const cs = cur.reduce((a, b) => a + b, 0);
  if (rs === 0 || cs === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = Math.max(ref[i]! / rs, PSI_EPSILON);
    const c = Math.max(cur[i]! / cs, PSI_EPSILON);
    s += (c - r) * Math.log(c / r);
  }
  return s;
}

/** Decile edges of a weighted sample (values ascending with counts), de-duplicated: ≤ 9 inner edges. */
export function decileEdges(values: Float64Array, counts: Float64Array, bins = 10): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const edges: number[] = [];
  let cum = 0;
  let q = 1;
  for (let i = 0; i < values.length && q < bins; i++) {
    cum += counts[i]!;
    while (q < bins && cum >= (q * n) / bins) {
      if (edges.length === 0 || values[i]! > edges[edges.length - 1]!) edges.push(values[i]!);
      q++;
    }
  }
  // the last edge equal to the maximum would leave an empty top bin
  while (edges.length && edges[edges.length - 1]! >= values[values.length - 1]!) edges.pop();
  return edges;
}

/** Counts of a weighted sample in bins (-inf, e0], (e0, e1], ..., (e_last, inf). */
export function binCounts(values: Float64Array, counts: Float64Array, edges: readonly number[]): number[] {
  const out = new Array<number>(edges.length + 1).fill(0);
  let b = 0;
  for (let i = 0; i < values.length; i++) {
    while (b < edges.length && values[i]! > edges[b]!) b++;
    out[b]! += counts[i]!;
  }
  return out;
}
