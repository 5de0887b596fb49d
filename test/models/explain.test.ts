/**
 * What the explanations claim, checked against the predictions themselves: path contributions
 * (Saabas) of a tree model add up to its score minus one constant (the score of the empty path: the
 * trees' root values), for every row; a linear model's contribution of feature c is coef_c · x_c, and
 * they add up to the decision value minus the intercept. Binary: class 0's contributions are class
 * 1's negated. These hold whatever the data; a wrong sign, a missing tree or a misattributed feature
 * breaks them.
 */
import { describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel } from "../../src/models/registry.ts";

function data(rng: Rng, n: number, p: number): { X: Matrix; y: Int32Array } {
  const X = allocMatrix(n, p);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < p; c++) X.data[c * n + r] = c < 3 ? rng.int(3) - 1 : rng.normal();
    const s = X.data[r]! - X.data[n + r]! + 0.8 * X.data[3 * n + r]! + 0.3 * rng.normal();
    y[r] = s > 0 ? 1 : 0;
  }
  return { X, y };
}

const logit = (p: number): number => Math.log(p / (1 - p));

/** The score each model's contributions explain, for class 1, from P(class 1). */
const SCORE: Record<string, (p1: number) => number> = {
  // probabilities: the trees' leaf values
  decision_tree: (p1) => p1,
  random_forest: (p1) => p1,
  // raw scores: the logit of class 1
  gradient_boosting: logit,
  hist_gradient_boosting: logit,
  // SAMME, two classes: p1 / p0 = exp(2 d1), d1 the weighted vote for class 1
  adaboost: (p1) => 0.5 * logit(p1),
  logistic_regression: logit,
};

const PARAMS: Record<string, Record<string, unknown>> = {
  decision_tree: { max_depth: 6 },
  random_forest: { n_estimators: 20, max_depth: 7 },
  gradient_boosting: { n_estimators: 30, max_depth: 3 },
  hist_gradient_boosting: { max_iter: 30, max_leaf_nodes: 15 },
  adaboost: { n_estimators: 30 },
  logistic_regression: {},
};

describe("explanations add up to the score they explain", () => {
  const rng = new Rng(17);
  const p = 6;
  const train = data(rng, 500, p);
  const test = data(rng, 120, p);

  for (const name of Object.keys(SCORE)) {
    it(`${name}: Σ contributions = score − a constant, for every row; class 0 is class 1 negated`, async () => {
      const m = createModel(name, { ...PARAMS[name], random_state: 3 });
      await m.fit(train.X, train.y, 2);
      const proba = m.predictProba(test.X);
      const score = Float64Array.from({ length: test.X.nRows }, (_, r) => SCORE[name]!(proba[2 * r + 1]!));
      const bias: number[] = [];
      for (let r = 0; r < test.X.nRows; r++) {
        const c1 = m.contributions!(test.X, r, 1);
        const c0 = m.contributions!(test.X, r, 0);
        expect(c1).toHaveLength(p);
        let s = 0;
        for (let c = 0; c < p; c++) {
          s += c1[c]!;
          expect(c0[c]! + c1[c]!).toBeCloseTo(0, 12);
        }
        bias.push(score[r]! - s);
      }
      for (const b of bias) expect(b).toBeCloseTo(bias[0]!, 9);
      // the explanations are not all zero: the informative features carry them
      let informative = 0;
      let noise = 0;
      for (let r = 0; r < test.X.nRows; r++) {
        const c1 = m.contributions!(test.X, r, 1);
        informative += Math.abs(c1[0]!) + Math.abs(c1[1]!) + Math.abs(c1[3]!);
        noise += Math.abs(c1[2]!) + Math.abs(c1[4]!) + Math.abs(c1[5]!);
      }
      expect(informative).toBeGreaterThan(noise);
    });
  }

  it("logistic_regression: the contribution of feature c is coef_c · x_c; their sum is z − intercept", async () => {
    const m = createModel("logistic_regression", { random_state: 3 });
    await m.fit(train.X, train.y, 2);
    const st = m.toJSON().state as { coef: number[]; intercept: number[] };
    const proba = m.predictProba(test.X);
    for (let r = 0; r < test.X.nRows; r++) {
      const c1 = m.contributions!(test.X, r, 1);
      let z = st.intercept[0]!;
      for (let c = 0; c < p; c++) {
        const x = test.X.data[c * test.X.nRows + r]!;
        expect(c1[c]).toBe(st.coef[c]! * x);
        z += c1[c]!;
      }
      expect(1 / (1 + Math.exp(-z))).toBeCloseTo(proba[2 * r + 1]!, 12);
    }
  });
});
