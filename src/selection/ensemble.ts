/**
 * Soft-voting ensembles scored on CV alone: the best candidate of each of the k best models (by CV
 * mean, so the members are of different kinds), their out-of-fold threat probabilities averaged,
 * scored fold by fold as searchCV scores a candidate. Every prefix of 2..k members is tried; the best
 * of them is chosen when its CV mean beats the best single model's (strictly: a tie keeps the single
 * model). The averaged out-of-fold probabilities are exactly the ensemble's (a mean of the members'
 * class probabilities has the mean of their threat probabilities), so the threshold is chosen on them
 * as for a single model. The test split is never read here.
 */
import type { Fold } from "./kfold.ts";
import { foldScore, type Scoring } from "./metrics.ts";
import type { CandidateResult, ModelSearchResult } from "./search.ts";

export interface SoftVoteOptions {
  /** Most members (>= 2 to try any ensemble). */
  k: number;
  scoring: Scoring;
  targetFpr: number;
}

export interface SoftVoteTrial {
  /** The ensemble as a search result: model soft_voting, params { estimators }, averaged oof. */
  result: ModelSearchResult;
  /** The member models, best CV mean first. */
  members: string[];
}

export interface SoftVoteChoice {
  /** Every ensemble tried (2..k members), in member count order. */
  tried: SoftVoteTrial[];
  /** The best trial (ties → fewer members), or null when none was tried. */
  best: SoftVoteTrial | null;
  /** Whether `best` beats the best single model on CV (and so is selected). */
  wins: boolean;
}

/** The soft-vote ensembles of the best models' best candidates (see the file comment). */
export function softVoteEnsembles(
  searches: readonly ModelSearchResult[],
  folds: readonly Fold[],
  yThreat: ArrayLike<number>,
  opts: SoftVoteOptions,
): SoftVoteChoice {
  const ranked = [...searches].sort((a, b) => b.best.cv_mean - a.best.cv_mean);
  const tried: SoftVoteTrial[] = [];
  for (let j = 2; j <= Math.min(opts.k, ranked.length); j++)
    tried.push(softVote(ranked.slice(0, j), folds, yThreat, opts));
  let best: SoftVoteTrial | null = null;
  for (const t of tried) if (!best || t.result.best.cv_mean > best.result.best.cv_mean) best = t;
  const single = ranked[0]?.best.cv_mean ?? Number.NEGATIVE_INFINITY;
  return { tried, best, wins: best !== null && best.result.best.cv_mean > single };
}

/** One ensemble: the members' best candidates, their oof averaged and scored on every fold. */
export function softVote(
  members: readonly ModelSearchResult[],
  folds: readonly Fold[],
  yThreat: ArrayLike<number>,
  opts: Pick<SoftVoteOptions, "scoring" | "targetFpr">,
): SoftVoteTrial {
  const n = yThreat.length;
  // added in member order, then divided by their number (as the model's predictProba does)
  const oof = new Float64Array(n);
  for (const m of members) {
    if (m.oof.length !== n)
      throw new RangeError(`${m.model}: ${m.oof.length} out-of-fold scores for ${n} rows`);
    for (let i = 0; i < n; i++) oof[i] = oof[i]! + m.oof[i]!;
  }
  for (let i = 0; i < n; i++) oof[i] = oof[i]! / members.length;
  const scores = folds.map((f) =>
    foldScore(
      opts.scoring,
      Int32Array.from(f.test, (r) => yThreat[r]!),
      Float64Array.from(f.test, (r) => oof[r]!),
      opts.targetFpr,
    ),
  );
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const best: CandidateResult = {
    model: "soft_voting",
    params: { estimators: members.map((m) => ({ model: m.model, params: m.best.params })) },
    scoring: opts.scoring,
    cv_scores: scores,
    cv_mean: mean,
    cv_std: std,
    // the averaged model's own train score is not measured (the folds' fits are gone): its members'
    // mean stands in for the train–CV gap gate
    train_mean: members.reduce((a, m) => a + m.best.train_mean, 0) / members.length,
    fit_seconds: members.reduce((a, m) => a + m.best.fit_seconds, 0),
  };
  return {
    result: { model: "soft_voting", candidates: [best], best, oof },
    members: members.map((m) => m.model),
  };
}
