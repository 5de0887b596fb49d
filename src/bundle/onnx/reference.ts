/**
 * A plain TypeScript evaluator of a PipelineIR, in float64, written for clarity rather than speed: the
 * oracle the exported ONNX graph is tested against (see ir.ts for the semantics it implements).
 */

import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import {
  type ColumnIR,
  type LinearIR,
  MISSING_CATEGORY,
  type PipelineIR,
  type TreeEnsembleIR,
} from "./ir.ts";

export interface ReferenceOutput {
  /** Row-major class probabilities, nRows × K. */
  proba: Float64Array;
  /** Threat probability per row. */
  probability: Float64Array;
  /** Class index of the output label per row. */
  labelIndex: Int32Array;
  /** Output label per row (strings, or numbers for int64 labels). */
  labels: (string | number)[];
}

/** Raw value of column `c` at row `r` of a frame: number (NaN = missing) or string (MISSING_CATEGORY = missing). */
function rawValue(frame: Frame, c: ColumnIR, r: number): number | string {
  const col = frame.column(c.column);
  if (c.kind === "numeric") {
    if (col.kind !== "numeric") {
      throw new NetsecError(
        "SCHEMA_MISMATCH",
        `column ${c.column} is categorical, the model expects numbers`,
        {
          column: c.column,
        },
      );
    }
    return col.values[r]!;
  }
  if (col.kind === "categorical") {
    const code = col.codes[r]!;
    return code < 0 ? MISSING_CATEGORY : col.categories[code]!;
  }
  const v = col.values[r]!;
  // a categorical column that was read as numbers (e.g. "0"/"1" codes): compare by string form
  return Number.isNaN(v) ? MISSING_CATEGORY : String(v);
}

/** KNN-imputed values of row r's KNN columns (NaN where no donor has the column), by column name. */
function knnRow(ir: PipelineIR, frame: Frame, r: number): Map<string, number> {
  const knn = ir.knnImputer!;
  const p = knn.columns.length;
  const x = knn.columns.map((n) => frame.numeric(n)[r]!);
  const out = new Map(knn.columns.map((n, j) => [n, x[j]!]));
  if (!x.some((v) => Number.isNaN(v))) return out;
  const dist = knn.donors.map((d) => {
    let sum = 0;
    let present = 0;
    for (let j = 0; j < p; j++) {
      if (Number.isNaN(x[j]!) || Number.isNaN(d[j]!)) continue;
      sum += (x[j]! - d[j]!) ** 2;
      present++;
    }
    return present === 0 ? Number.NaN : Math.sqrt((p / present) * sum);
  });
  for (let j = 0; j < p; j++) {
    if (!Number.isNaN(x[j]!)) continue;
    const cand = knn.donors
      .map((_, i) => i)
      .filter((i) => !Number.isNaN(knn.donors[i]![j]!) && !Number.isNaN(dist[i]!))
      .sort((a, b) => dist[a]! - dist[b]! || a - b)
      .slice(0, knn.k);
    if (cand.length === 0) continue;
    let sum = 0;
    for (const i of cand) sum += knn.donors[i]![j]!;
    out.set(knn.columns[j]!, sum / cand.length);
  }
  return out;
}

/** The F preprocessed features of row r. */
export function featureRow(ir: PipelineIR, frame: Frame, r: number): Float64Array {
  const byName = new Map(ir.columns.map((c) => [c.column, c]));
  const knn = ir.knnImputer ? knnRow(ir, frame, r) : null;
  const out: number[] = [];
  for (const name of ir.featureOrder) {
    const c = byName.get(name)!;
    const v = rawValue(frame, c, r);
    if (c.kind === "numeric") {
      const x = knn?.has(name) ? knn.get(name)! : (v as number);
      out.push(Number.isNaN(x) && c.impute !== null ? c.impute : x);
    } else {
      const s = v === MISSING_CATEGORY && c.impute !== null ? c.impute : (v as string);
      for (const cat of c.categories) out.push(cat === s ? 1 : 0);
    }
  }
  if (ir.scaler) {
    for (let j = 0; j < out.length; j++) out[j] = (out[j]! - ir.scaler.mean[j]!) / ir.scaler.scale[j]!;
  }
  return Float64Array.from(out);
}

function softmaxInPlace(s: Float64Array): void {
  let max = -Infinity;
  for (const v of s) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    s[i] = Math.exp(s[i]! - max);
    sum += s[i]!;
  }
  for (let i = 0; i < s.length; i++) s[i] = s[i]! / sum;
}

