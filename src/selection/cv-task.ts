/**
 * One cross-validation task (runs in a pool worker or inline): fit a model with given params on the
 * fold's training rows of a shared matrix, return threat probabilities for its validation rows and the
 * training score (in the search's scoring, so the train–CV gap compares like with like). The model runs
 * single-threaded here (the search parallelises over tasks).
 */
import { allocMatrix, type Matrix } from "../core/frame.ts";
import { createModel } from "../models/registry.ts";
import { argmaxRows, foldScore, macroF1, type Scoring } from "./metrics.ts";

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
  /** The search's metric, for the score on the fold's training rows. */
  scoring: Scoring;
  /** FPR budget of scoring tpr_at_fpr. */
  targetFpr: number;
  /**
   * For a staged model (capabilities.staged) fitted with the largest n_estimators of a group: the
   * n_estimators values to score, ascending; one result each, as if each had been fitted alone.
   */
  stages?: number[];
}

export interface CvTaskResult {
  /** Threat probability per validation row (same order as `test`). */
  score: Float64Array;
  /** Scoring f1_macro only: the most probable class per validation row (the fold is scored on it). */
  pred?: Int32Array;
  /** The score on the fold's training rows, in CvTaskArgs.scoring. */
  trainScore: number;
  /** Seconds to fit this candidate (for a stage: until its last estimator was grown). */
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

function scoreOf(a: CvTaskArgs, proba: Float64Array, rows: number): Float64Array {
  return threatScore(proba, rows, a.nClasses, a.threatClasses);
}

/** One result, or one per stage (a.stages) from a single fit. */
export async function runCvTask(a: CvTaskArgs): Promise<CvTaskResult[]> {
  const Xtr = rows(a, a.train);
  const ytr = Int32Array.from(a.train, (i) => a.y[i]!);
  const ybin = Int32Array.from(ytr, (c) => (a.threatClasses.includes(c) ? 1 : 0));
  const m = createModel(a.model, a.params);
  // when each estimator was done, for the stages' fit times
  const doneAt: number[] = [];
  const t0 = performance.now();
  const rep = await m.fit(Xtr, ytr, a.nClasses, {
    threads: 1,
    ...(a.stages ? { onProgress: (d: number) => void (doneAt[d] ??= performance.now() - t0) } : {}),
  });
  const Xte = rows(a, a.test);
  // f1_macro scores the predicted class (argmax: the decision threshold is chosen after the search);
  // every other scoring the threat probability
  const macro = a.scoring === "f1_macro";
  const trainScore = (p: Float64Array) =>
    macro
      ? macroF1(ytr, argmaxRows(p, a.train.length, a.nClasses))
      : foldScore(a.scoring, ybin, scoreOf(a, p, a.train.length), a.targetFpr);
  const result = (te: Float64Array, tr: Float64Array, fitSeconds: number): CvTaskResult => ({
    score: scoreOf(a, te, a.test.length),
    ...(macro ? { pred: argmaxRows(te, a.test.length, a.nClasses) } : {}),
    trainScore: trainScore(tr),
    fitSeconds,
  });
  if (!a.stages) return [result(m.predictProba(Xte), m.predictProba(Xtr), rep.fitSeconds)];
  const stages = a.stages;
  // every stage's probabilities: in one pass over the trees where the model can, else per stage
  const staged = (X: Matrix): Float64Array[] =>
    m.stagedProba
      ? m.stagedProba(X, stages)
      : stages.map((n) => {
          if (!m.truncate) throw new TypeError(`${a.model} cannot be scored in stages`);
          return m.truncate(n).predictProba(X);
        });
  const te = staged(Xte);
  const tr = staged(Xtr);
  return stages.map((n, i) => {
    // the first progress report at or after n estimators (or the whole fit, e.g. after an early stop)
    let at: number | undefined;
    for (let d = n; d < doneAt.length && at === undefined; d++) at = doneAt[d];
    return result(te[i]!, tr[i]!, Math.min(rep.fitSeconds, (at ?? Number.POSITIVE_INFINITY) / 1000));
  });
}
