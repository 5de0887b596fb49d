/**
 * The tune step with a single candidate (one model, one param set): there is nothing to select, so
 * cross-validation would spend its folds' fits on a score nobody chooses with. A model that scores
 * its fit rows out of bag (random_forest with bootstrap) is fitted once on every training row, and
 * those scores stand in for the out-of-fold ones: the threshold, the oof metrics, the train–CV gap
 * gate and the monitoring reference read them as they read CV's. The leaderboard row says so.
 * `search.force_cv` (`--force-cv`) runs the folds anyway.
 */
import { getModelSpec } from "../../models/registry.ts";
import { threatScore } from "../../selection/cv-task.ts";
import { argmaxRows, foldScore, macroF1 } from "../../selection/metrics.ts";
import type { CandidateResult, ModelSearchResult } from "../../selection/search.ts";
import type { PipelineRun } from "../runner.ts";
import { bestLine, type LeaderboardRow } from "../train.ts";
import { type Refitted, refitOnAllRows } from "./evaluate.ts";
import type { Transformed } from "./transform.ts";
import type { Tuned } from "./tune.ts";

type Candidate = { model: string; params: Record<string, unknown> };

/**
 * The share of training rows that may be scored by the trees that left out the row but not all its
 * twins (OutOfBag.nearDuplicates: large groups of identical rows, rarely all out of a bag at once);
 * past it the run cross-validates. (On the 1 M-row NSL-KDD file: 10 rows; on phishing, where half
 * the rows repeat another, far more.)
 */
const MAX_NEAR_DUPLICATES = 0.01;

/** Whether a single candidate is scored out of bag instead of by CV (`parsed`: its parsed params). */
export function outOfBagInstead(
  run: PipelineRun,
  candidates: readonly Candidate[],
  parsed: Record<string, unknown>,
): boolean {
  if (candidates.length !== 1 || run.cfg.search.force_cv) return false;
  return getModelSpec(candidates[0]!.model).capabilities.outOfBag?.(parsed) === true;
}

/**
 * The single candidate fitted once with its out-of-bag scores: the tune step's result, or, when some
 * training row was in every tree's bootstrap sample (few trees), the fit alone, for the CV that
 * then runs to reuse as its refit.
 */
export async function outOfBagTune(
  run: PipelineRun,
  t: Transformed,
  only: Candidate,
  dup: { groups: Int32Array; nGroups: number },
): Promise<{ tuned: Tuned } | { refit: Refitted }> {
  const { cfg } = run;
  const search = cfg.search;
  const n = t.Xtr.nRows;
  const K = t.space.classes.length;
  run.progress(
    "tune",
    0,
    `search: 1 candidate, nothing to select: no CV; its out-of-bag scores stand in for out-of-fold ones (--force-cv runs ${search.cv} folds)`,
  );
  // identical training rows: a row is out of a tree's bag only with all its duplicates (as the
  // duplicate-aware folds keep them on one side)
  const refit = await refitOnAllRows(run, t, only.model, only.params, run.signal, "tune", {
    outOfBag: true,
    ...(dup.nGroups < n ? { oobGroups: dup.groups } : {}),
  });
  const oob = refit.rep.outOfBag;
  const why = !oob
    ? `${only.model} gave no out-of-bag scores`
    : oob.missing > 0
      ? `out-of-bag scores miss ${oob.missing} of ${n} training rows (in every tree's bootstrap sample)`
      : oob.nearDuplicates > MAX_NEAR_DUPLICATES * n
        ? `${oob.nearDuplicates} of ${n} training rows have a twin in every tree's bootstrap sample (more than ${100 * MAX_NEAR_DUPLICATES}%: their out-of-bag scores would be optimistic)`
        : null;
  if (why || !oob) {
    run.progress("tune", 0, `${why}: scoring by ${search.cv}-fold CV instead`, true);
    return { refit };
  }
  const y = t.yTrain.y;
  const ybin = t.yTrain.threat;
  const threat = threatScore(oob.proba, n, K, t.threatClasses);
  // the search's scoring, as a CV fold is scored (f1_macro: the most probable class)
  const score = (proba: Float64Array, s: Float64Array): number =>
    search.scoring === "f1_macro"
      ? macroF1(y, argmaxRows(proba, n, K))
      : foldScore(search.scoring, ybin, s, search.target_fpr);
  const oobScore = score(oob.proba, threat);
  const best: CandidateResult = {
    model: only.model,
    params: only.params,
    scoring: search.scoring,
    cv_scores: [oobScore],
    cv_mean: oobScore,
    cv_std: 0,
    train_mean: score(oob.trainProba, threatScore(oob.trainProba, n, K, t.threatClasses)),
    fit_seconds: refit.rep.fitSeconds,
  };
  const result: ModelSearchResult = { model: only.model, candidates: [best], best, oof: threat };
  bestLine(search.scoring, (line) => run.progress("tune", 1, `${line} (out of bag)`, true))({
    model: only.model,
    best,
    candidates: 1,
  });
  const row: LeaderboardRow = {
    model: only.model,
    params: only.params,
    scoring: search.scoring,
    cv_mean: best.cv_mean,
    cv_std: best.cv_std,
    train_mean: best.train_mean,
    candidates: 1,
    out_of_bag: true,
    search: `cv: skipped, one candidate; scores out of bag (each of the ${n} training rows by the trees whose bootstrap sample left it out${dup.nGroups < n ? ` and every row identical to it; ${oob.nearDuplicates} with a twin in every sample: by the trees that left out the row itself` : ""}), train on the whole forest; search.force_cv or --force-cv runs ${search.cv}-fold CV`,
  };
  return {
    tuned: {
      searches: [result],
      leaderboard: [row],
      winner: result,
      earlyRefit: Promise.resolve(refit),
    },
  };
}
