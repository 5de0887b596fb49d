/**
 * The tune step's soft vote on hand-made searches (6 rows, 2 folds, accuracy at 0.5; the same
 * out-of-fold scores as test/selection/ensemble.test.ts): the winner changes only when the vote wins
 * on CV; its leaderboard row is there either way; ensemble_k 0 and f1_macro leave the search alone.
 */
import { describe, expect, it } from "vitest";
import type { PipelineRun } from "../../src/pipeline/runner.ts";
import type { Transformed } from "../../src/pipeline/steps/transform.ts";
import type { Tuned } from "../../src/pipeline/steps/tune.ts";
import { withSoftVote } from "../../src/pipeline/steps/tune-ensemble.ts";
import type { Fold } from "../../src/selection/kfold.ts";
import type { Scoring } from "../../src/selection/metrics.ts";
import type { ModelSearchResult } from "../../src/selection/search.ts";

const threat = Int32Array.of(1, 1, 0, 0, 1, 0);
const folds: Fold[] = [
  { train: Uint32Array.of(3, 4, 5), test: Uint32Array.of(0, 1, 2) },
  { train: Uint32Array.of(0, 1, 2), test: Uint32Array.of(3, 4, 5) },
];

function search(model: string, oof: number[], cvMean: number): ModelSearchResult {
  const best = {
    model,
    params: {},
    scoring: "accuracy" as const,
    cv_scores: [cvMean, cvMean],
    cv_mean: cvMean,
    cv_std: 0,
    train_mean: 1,
    fit_seconds: 1,
  };
  return { model, candidates: [best], best, oof: Float64Array.from(oof) };
}

const hgb = search("hist_gradient_boosting", [0.9, 0.4, 0.6, 0.2, 0.45, 0.3], 0.5);
const rf = search("random_forest", [0.3, 0.8, 0.2, 0.1, 0.7, 0.6], 2 / 3);
const lr = search("logistic_regression", [0.1, 0.1, 0.9, 0.9, 0.1, 0.9], 0);

function tuned(searches: ModelSearchResult[]): Tuned {
  const leaderboard = searches
    .map((s) => ({
      model: s.model,
      params: s.best.params,
      scoring: "accuracy" as const,
      cv_mean: s.best.cv_mean,
      cv_std: 0,
      train_mean: 1,
      candidates: 1,
    }))
    .sort((a, b) => b.cv_mean - a.cv_mean);
  const winner = searches.find((s) => s.model === leaderboard[0]!.model)!;
  return { searches, leaderboard, winner, earlyRefit: null };
}

function runWith(ensembleK: number, scoring: Scoring = "accuracy"): { run: PipelineRun; lines: string[] } {
  const lines: string[] = [];
  const run = {
    cfg: { search: { ensemble_k: ensembleK, scoring, target_fpr: 0.01 } },
    progress: (_step: string, _frac: number, line: string) => lines.push(line),
  } as unknown as PipelineRun;
  return { run, lines };
}

const t = { yTrain: { threat } } as unknown as Transformed;

describe("the tune step's soft vote", () => {
  it("a vote that beats the best model on CV is the winner, first on the leaderboard", () => {
    const { run, lines } = runWith(3);
    const out = withSoftVote(run, t, folds, tuned([hgb, rf, lr]));
    expect(out.winner.model).toBe("soft_voting");
    expect(out.leaderboard.map((r) => r.model)).toEqual([
      "soft_voting",
      "random_forest",
      "hist_gradient_boosting",
      "logistic_regression",
    ]);
    expect(out.leaderboard[0]!.cv_mean).toBe(1);
    expect(out.searches.at(-1)).toBe(out.winner);
    expect(lines[0]).toMatch(
      /^soft vote of random_forest \+ hist_gradient_boosting .*tried 2 members 1\.0000, 3 members 0\.1667; beats the best single model \(random_forest 0\.6667\) on CV accuracy: selected/,
    );
  });

  it("a vote that does not beat it is listed, not chosen", () => {
    const { run, lines } = runWith(3);
    const before = tuned([rf, lr]);
    const out = withSoftVote(run, t, folds, before);
    expect(out.winner).toBe(before.winner);
    // (rf + lr) / 2 = [0.2, 0.45, 0.55, 0.5, 0.4, 0.75]: every row wrong, CV 0, tied with lr and
    // listed after it
    expect(out.leaderboard.map((r) => r.model)).toEqual([
      "random_forest",
      "logistic_regression",
      "soft_voting",
    ]);
    expect(out.leaderboard[2]!.cv_mean).toBe(0);
    expect(lines[0]).toMatch(
      /does not beat the best single model \(random_forest 0\.6667\) on CV accuracy: not selected/,
    );
  });

  it("ensemble_k below 2, one model, or f1_macro: the search's result unchanged", () => {
    const before = tuned([hgb, rf, lr]);
    expect(withSoftVote(runWith(0).run, t, folds, before)).toBe(before);
    expect(withSoftVote(runWith(1).run, t, folds, before)).toBe(before);
    expect(withSoftVote(runWith(3, "f1_macro").run, t, folds, before)).toBe(before);
    const one = tuned([rf]);
    expect(withSoftVote(runWith(3).run, t, folds, one)).toBe(one);
  });
});
