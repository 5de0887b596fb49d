/**
 * The model's inputs by importance, for the `important_feature` alert: the mean absolute contribution
 * of each input column to the threat score (tree path contributions, or coefficient × value; the
 * model's own `explainAll`) over up to `SAMPLE_ROWS` training rows taken at an even stride. Empty for
 * a model without contributions.
 */
import type { BundlePredictor } from "../bundle/bundle.ts";
import type { Frame } from "../core/frame.ts";

export const SAMPLE_ROWS = 500;

/**
 * The rows of an n-row training frame importantInputs explains (SAMPLE_ROWS evenly spaced). Those rows
 * taken beforehand give the same answer: on them (at most SAMPLE_ROWS) it explains every row in order.
 */
export function importanceSampleRows(n: number): Int32Array {
  const step = Math.max(1, Math.floor(n / SAMPLE_ROWS));
  return Int32Array.from({ length: Math.min(n, SAMPLE_ROWS) }, (_, i) => i * step);
}

export function importantInputs(bp: BundlePredictor, train: Frame): string[] {
  const n = train.nRows;
  if (n === 0 || !bp.model.contributions) return [];
  const k = bp.manifest.input_columns.length;
  const sum = new Map<string, number>();
  for (const row of bp.explainAll(train.take(importanceSampleRows(n)), k))
    for (const c of row) sum.set(c.feature, (sum.get(c.feature) ?? 0) + Math.abs(c.contribution));
  return [...sum.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([f]) => f);
}
