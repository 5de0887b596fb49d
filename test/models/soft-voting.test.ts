/**
 * soft_voting: averaged probabilities and contributions checked against hand-computed logistic
 * regressions; a fit is its members' fits; the JSON round trip; a bad state is refused.
 */
import { describe, expect, it } from "vitest";
import { matrixFromRows } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel, modelFromJSON, modelNames } from "../../src/models/registry.ts";
import type { SerializedModel } from "../../src/models/types.ts";

/** A fitted one-feature logistic regression: P(class 1) = σ(coef · x + intercept). */
function lr(coef: number, intercept: number): SerializedModel {
  return {
    model: "logistic_regression",
    formatVersion: 1,
    params: {},
    nClasses: 2,
    nFeatures: 1,
    state: { coef: [coef], intercept: [intercept], converged: true },
  };
}

const sigma = (z: number) => 1 / (1 + Math.exp(-z));

const twoLr: SerializedModel = {
  model: "soft_voting",
  formatVersion: 1,
  params: {
    estimators: [
      { model: "logistic_regression", params: {} },
      { model: "logistic_regression", params: {} },
    ],
  },
  nClasses: 2,
  nFeatures: 1,
  state: { members: [lr(1, 0), lr(2, -1)] },
};

describe("soft_voting", () => {
  it("averages the members' probabilities and contributions (hand-computed)", () => {
    const m = modelFromJSON(twoLr);
    const X = matrixFromRows([[0], [1], [-2]]);
    const p = m.predictProba(X);
    // row 0: (σ(0) + σ(-1)) / 2; row 1: (σ(1) + σ(1)) / 2; row 2: (σ(-2) + σ(-5)) / 2
    const threat = [
      (0.5 + 0.2689414213699951) / 2,
      0.7310585786300049,
      (0.11920292202211755 + 0.0066928509242848554) / 2,
    ];
    threat.forEach((t, r) => {
      expect(p[2 * r + 1]).toBeCloseTo(t, 14);
      expect(p[2 * r]).toBeCloseTo(1 - t, 14);
    });
    expect(threat[2]).toBeCloseTo((sigma(-2) + sigma(-5)) / 2, 15);
    expect(Array.from(m.predict(X))).toEqual([0, 1, 0]);
    // coefficient × value, averaged: row 2, class 1: (1·(-2) + 2·(-2)) / 2 = -3
    expect(Array.from(m.contributions!(X, 2, 1))).toEqual([-3]);
    expect(Array.from(m.contributionsAll!(X, 1))).toEqual([0, 1.5, -3]);
  });

  it("fits each member as it would be fitted alone", async () => {
    const rng = new Rng(3);
    const rows = Array.from({ length: 200 }, () => [rng.next(), rng.next(), rng.next()]);
    const y = Int32Array.from(rows, (r) => (r[0]! + 0.5 * r[1]! + 0.3 * rng.next() > 0.9 ? 1 : 0));
    const X = matrixFromRows(rows);
    const estimators = [
      { model: "random_forest", params: { n_estimators: 5, random_state: 1 } },
      { model: "logistic_regression", params: { C: 0.5 } },
    ];
    const ens = createModel("soft_voting", { estimators });
    await ens.fit(X, y, 2, { threads: 1 });
    const alone = await Promise.all(
      estimators.map(async (e) => {
        const m = createModel(e.model, e.params);
        await m.fit(X, y, 2, { threads: 1 });
        return m.predictProba(X);
      }),
    );
    const p = ens.predictProba(X);
    for (let i = 0; i < p.length; i++) expect(p[i]).toBeCloseTo((alone[0]![i]! + alone[1]![i]!) / 2, 14);
    // the round trip gives the same model
    const back = modelFromJSON(JSON.parse(JSON.stringify(ens.toJSON())) as SerializedModel);
    expect(Array.from(back.predictProba(X))).toEqual(Array.from(p));
  });

  it("refuses a state whose members do not match its estimators, and is not a searchable model", () => {
    expect(() => modelFromJSON({ ...twoLr, state: { members: [lr(1, 0)] } })).toThrow(
      /1 member states for 2/,
    );
    expect(() =>
      modelFromJSON({
        ...twoLr,
        state: {
          members: [
            lr(1, 0),
            { ...lr(1, 0), nFeatures: 2, state: { coef: [1, 1], intercept: [0], converged: true } },
          ],
        },
      }),
    ).toThrow(/member 1 has 2 classes and 2 features/);
    expect(() =>
      createModel("soft_voting", { estimators: [{ model: "logistic_regression", params: {} }] }),
    ).toThrow(/estimators/);
    expect(modelNames()).not.toContain("soft_voting");
  });
});
