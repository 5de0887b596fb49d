/** Grid search: shared fits for staged models give exactly what separate fits give. */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { stratifiedKFold } from "../../src/selection/kfold.ts";
import { expandGrid, planSearch, searchCV } from "../../src/selection/search.ts";

afterAll(() => closePool());

function data(n: number, seed: number) {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3, ["a", "b", "c"], true);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.4 ? 1 : 0;
    X.data[i] = y[i]! + rng.normal() * 0.9;
    X.data[n + i] = rng.normal() + (y[i]! ? 0.5 : 0);
    X.data[2 * n + i] = rng.normal();
  }
  return { X, y };
}

const candidates = [
  ...expandGrid(
    { n_estimators: [4, 16, 8], learning_rate: [0.1, 0.5], subsample: [0.8] },
    { randomState: 3 },
  ).map((params) => ({ model: "gradient_boosting", params })),
  ...expandGrid({ n_estimators: [3, 12] }, { randomState: 3 }).map((params) => ({
    model: "random_forest",
    params,
  })),
  ...expandGrid({ n_estimators: [5, 10], learning_rate: [0.5] }, { randomState: 3 }).map((params) => ({
    model: "adaboost",
    params,
  })),
  ...expandGrid({ criterion: ["gini", "entropy"] }).map((params) => ({ model: "decision_tree", params })),
];

describe("planSearch", () => {
  it("groups staged candidates that differ only in n_estimators, fitting the largest", () => {
    const plan = planSearch(candidates);
    // gradient boosting: one fit per learning rate; forest and AdaBoost: one each; trees: one per candidate
    expect(plan.fits.map((f) => [f.model, f.stages ?? null, f.candidates])).toEqual([
      ["gradient_boosting", [4, 8, 16], [0, 2, 4]],
      ["gradient_boosting", [4, 8, 16], [1, 3, 5]],
      ["random_forest", [3, 12], [6, 7]],
      ["adaboost", [5, 10], [8, 9]],
      ["decision_tree", null, [10]],
      ["decision_tree", null, [11]],
    ]);
    expect(plan.fits[0]!.params).toMatchObject({ nEstimators: 16, learningRate: 0.1 });
    // snake_case and defaults spelled out group with camelCase and omitted defaults
    const mixed = planSearch([
      { model: "random_forest", params: { n_estimators: 5 } },
      { model: "random_forest", params: { nEstimators: 9, criterion: "gini" } },
      { model: "random_forest", params: { nEstimators: 7, criterion: "entropy" } },
    ]);
    expect(mixed.fits.map((f) => f.candidates)).toEqual([[0, 1], [2]]);
    expect(planSearch(candidates, false).fits).toHaveLength(candidates.length);
  });
});

describe("searchCV with shared fits", () => {
  it("every candidate's CV scores, train score and out-of-fold predictions equal separate fits'", async () => {
    const { X, y } = data(400, 8);
    const folds = stratifiedKFold(y, 3, 1);
    const opts = { scoring: "f1" as const, targetFpr: 0.01, threads: 2 };
    let calls = 0;
    let last = 0;
    const shared = await searchCV(X, y, 2, [1], candidates, folds, {
      ...opts,
      onProgress: (d, t) => {
        calls++;
        last = t;
        expect(d).toBeLessThanOrEqual(t);
      },
    });
    expect(calls).toBe(6 * 3);
    expect(last).toBe(6 * 3);
    const alone = await searchCV(X, y, 2, [1], candidates, folds, { ...opts, shareFits: false });
    expect(shared.map((s) => s.model)).toEqual(alone.map((s) => s.model));
    shared.forEach((s, i) => {
      const a = alone[i]!;
      expect(s.candidates.map((c) => [c.params, c.cv_scores, c.train_mean])).toEqual(
        a.candidates.map((c) => [c.params, c.cv_scores, c.train_mean]),
      );
      expect(s.best.params).toEqual(a.best.params);
      expect(s.oof).toEqual(a.oof);
      for (const c of s.candidates) expect(c.fit_seconds).toBeGreaterThan(0);
    });
    // a stage's fit time is the time until its last estimator: never more than the whole fit's
    const gb = shared[0]!.candidates;
    expect(gb[0]!.fit_seconds).toBeLessThanOrEqual(gb[4]!.fit_seconds);
  });
});
