/**
 * The search's progress line for a shared fit names the staged parameter of the model: n_estimators
 * for the forest, max_iter for hist_gradient_boosting (whose candidates share fits on max_iter).
 */
import { describe, expect, it } from "vitest";
import { fitLine } from "../../src/pipeline/train.ts";
import type { CandidateResult } from "../../src/selection/search.ts";

const cand = (model: string, params: Record<string, unknown>, scores: number[]): CandidateResult => ({
  model,
  params,
  scoring: "f1",
  cv_scores: scores,
  cv_mean: scores.reduce((a, b) => a + b, 0) / scores.length,
  cv_std: 0,
  train_mean: 1,
  fit_seconds: 0.1,
});

describe("fitLine", () => {
  it("a shared fit lists each candidate by its staged parameter", () => {
    const lines: string[] = [];
    const say = fitLine("f1", (l) => lines.push(l));
    say({
      done: 1,
      total: 2,
      model: "hist_gradient_boosting",
      candidates: [
        cand("hist_gradient_boosting", { learning_rate: 0.1, max_iter: 100 }, [0.5, 0.7]),
        cand("hist_gradient_boosting", { learning_rate: 0.1, max_iter: 200 }, [0.6, 0.8]),
      ],
    });
    say({
      done: 2,
      total: 2,
      model: "random_forest",
      candidates: [
        cand("random_forest", { n_estimators: 4 }, [0.5, 0.5]),
        cand("random_forest", { n_estimators: 8 }, [0.6, 0.6]),
      ],
    });
    expect(lines[0]).toBe(
      "fit 1/2 hist_gradient_boosting learning_rate=0.1 → f1 max_iter=100: 0.5000 0.7000 (mean 0.6000); max_iter=200: 0.6000 0.8000 (mean 0.7000)",
    );
    expect(lines[1]).toBe(
      "fit 2/2 random_forest (defaults) → f1 n_estimators=4: 0.5000 0.5000 (mean 0.5000); n_estimators=8: 0.6000 0.6000 (mean 0.6000)",
    );
  });
});
