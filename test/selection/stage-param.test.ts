/**
 * Shared fits follow each model's staged parameter (ModelSpec.stageParam): hist_gradient_boosting's
 * candidates that differ only in max_iter share one fit, scored at each max_iter; n_estimators is an
 * unknown parameter there, not a stage.
 */
import { describe, expect, it } from "vitest";
import { planSearch } from "../../src/selection/search.ts";

describe("planSearch with max_iter as the stage", () => {
  it("candidates differing only in max_iter share the fit of the largest; others fit apart", () => {
    const c = (p: Record<string, unknown>) => ({ model: "hist_gradient_boosting", params: p });
    const plan = planSearch([
      c({ learning_rate: 0.1, max_iter: 50 }),
      c({ learning_rate: 0.1, max_iter: 200 }),
      c({ learning_rate: 0.05, max_iter: 50 }),
      c({ learning_rate: 0.1, max_iter: 100 }),
    ]);
    expect(plan.fits).toHaveLength(2);
    expect(plan.fits[0]).toEqual({
      model: "hist_gradient_boosting",
      params: { learning_rate: 0.1, max_iter: 200 },
      stages: [50, 100, 200],
      candidates: [0, 1, 3],
    });
    expect(plan.fits[1]!.candidates).toEqual([2]);
    expect(plan.fits[1]!.stages).toBeUndefined();
  });
});
