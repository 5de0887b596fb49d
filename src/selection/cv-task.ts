/**
 * One cross-validation task (runs in a pool worker or inline): fit a model with given params on the
 * fold's training rows of the search's binned matrix (shared: every task and worker reads the same
 * SharedArrayBuffers; the fold is a list of row indices, never a copy of the matrix), return threat
 * probabilities for its validation rows and the training score (in the search's scoring, so the
 * train–CV gap compares like with like). Tree learners fit on the bins themselves (fitBinned); other
 * models on the fold's rows decoded to float64. Predictions decode DECODE_CHUNK_ROWS rows at a time.
 * The model runs single-threaded here (the search parallelises over tasks).
 */
import { createModel } from "../models/registry.ts";
import { type BinnedMatrix, fitOnBinned, forRowChunks, mapRowChunks } from "../models/tree/binned-matrix.ts";
import type { Classifier } from "../models/types.ts";
import { argmaxRows, foldScore, macroF1, type Scoring } from "./metrics.ts";

export interface CvTaskArgs {
  /** The search's training matrix, binned once (its arrays on SharedArrayBuffers). */
  X: BinnedMatrix;
  /** Class index of every row of X (shared). */
  y: Int32Array;
  nClasses: number;
  /** Class indices that are threats (their probabilities are summed). */
  threatClasses: number[];
  /** The fold's training and validation rows of X, ascending (shared). */
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
  const ytr = Int32Array.from(a.train, (i) => a.y[i]!);
  const ybin = Int32Array.from(ytr, (c) => (a.threatClasses.includes(c) ? 1 : 0));
  const m = createModel(a.model, a.params);
  // when each estimator was done, for the stages' fit times
  const doneAt: number[] = [];
  const t0 = performance.now();
  const rep = await fitOnBinned(m, a.X, a.y, a.nClasses, {
    rows: a.train,
    threads: 1,
    ...(a.stages ? { onProgress: (d: number) => void (doneAt[d] ??= performance.now() - t0) } : {}),
  });
  const proba = (rows: Uint32Array) => mapRowChunks(a.X, rows, a.nClasses, (X) => m.predictProba(X));
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
  if (!a.stages) return [result(proba(a.test), proba(a.train), rep.fitSeconds)];
  const stages = a.stages;
  const te = stagedChunks(a, m, stages, a.test);
  const tr = stagedChunks(a, m, stages, a.train);
  return stages.map((n, i) => {
    // the first progress report at or after n estimators (or the whole fit, e.g. after an early stop)
    let at: number | undefined;
    for (let d = n; d < doneAt.length && at === undefined; d++) at = doneAt[d];
    return result(te[i]!, tr[i]!, Math.min(rep.fitSeconds, (at ?? Number.POSITIVE_INFINITY) / 1000));
  });
}

/**
 * Every stage's probabilities on `rows` of X, decoded a chunk at a time: in one pass over the trees
 * where the model can (stagedProba), else per stage (truncate).
 */
function stagedChunks(a: CvTaskArgs, m: Classifier, stages: number[], rows: Uint32Array): Float64Array[] {
  const truncated = m.stagedProba
    ? null
    : stages.map((n) => {
        if (!m.truncate) throw new TypeError(`${a.model} cannot be scored in stages`);
        return m.truncate(n);
      });
  const outs = stages.map(() => new Float64Array(rows.length * a.nClasses));
  forRowChunks(a.X, rows, (X, from) => {
    const per = m.stagedProba ? m.stagedProba(X, stages) : truncated!.map((t) => t.predictProba(X));
    per.forEach((p, i) => {
      outs[i]!.set(p, from * a.nClasses);
    });
  });
  return outs;
}

declare module "../core/tasks.ts" {
  interface TaskFns {
    "selection.cv": typeof runCvTask;
  }
}
