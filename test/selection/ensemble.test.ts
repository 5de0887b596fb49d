/**
 * Soft-vote selection on CV, against hand-computed folds: 6 rows, 2 folds, accuracy at 0.5.
 */
import { describe, expect, it } from "vitest";
import { softVote, softVoteEnsembles } from "../../src/selection/ensemble.ts";
import type { Fold } from "../../src/selection/kfold.ts";
import type { ModelSearchResult } from "../../src/selection/search.ts";

const y = Int32Array.of(1, 1, 0, 0, 1, 0);
const folds: Fold[] = [
  { train: Uint32Array.of(3, 4, 5), test: Uint32Array.of(0, 1, 2) },
  { train: Uint32Array.of(0, 1, 2), test: Uint32Array.of(3, 4, 5) },
];

function search(model: string, oof: number[], cvMean: number, trainMean = 1): ModelSearchResult {
  const best = {
    model,
    params: { tag: model },
    scoring: "accuracy" as const,
    cv_scores: [cvMean, cvMean],
    cv_mean: cvMean,
    cv_std: 0,
    train_mean: trainMean,
    fit_seconds: 2,
  };
  return { model, candidates: [best], best, oof: Float64Array.from(oof) };
}

// per fold accuracy at 0.5 (by hand): hgb 1/3 and 2/3, rf 2/3 and 2/3, lr 0 and 0
const hgb = search("hist_gradient_boosting", [0.9, 0.4, 0.6, 0.2, 0.45, 0.3], 0.5, 0.9);
const rf = search("random_forest", [0.3, 0.8, 0.2, 0.1, 0.7, 0.6], 2 / 3, 1);
const lr = search("logistic_regression", [0.1, 0.1, 0.9, 0.9, 0.1, 0.9], 0, 0.2);
const opts = { scoring: "accuracy" as const, targetFpr: 0.01 };

describe("soft-vote ensembles on CV", () => {
  it("averages the members' out-of-fold scores and scores each fold", () => {
    const t = softVote([rf, hgb], folds, y, opts);
    // (rf + hgb) / 2 = [0.6, 0.6, 0.4, 0.15, 0.575, 0.45]: every row right in both folds
    [0.6, 0.6, 0.4, 0.15, 0.575, 0.45].forEach((v, r) => {
      expect(t.result.oof[r]).toBeCloseTo(v, 15);
    });
    expect(t.result.best.cv_scores).toEqual([1, 1]);
    expect(t.result.best.cv_mean).toBe(1);
    expect(t.result.best.cv_std).toBe(0);
    expect(t.result.best.train_mean).toBeCloseTo(0.95, 15);
    expect(t.result.best.fit_seconds).toBe(4);
    expect(t.result.model).toBe("soft_voting");
    expect(t.result.best.params).toEqual({
      estimators: [
        { model: "random_forest", params: { tag: "random_forest" } },
        { model: "hist_gradient_boosting", params: { tag: "hist_gradient_boosting" } },
      ],
    });
    // all three: [0.433, 0.433, 0.567, 0.4, 0.417, 0.6] → fold 1: 0 of 3 right, fold 2: 1 of 3
    const three = softVote([rf, hgb, lr], folds, y, opts);
    expect(three.result.best.cv_scores[0]).toBe(0);
    expect(three.result.best.cv_scores[1]).toBeCloseTo(1 / 3, 15);
  });

  it("tries 2..k of the best models and chooses the best ensemble only when it beats the best single", () => {
    const c = softVoteEnsembles([lr, hgb, rf], folds, y, { ...opts, k: 3 });
    expect(c.tried.map((t) => t.members)).toEqual([
      ["random_forest", "hist_gradient_boosting"],
      ["random_forest", "hist_gradient_boosting", "logistic_regression"],
    ]);
    expect(c.best?.members).toEqual(["random_forest", "hist_gradient_boosting"]);
    expect(c.wins).toBe(true);
    // k = 2: only the pair
    expect(softVoteEnsembles([lr, hgb, rf], folds, y, { ...opts, k: 2 }).tried).toHaveLength(1);
  });

  it("does not choose an ensemble that only ties or loses on CV, nor any with k < 2 or one model", () => {
    // a second model with the forest's very scores: the average is the forest, a tie
    const twin = search("hist_gradient_boosting", [0.3, 0.8, 0.2, 0.1, 0.7, 0.6], 2 / 3);
    const tie = softVoteEnsembles([rf, twin], folds, y, { ...opts, k: 3 });
    expect(tie.best?.result.best.cv_mean).toBeCloseTo(2 / 3, 15);
    expect(tie.wins).toBe(false);
    const lose = softVoteEnsembles([rf, lr], folds, y, { ...opts, k: 3 });
    expect(lose.best!.result.best.cv_mean).toBeLessThan(2 / 3);
    expect(lose.wins).toBe(false);
    expect(softVoteEnsembles([rf, hgb], folds, y, { ...opts, k: 1 })).toEqual({
      tried: [],
      best: null,
      wins: false,
    });
    expect(softVoteEnsembles([rf], folds, y, { ...opts, k: 3 }).wins).toBe(false);
  });
});
