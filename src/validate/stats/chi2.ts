/**
 * Chi-squared test of homogeneity between two samples' category counts = scipy's
 * `chi2_contingency(table_2xk, correction=False)`. Categories absent from both samples are dropped
 * (their expected count would be zero); a category present in only one sample is kept.
 *
 * Why no Yates correction: the question is whether two samples share one distribution; Yates'
 * continuity correction only applies to 2x2 tables (dof = 1) and is known to be over-conservative there.
 */
import { chi2Sf } from "./special.ts";

export interface Chi2Result {
  statistic: number;
  pValue: number;
  dof: number;
}

export function chi2Homogeneity(ref: readonly number[], cur: readonly number[]): Chi2Result {
  if (ref.length !== cur.length) throw new RangeError("chi2Homogeneity: count vectors differ in length");
  const cols: [number, number][] = [];
  for (let i = 0; i < ref.length; i++) if (ref[i]! + cur[i]! > 0) cols.push([ref[i]!, cur[i]!]);
  const n1 = cols.reduce((a, c) => a + c[0], 0);
  const n2 = cols.reduce((a, c) => a + c[1], 0);
  const dof = cols.length - 1;
  if (dof <= 0 || n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1, dof: Math.max(dof, 0) };
  const n = n1 + n2;
  let stat = 0;
  for (const [a, b] of cols) {
    const col = a + b;
    const e1 = (n1 * col) / n;
    const e2 = (n2 * col) / n;
    stat += (a - e1) ** 2 / e1 + (b - e2) ** 2 / e2;
  }
  return { statistic: stat, pValue: chi2Sf(stat, dof), dof };
}
