/**
 * One cross-validation task (runs in a pool worker or inline): fit a model with given params on the
 * fold's training rows of a shared matrix, return threat probabilities for its validation rows and the
 * training score. The model runs single-threaded here (the search parallelises over tasks).
 */
import { allocMatrix, type Matrix } from "../core/frame.ts";
import { createModel } from "../models/registry.ts";
import { binaryMetrics } from "./metrics.ts";

export interface CvTaskArgs {
  data: Float64Array;
  nRows: number;
  nCols: number;
  y: Int32Array;
  nClasses: number;
  /** Class indices that are threats (their probabilities are summed). */
  threatClasses: number[];
  train: Uint32Array;
  test: Uint32Array;
  model: string;
  params: Record<string, unknown>;
}

export interface CvTaskResult {
  /** Threat probability per validation row (same order as `test`). */
  score: Float64Array;
  trainF1: number;
  fitSeconds: number;
}

function rows(a: CvTaskArgs, idx: Uint32Array): Matrix {
  const m = allocMatrix(idx.length, a.nCols);
  for (let c = 0; c < a.nCols; c++) {
    const so = c * a.nRows;
    const dO = c * idx.length;
    for (let i = 0; i < idx.length; i++) m.data[dO + i] = a.data[so + idx[i]!]!;
  }
  return m;
}

export function threatScore(
  proba: Float64Array,
  n: number,
  k: number,
  threat: readonly number[],
): Float64Array {
  const out = new Float64Array(n);
  if (threat.length === 1) {
    // one threat class (binary targets): a strided copy
    const t = threat[0]!;
    for (let r = 0; r < n; r++) out[r] = proba[r * k + t]!;
    return out;
  }
  const nt = threat.length;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < nt; j++) s += proba[r * k + threat[j]!]!;
    out[r] = s;
  }
  return out;
}

export async function runCvTask(a: CvTaskArgs): Promise<CvTaskResult> {
  const Xtr = rows(a, a.train);
  const ytr = Int32Array.from(a.train, (i) => a.y[i]!);
  const m = createModel(a.model, a.params);
  const rep = await m.fit(Xtr, ytr, a.nClasses, { threads: 1 });
  const Xte = rows(a, a.test);
  const score = threatScore(m.predictProba(Xte), a.test.length, a.nClasses, a.threatClasses);
  const trScore = threatScore(m.predictProba(Xtr), a.train.length, a.nClasses, a.threatClasses);
  const ybin = Int32Array.from(ytr, (c) => (a.threatClasses.includes(c) ? 1 : 0));
  return { score, trainF1: binaryMetrics(ybin, trScore, 0.5).f1, fitSeconds: rep.fitSeconds };
}
