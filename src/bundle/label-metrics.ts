/**
 * How a model did on data scored with its labels (an upload or file that still has the label
 * column): the threat decision against each labelled row's label, as the pipeline's test metrics
 * judge it (accuracy, and precision, recall and F1 of the threat class). Rows without a label are
 * left out and the labelled rows counted, so a reader knows what the numbers rest on.
 */
import type { DatasetSchema } from "../datasets/schema.ts";

export interface LabelMetrics {
  /** Where the truth came from, said in every answer: the label column of the data scored. */
  source: string;
  column: string;
  labelled_rows: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
}

/**
 * Metrics of the threat decisions `isThreat` against `labels` (the label column's values, null for a
 * row without one); null when no row has a label.
 */
export function labelMetrics(
  labels: readonly (string | null)[],
  isThreat: ArrayLike<number>,
  schema: DatasetSchema,
  what: string,
): LabelMetrics | null {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let r = 0; r < labels.length; r++) {
    const l = labels[r];
    if (l === null || l === undefined) continue;
    const truth = schema.isThreat(l);
    const said = isThreat[r] === 1;
    if (said && truth) tp++;
    else if (said) fp++;
    else if (truth) fn++;
    else tn++;
  }
  const n = tp + fp + tn + fn;
  if (n === 0) return null;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    source: `computed from the ${schema.target.name} column of ${what}`,
    column: schema.target.name,
    labelled_rows: n,
    accuracy: (tp + tn) / n,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    confusion: { tp, fp, tn, fn },
  };
}

/** One line for people: "accuracy 0.9400, precision … on 50 labelled rows (computed from …)". */
export function describeLabelMetrics(m: LabelMetrics): string {
  return `on ${m.labelled_rows} labelled row(s): accuracy ${m.accuracy.toFixed(4)}, precision ${m.precision.toFixed(4)}, recall ${m.recall.toFixed(4)}, F1 ${m.f1.toFixed(4)} (threat class; ${m.source})`;
}
