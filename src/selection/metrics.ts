/**
 * Evaluation metrics. Binary: the positive class is the threat (y = 1), scores are threat
 * probabilities. Definitions follow scikit-learn:
 * - roc_auc: area under the ROC curve with tied scores collapsed into one point (= the Mann–Whitney
 *   statistic with ties counted one half);
 * - pr_auc: average precision Σ (R_n − R_{n−1}) · P_n over distinct thresholds, descending (step-wise,
 *   not trapezoidal);
 * - tpr_at_fpr(t): the largest true-positive rate among ROC points (distinct thresholds) whose
 *   false-positive rate is at most t — the detection rate an analyst gets within an alert budget.
 */
import { NetsecError } from "../core/errors.ts";

/**
 * The metrics a search can select on (and the train–CV gap gate compares, like with like). All but
 * f1_macro score the threat decision (threat vs benign from P(threat)); f1_macro is the macro F1 over
 * the target's classes of the predicted class (see macroF1).
 */
export type Scoring = "f1" | "roc_auc" | "pr_auc" | "tpr_at_fpr" | "accuracy" | "f1_macro";

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  roc_auc: number;
  pr_auc: number;
  tpr_at_fpr_1pct: number;
  tpr_at_fpr_01pct: number;
  threshold: number;
  confusion: { tn: number; fp: number; fn: number; tp: number };
  support: { positive: number; negative: number };
}

export interface RocPoint {
  threshold: number;
  fpr: number;
  tpr: number;
  precision: number;
}

/** ROC/PR points over distinct thresholds, descending (first point: nothing flagged). */
export function curve(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): RocPoint[] {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]!);
  let P = 0;
  let N = 0;
  for (let i = 0; i < n; i++) {
    const w = weight ? weight[i]! : 1;
    if (y[i] === 1) P += w;
    else N += w;
  }
  const pts: RocPoint[] = [{ threshold: Number.POSITIVE_INFINITY, fpr: 0, tpr: 0, precision: 1 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    const r = order[i]!;
    const w = weight ? weight[r]! : 1;
    if (y[r] === 1) tp += w;
    else fp += w;
    if (i === n - 1 || score[order[i + 1]!] !== score[r]) {
      pts.push({
        threshold: score[r]!,
        fpr: N ? fp / N : 0,
        tpr: P ? tp / P : 0,
        precision: tp + fp ? tp / (tp + fp) : 1,
      });
    }
  }
  return pts;
}

export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>, weight?: ArrayLike<number>): number {
  const pts = curve(y, score, weight);
  let auc = 0;
  for (let i = 1; i < pts.length; i++)
    auc += ((pts[i]!.fpr - pts[i - 1]!.fpr) * (pts[i]!.tpr + pts[i - 1]!.tpr)) / 2;
  return auc;
}

export function averagePrecision(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  weight?: ArrayLike<number>,
): number {
  const pts = curve(y, score, weight);
  let ap = 0;
  for (let i = 1; i < pts.length; i++) ap += (pts[i]!.tpr - pts[i - 1]!.tpr) * pts[i]!.precision;
  return ap;
}

export function tprAtFpr(y: ArrayLike<number>, score: ArrayLike<number>, target: number): number {
  let best = 0;
  for (const p of curve(y, score)) if (p.fpr <= target + 1e-15 && p.tpr > best) best = p.tpr;
  return best;
}

/**
 * One score of `scoring` for threat probabilities `s` against `y`: F1 and accuracy at 0.5 (the
 * threshold is chosen after the search), tpr_at_fpr at `targetFpr`. Used for CV folds and, in the
 * same worker task, for the fold's training rows, so the train–CV gap compares the same metric.
 */
export function foldScore(
  scoring: Scoring,
  y: ArrayLike<number>,
  s: ArrayLike<number>,
  targetFpr: number,
): number {
  switch (scoring) {
    case "roc_auc":
      return rocAuc(y, s);
    case "pr_auc":
      return averagePrecision(y, s);
    case "tpr_at_fpr":
      return tprAtFpr(y, s, targetFpr);
    case "accuracy": {
      // binaryMetrics(...).accuracy without sorting for the curves (training rows are many)
      const c = confusion(y, s, 0.5);
      return (c.tp + c.tn) / Math.max(1, y.length);
    }
    case "f1_macro":
      // a class metric: it needs the predicted classes, which threat scores do not carry
      throw new TypeError("f1_macro is scored from predicted classes (macroF1), not from threat scores");
    default:
      return f1Score(y, s, 0.5);
  }
}

