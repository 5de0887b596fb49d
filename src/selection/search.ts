/**
 * Hyperparameter search with stratified k-fold cross-validation: grid (cartesian product; the original
 * project's grids by default) or random (n_iter draws). Every (candidate, fold) pair is one task on the
 * worker pool; the feature matrix is binned once and shared (SharedArrayBuffer), rows are passed as
 * index arrays.
 * Results do not depend on the number of threads (each task is deterministic in its inputs).
 * Selection: best mean CV score of the chosen metric, ties → first in grid order. Never the test set.
 */
import { NetsecError } from "../core/errors.ts";
import type { Matrix } from "../core/frame.ts";
import { runTasks } from "../core/pool.ts";
import { Rng } from "../core/rng.ts";
import { type Task, task } from "../core/tasks.ts";
import { parseParams, snakeCase } from "../models/params.ts";
import { getModelSpec } from "../models/registry.ts";
import { type BinnedMatrix, binnedMatrix } from "../models/tree/binned-matrix.ts";
import type { CvTaskResult } from "./cv-task.ts";
import type { Fold } from "./kfold.ts";
import { foldScore, macroF1, type Scoring } from "./metrics.ts";

// the scoring definitions live in metrics.ts so that the CV worker task can score training rows too
export { foldScore, type Scoring } from "./metrics.ts";

export interface CandidateResult {
  model: string;
  params: Record<string, unknown>;
  /** The metric of cv_scores, cv_mean and train_mean (the search's scoring). */
  scoring: Scoring;
  cv_scores: number[];
  cv_mean: number;
  cv_std: number;
  /** Mean over folds of the score on the fold's training rows, in `scoring` (the train–CV gap gate). */
  train_mean: number;
  fit_seconds: number;
}

/** One planned fit whose folds are all done: the candidates it scored, in candidate order. */
export interface FitDone {
  /** Completed fits so far (1-based) and all fits of the search. */
  done: number;
  total: number;
  model: string;
  /** Several when candidates that differ only in n_estimators share the fit (see planSearch). */
  candidates: CandidateResult[];
}

export interface ModelSearchResult {
  model: string;
  candidates: CandidateResult[];
  best: CandidateResult;
  /** Out-of-fold threat probabilities of the best candidate, per training row. */
  oof: Float64Array;
}

function n(c: { model: string; params: Record<string, unknown> }): number {
  const spec = getModelSpec(c.model);
  return (parseParams(spec.paramSchema, c.params, c.model) as Record<string, number>)[
    spec.stageParam ?? "nEstimators"
  ]!;
}

/**
 * Cartesian product of a grid, each merged over `fixed`; keys in snake_case (the spelling users read
 * and write; the estimators normalise them), so every candidate shows as its grid spelled it.
 */
export function expandGrid(
  grid: Record<string, readonly unknown[]>,
  fixed: Record<string, unknown> = {},
): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{ ...fixed }];
  for (const [k, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new NetsecError("CONFIG_INVALID", `grid parameter ${k} needs a non-empty list of values`, {
        parameter: k,
      });
    }
    const key = snakeCase(k);
    out = out.flatMap((base) => values.map((v) => ({ ...base, [key]: v })));
  }
  return out;
}

/** n_iter random draws from a grid's lists (without repeats when the grid is small). */
export function sampleGrid(
  grid: Record<string, readonly unknown[]>,
  nIter: number,
  seed: number,
  fixed: Record<string, unknown> = {},
): Record<string, unknown>[] {
  const all = expandGrid(grid, fixed);
  if (all.length <= nIter) return all;
  const idx = Uint32Array.from({ length: all.length }, (_, i) => i);
  new Rng(seed).shuffle(idx);
  return Array.from(idx.subarray(0, nIter))
    .sort((a, b) => a - b)
    .map((i) => all[i]!);
}

export interface SearchOptions {
  scoring: Scoring;
  targetFpr: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /** Each planned fit as soon as all its folds are done (for per-candidate progress). */
  onFit?: (e: FitDone) => void;
  /** Each model as soon as all its fits are done, with its best candidate. */
  onModelDone?: (e: { model: string; best: CandidateResult; candidates: number }) => void;
  signal?: AbortSignal;
  /** Candidates that differ only in n_estimators share one fit (default true; see planSearch). */
  shareFits?: boolean;
  /** A float64 X is binned with this seed (the quantile subsample above 200,000 rows). Default 0. */
  binSeed?: number;
}

