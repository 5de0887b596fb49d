/**
 * The tune step's soft vote (search.ensemble_k >= 2): after the search, the best candidates of the
 * 2..ensemble_k best models averaged on their out-of-fold probabilities (src/selection/ensemble.ts).
 * The best such ensemble gets a leaderboard row (model soft_voting, its members in params and in the
 * row's note) and a line in cv_scores.csv; it becomes the winner only when its CV score beats the
 * best single model's. CV only: the test split is scored once, later, on whichever won.
 */
import { softVoteEnsembles } from "../../selection/ensemble.ts";
import type { Fold } from "../../selection/kfold.ts";
import type { PipelineRun } from "../runner.ts";
import type { LeaderboardRow } from "../train.ts";
import type { Transformed } from "./transform.ts";
import type { Tuned } from "./tune.ts";

const f4 = (x: number): string => x.toFixed(4);

export function withSoftVote(run: PipelineRun, t: Transformed, folds: readonly Fold[], tuned: Tuned): Tuned {
  const search = run.cfg.search;
  const k = search.ensemble_k ?? 0;
  // f1_macro scores predicted classes, which averaged threat scores do not give
  if (k < 2 || tuned.searches.length < 2 || search.scoring === "f1_macro") return tuned;
  const choice = softVoteEnsembles(tuned.searches, folds, t.yTrain.threat, {
    k,
    scoring: search.scoring,
    targetFpr: search.target_fpr,
  });
  const best = choice.best;
  if (!best) return tuned;
  const single = tuned.leaderboard[0]!;
  const c = best.result.best;
  const note =
    `soft vote of ${best.members.join(" + ")} (each one's best candidate; out-of-fold probabilities averaged): ` +
    `tried ${choice.tried.map((x) => `${x.members.length} members ${f4(x.result.best.cv_mean)}`).join(", ")}; ` +
    `${choice.wins ? "beats" : "does not beat"} the best single model (${single.model} ${f4(single.cv_mean)}) on CV ${search.scoring}` +
    `${choice.wins ? ": selected" : ": not selected"}; train_mean is its members' mean`;
  run.progress("tune", 1, note, true);
  const row: LeaderboardRow = {
    model: "soft_voting",
    params: c.params,
    scoring: search.scoring,
    cv_mean: c.cv_mean,
    cv_std: c.cv_std,
    train_mean: c.train_mean,
    candidates: choice.tried.length,
    search: note,
  };
  // stable: a soft vote that only ties the best single model stays below it
  const leaderboard = [...tuned.leaderboard, row].sort((a, b) => b.cv_mean - a.cv_mean);
  return {
    ...tuned,
    searches: [...tuned.searches, best.result],
    leaderboard,
    winner: choice.wins ? best.result : tuned.winner,
    // (a refit started beside the search is of a single model, never of the ensemble)
    earlyRefit: choice.wins ? null : tuned.earlyRefit,
  };
}