/** Per row, the most probable class of row-major probabilities (n × k); the first on ties. */
export function argmaxRows(proba: ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const o = r * k;
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[o + c]! > proba[o + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Macro F1 of predicted classes: the unweighted mean of each class's F1 over the classes present in
 * `y` or `pred` (scikit-learn's f1_score(average="macro") without `labels`), so that a CV fold which
 * happens to hold no row of a rare class is not scored 0 for it. Classes are indices >= 0.
 */
export function macroF1(y: ArrayLike<number>, pred: ArrayLike<number>): number {
  let k = 0;
  for (let i = 0; i < y.length; i++) k = Math.max(k, y[i]! + 1, pred[i]! + 1);
  const tp = new Float64Array(k);
  const inY = new Float64Array(k);
  const inPred = new Float64Array(k);
  for (let i = 0; i < y.length; i++) {
    inY[y[i]!]!++;
    inPred[pred[i]!]!++;
    if (y[i] === pred[i]) tp[y[i]!]!++;
  }
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    if (inY[c] === 0 && inPred[c] === 0) continue;
    present++;
    // 2·tp / (2·tp + fp + fn) = 2·tp / (|y = c| + |pred = c|): the F1 of precision and recall
    sum += (2 * tp[c]!) / (inY[c]! + inPred[c]!);
  }
  return present ? sum / present : 0;
}

/** Confusion counts at a threshold (score >= threshold is a threat). */
function confusion(y: ArrayLike<number>, score: ArrayLike<number>, threshold: number) {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = score[i]! >= threshold ? 1 : 0;
    if (pred === 1 && y[i] === 1) tp++;
    else if (pred === 1) fp++;
    else if (y[i] === 1) fn++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

function f1Of(tp: number, fp: number, fn: number): number {
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
}

/** F1 of the threat class at a threshold: binaryMetrics(...).f1 without the curves. */
export function f1Score(y: ArrayLike<number>, score: ArrayLike<number>, threshold = 0.5): number {
  const { tp, fp, fn } = confusion(y, score, threshold);
  return f1Of(tp, fp, fn);
}

export function binaryMetrics(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  threshold = 0.5,
): BinaryMetrics {
  const { tp, fp, tn, fn } = confusion(y, score, threshold);
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const pts = curve(y, score);
  let auc = 0;
  let ap = 0;
  let t1 = 0;
  let t01 = 0;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    auc += ((b.fpr - a.fpr) * (b.tpr + a.tpr)) / 2;
    ap += (b.tpr - a.tpr) * b.precision;
  }
  for (const p of pts) {
    if (p.fpr <= 0.01 + 1e-15) t1 = Math.max(t1, p.tpr);
    if (p.fpr <= 0.001 + 1e-15) t01 = Math.max(t01, p.tpr);
  }
  return {
    accuracy: (tp + tn) / Math.max(1, y.length),
    precision,
    recall,
    f1: f1Of(tp, fp, fn),
    roc_auc: auc,
    pr_auc: ap,
    tpr_at_fpr_1pct: t1,
    tpr_at_fpr_01pct: t01,
    threshold,
    confusion: { tn, fp, fn, tp },
    support: { positive: tp + fn, negative: tn + fp },
  };
}

export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface MulticlassMetrics {
  /** Rows whose predicted class is their class, over all rows (unseen rows are never right). */
  accuracy: number;
  per_class: Record<string, ClassReport>;
  /** Unweighted means over the K classes (a class without support or predictions counts as 0). */
  macro: { precision: number; recall: number; f1: number };
  /** Means weighted by each class's support. */
  weighted: { precision: number; recall: number; f1: number };
  /** K × K counts: row = actual class, column = predicted class (rows of unseen classes left out). */
  confusion: number[][];
  classes: string[];
}

/**
 * Per-class precision, recall, F1 and support, their macro and weighted means, and the confusion
 * matrix: scikit-learn's classification_report / confusion_matrix with `labels` = the K classes and
 * zero_division = 0. A row whose actual class is not one of them (`y` < 0: a label the model never
 * saw in training) has no row in the matrix and no support, but its prediction still counts against
 * the precision of the class it was given — as scikit-learn counts it.
 */
export function multiclassMetrics(
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
  classes: readonly string[],
): MulticlassMetrics {
  const K = classes.length;
  const cm = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const predicted = new Float64Array(K);
  for (let i = 0; i < y.length; i++) {
    predicted[pred[i]!]!++;
    if (y[i]! >= 0) cm[y[i]!]![pred[i]!]!++;
  }
  const per: Record<string, ClassReport> = {};
  let correct = 0;
  let seen = 0;
  for (let k = 0; k < K; k++) for (let j = 0; j < K; j++) seen += cm[k]![j]!;
  const mac = { precision: 0, recall: 0, f1: 0 };
  const wtd = { precision: 0, recall: 0, f1: 0 };
  for (let k = 0; k < K; k++) {
    const tp = cm[k]![k]!;
    correct += tp;
    let rowSum = 0;
    for (let j = 0; j < K; j++) rowSum += cm[k]![j]!;
    const colSum = predicted[k]!;
    const precision = colSum ? tp / colSum : 0;
    const recall = rowSum ? tp / rowSum : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    per[classes[k]!] = { precision, recall, f1, support: rowSum };
    mac.precision += precision / K;
    mac.recall += recall / K;
    mac.f1 += f1 / K;
    const w = seen ? rowSum / seen : 0;
    wtd.precision += precision * w;
    wtd.recall += recall * w;
    wtd.f1 += f1 * w;
  }
  return {
    accuracy: correct / Math.max(1, y.length),
    per_class: per,
    macro: mac,
    weighted: wtd,
    confusion: cm,
    classes: [...classes],
  };
}

/** Thin a curve to at most `max` points for charts (keeps the first and last). */
export function thin<T>(pts: readonly T[], max = 200): T[] {
  if (pts.length <= max) return [...pts];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(pts[Math.round((i * (pts.length - 1)) / (max - 1))]!);
  return out;
}

/**
 * The decision threshold on cross-validated threat probabilities: the one maximising F1, or the lowest
 * threshold whose FPR stays within `targetFpr`.
 */
export function chooseThreshold(
  y: ArrayLike<number>,
  score: ArrayLike<number>,
  strategy: "max_f1" | "target_fpr",
  targetFpr = 0.01,
): number {
  const pts = curve(y, score);
  let P = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) P++;
  if (strategy === "target_fpr") {
    let best = pts[0]!;
    for (const p of pts) if (p.fpr <= targetFpr + 1e-15 && p.tpr >= best.tpr) best = p;
    if (Number.isFinite(best.threshold)) return best.threshold;
    // Even the highest score holds more benign rows than the budget allows: every threshold that flags
    // anything breaks it (and 1 would still flag rows that scored exactly 1). A model that flags
    // nothing detects nothing: say so instead of returning a threshold that breaks the budget.
    const top = pts[1];
    let N = 0;
    for (let i = 0; i < y.length; i++) if (y[i] !== 1) N++;
    throw new NetsecError(
      "GATE_FAILED",
      `threshold: no decision threshold keeps the false-positive rate within ${targetFpr}: the highest score${top ? ` (${top.threshold})` : ""} alone is given to ${top ? Math.round(top.fpr * N) : 0} of ${N} benign rows (FPR ${top ? top.fpr.toFixed(4) : "-"}); allow a larger threshold.target_fpr or choose another model`,
      { value: targetFpr, rows: N },
    );
  }
  let bestF = -1;
  let bestT = 0.5;
  for (const p of pts.slice(1)) {
    const tp = p.tpr * P;
    const prec = p.precision;
    const rec = P ? tp / P : 0;
    const f = prec + rec ? (2 * prec * rec) / (prec + rec) : 0;
    if (f > bestF) {
      bestF = f;
      bestT = p.threshold;
    }
  }
  return Math.min(1, Math.max(0, bestT));
}