/**
 * The fits a search needs: candidates of a staged model (capabilities.staged) that differ only in
 * n_estimators share one fit with the largest of them (scored at every smaller n from the same fit,
 * which gives exactly the models separate fits would); every other candidate is a fit of its own.
 */
export interface SearchPlan {
  fits: { model: string; params: Record<string, unknown>; stages?: number[]; candidates: number[] }[];
}

export function planSearch(
  candidates: readonly { model: string; params: Record<string, unknown> }[],
  shareFits = true,
): SearchPlan {
  const fits: SearchPlan["fits"] = [];
  const byKey = new Map<string, { fit: SearchPlan["fits"][number]; n: number[] }>();
  candidates.forEach((c, ci) => {
    const spec = getModelSpec(c.model);
    const parsed =
      spec.capabilities.staged && shareFits
        ? (parseParams(spec.paramSchema, c.params, c.model) as Record<string, unknown>)
        : null;
    const stageParam = spec.stageParam ?? "nEstimators";
    const n = parsed?.[stageParam];
    if (!parsed || typeof n !== "number") {
      fits.push({ model: c.model, params: c.params, candidates: [ci] });
      return;
    }
    const { [stageParam]: _n, ...rest } = parsed;
    const key = `${c.model}\u0000${JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let g = byKey.get(key);
    if (!g) {
      g = { fit: { model: c.model, params: c.params, stages: [], candidates: [] }, n: [] };
      byKey.set(key, g);
      fits.push(g.fit);
    }
    g.fit.candidates.push(ci);
    g.n.push(n);
  });
  for (const g of byKey.values()) {
    const stages = [...new Set(g.n)].sort((a, b) => a - b);
    const max = stages[stages.length - 1]!;
    const top = g.fit.candidates[g.n.indexOf(max)]!;
    g.fit.params = candidates[top]!.params;
    if (g.fit.candidates.length === 1) delete g.fit.stages;
    else g.fit.stages = stages;
  }
  return { fits };
}

/**
 * The search's pool tasks, one per (planned fit, fold). Everything large in them is on
 * SharedArrayBuffers, the same ones in every task (the bins, raw columns, labels, and each fold's row
 * indices, made shared once here): a worker receives references, not copies.
 */
export function cvTasks(
  X: BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  threatClasses: number[],
  plan: SearchPlan,
  folds: readonly Fold[],
  opts: Pick<SearchOptions, "scoring" | "targetFpr">,
): Task<"selection.cv">[] {
  const ys = sharedCopy(y);
  const shared = folds.map((f) => ({ train: sharedCopy(f.train), test: sharedCopy(f.test) }));
  return plan.fits.flatMap((p) =>
    shared.map((f) =>
      task("selection.cv", {
        X,
        y: ys,
        nClasses,
        threatClasses,
        train: f.train,
        test: f.test,
        model: p.model,
        params: p.params,
        scoring: opts.scoring,
        targetFpr: opts.targetFpr,
        ...(p.stages ? { stages: p.stages } : {}),
      }),
    ),
  );
}

/** A typed array's copy on a SharedArrayBuffer (itself when it already is on one). */
function sharedCopy<T extends Int32Array | Uint32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = new (a.constructor as { new (b: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/**
 * Evaluate candidates (per model) on the folds. `X`: the training matrix binned once
 * (BinnedMatrixBuilder, binnedMatrix), or a float64 matrix, binned here (with `opts.binSeed`). Every
 * task reads the same shared bins; a fold is its row indices (cvTasks). Tree learners therefore fit
 * each fold on bins fitted on all of X's rows, validation rows included (as LightGBM's cv does with
 * its Dataset): unsupervised, the labels never enter the bins. Progress counts fits x folds (see
 * planSearch). `y` holds class indices 0..nClasses-1; `threatClasses` the indices whose
 * probabilities add up to P(threat), which every scoring but f1_macro (on the classes themselves) is
 * computed from.
 */
export async function searchCV(
  X: Matrix | BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  threatClasses: number[],
  candidates: { model: string; params: Record<string, unknown> }[],
  folds: Fold[],
  opts: SearchOptions,
): Promise<ModelSearchResult[]> {
  for (const c of candidates) getModelSpec(c.model);
  const plan = planSearch(candidates, opts.shareFits ?? true);
  const nf = folds.length;
  const B = "bins" in X ? X : binnedMatrix(X, { seed: opts.binSeed ?? 0 });
  const tasks = cvTasks(B, y, nClasses, threatClasses, plan, folds, opts);
  const ybin = Int32Array.from(y, (c) => (threatClasses.includes(c) ? 1 : 0));
  // per candidate, in candidate order: its result and out-of-fold probabilities, filled in as soon as
  // the fit it belongs to has all its folds (so progress can report scores while the search runs)
  const out: CvTaskResult[][] = new Array(tasks.length);
  const cands: CandidateResult[] = new Array(candidates.length);
  const oofs: Float64Array[] = new Array(candidates.length);
  const foldsDone = new Int32Array(plan.fits.length);
  const ofModel = new Map<string, number[]>();
  candidates.forEach((c, ci) => {
    let l = ofModel.get(c.model);
    if (!l) ofModel.set(c.model, (l = []));
    l.push(ci);
  });
  const fitsLeft = new Map<string, number>();
  for (const p of plan.fits) fitsLeft.set(p.model, (fitsLeft.get(p.model) ?? 0) + 1);
  // best mean CV score, ties → first in grid order
  const bestOf = (idx: readonly number[]): number => {
    let bi = idx[0]!;
    for (const ci of idx) if (cands[ci]!.cv_mean > cands[bi]!.cv_mean) bi = ci;
    return bi;
  };
  let fitsDone = 0;
  const scoreFit = (pi: number): void => {
    const p = plan.fits[pi]!;
    for (const ci of p.candidates) {
      const stage = p.stages ? p.stages.indexOf(n(candidates[ci]!)) : 0;
      const scores: number[] = [];
      let train = 0;
      let fit = 0;
      const oof = new Float64Array(y.length);
      folds.forEach((f, fi) => {
        const r = out[pi * nf + fi]![stage]!;
        if (opts.scoring === "f1_macro")
          scores.push(
            macroF1(
              Int32Array.from(f.test, (i) => y[i]!),
              r.pred!,
            ),
          );
        else {
          const yt = Int32Array.from(f.test, (i) => ybin[i]!);
          scores.push(foldScore(opts.scoring, yt, r.score, opts.targetFpr));
        }
        train += r.trainScore / nf;
        fit += r.fitSeconds;
        f.test.forEach((row, j) => {
          oof[row] = r.score[j]!;
        });
      });
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      cands[ci] = {
        model: candidates[ci]!.model,
        params: candidates[ci]!.params,
        scoring: opts.scoring,
        cv_scores: scores,
        cv_mean: mean,
        cv_std: std,
        train_mean: train,
        fit_seconds: fit,
      };
      oofs[ci] = oof;
    }
    opts.onFit?.({
      done: ++fitsDone,
      total: plan.fits.length,
      model: p.model,
      candidates: p.candidates.map((ci) => cands[ci]!),
    });
    const left = fitsLeft.get(p.model)! - 1;
    fitsLeft.set(p.model, left);
    if (left === 0 && opts.onModelDone) {
      const idx = ofModel.get(p.model)!;
      opts.onModelDone({ model: p.model, best: cands[bestOf(idx)]!, candidates: idx.length });
    }
  };
  await runTasks(tasks, {
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    onDone: (d, t, ti, r) => {
      out[ti] = r;
      const pi = Math.floor(ti / nf);
      if (++foldsDone[pi]! === nf) scoreFit(pi);
      opts.onProgress?.(d, t);
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return [...ofModel.entries()].map(([model, idx]) => {
    const bi = bestOf(idx);
    return { model, candidates: idx.map((ci) => cands[ci]!), best: cands[bi]!, oof: oofs[bi]! };
  });
}