/** Class probabilities (length K) of one preprocessed feature row. */
export function classProba(ir: PipelineIR, x: Float64Array): Float64Array {
  const m = ir.model;
  if (m.kind !== "soft_vote") return memberProba(m, x);
  // the members' probabilities added in member order, then divided by their number
  let sum: Float64Array | null = null;
  for (const member of m.members) {
    const p = memberProba(member, x);
    if (!sum) sum = p;
    else for (let k = 0; k < p.length; k++) sum[k] = sum[k]! + p[k]!;
  }
  for (let k = 0; k < sum!.length; k++) sum![k] = sum![k]! / m.members.length;
  return sum!;
}

/** Class probabilities of one scoring model (a tree ensemble or a linear model). */
function memberProba(m: TreeEnsembleIR | LinearIR, x: Float64Array): Float64Array {
  let s: Float64Array;
  if (m.kind === "linear") {
    s = new Float64Array(m.coef.length);
    for (let w = 0; w < s.length; w++) {
      let acc = m.intercept[w]!;
      const row = m.coef[w]!;
      for (let j = 0; j < x.length; j++) acc += row[j]! * x[j]!;
      s[w] = acc;
    }
  } else {
    const W = m.width;
    s = new Float64Array(W);
    if (m.derived) {
      const { weights, bias } = m.derived;
      const xd = new Float64Array(x.length + bias.length);
      xd.set(x);
      for (let d = 0; d < bias.length; d++) {
        let acc = bias[d]!;
        const row = weights[d]!;
        for (let j = 0; j < x.length; j++) acc += row[j]! * x[j]!;
        xd[x.length + d] = acc;
      }
      x = xd;
    }
    for (const t of m.trees) {
      let i = 0;
      while (t.feature[i]! >= 0) {
        const v = x[t.feature[i]!]!;
        const goLeft = Number.isNaN(v) ? t.missingGoesLeft[i] === 1 : v <= t.threshold[i]!;
        i = goLeft ? t.left[i]! : t.right[i]!;
      }
      for (let w = 0; w < W; w++) s[w] = s[w]! + t.value[i * W + w]!;
    }
    if (m.aggregate === "average") for (let w = 0; w < W; w++) s[w] = s[w]! / m.trees.length;
    for (let w = 0; w < W; w++) s[w] = s[w]! + m.base[w]!;
  }
  if (m.transform === "logistic") {
    const p1 = 1 / (1 + Math.exp(-s[0]!));
    return Float64Array.of(1 - p1, p1);
  }
  if (m.transform === "softmax") softmaxInPlace(s);
  return s;
}

/** Threat probability from class probabilities (binary: P[threat]; multiclass: Σ P[threat], in class order). */
export function threatProbability(ir: PipelineIR, p: ArrayLike<number>): number {
  if (ir.nClasses === 2) return p[ir.classIsThreat.indexOf(true)]!;
  let threat = 0;
  for (let k = 0; k < ir.nClasses; k++) if (ir.classIsThreat[k]) threat += p[k]!;
  return threat;
}

/** Evaluate the whole pipeline on every row of `frame`. Cost: O(rows × (F + model)). */
export function evaluatePipelineIR(ir: PipelineIR, frame: Frame): ReferenceOutput {
  const n = frame.nRows;
  const K = ir.nClasses;
  const proba = new Float64Array(n * K);
  const probability = new Float64Array(n);
  const labelIndex = new Int32Array(n);
  const threatIdx = ir.classIsThreat.indexOf(true);
  const benignIdx = ir.classIsThreat.indexOf(false);
  for (let r = 0; r < n; r++) {
    const p = classProba(ir, featureRow(ir, frame, r));
    proba.set(p, r * K);
    probability[r] = threatProbability(ir, p);
    if (ir.decision === "threshold" && K === 2) {
      labelIndex[r] = probability[r]! >= ir.threshold ? threatIdx : benignIdx;
    } else if (ir.decision === "threshold") {
      // the side first, then the most probable class of that side
      const side = probability[r]! >= ir.threshold;
      let best = -1;
      for (let k = 0; k < K; k++)
        if (ir.classIsThreat[k] === side && (best < 0 || p[k]! > p[best]!)) best = k;
      labelIndex[r] = best;
    } else {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[k]! > p[best]!) best = k;
      labelIndex[r] = best;
    }
  }
  const labels = Array.from(labelIndex, (k) => ir.labels.values[k]!);
  return { proba, probability, labelIndex, labels };
}
