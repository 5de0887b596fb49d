/**
 * hist_gradient_boosting's min_child_weight against XGBoost, the parameter's origin (fixtures from
 * test/golden/engine/make_hgb_xgboost_fixtures.py; the script says where the two algorithms are the
 * same: hist with every distinct value its own bin, depth-wise to max_depth with no leaf cap, Newton
 * leaves with L2, a split valid when both children keep min_child_weight summed hessian, base_score the
 * mean label). Compared per case:
 * - each tree's splits: the same (feature, cut) pairs, XGBoost's `x < cut` read as netsec's `x <= t`
 *   with t the midpoint below the cut (integer features: cut = ceil(t));
 * - test probabilities within 1e-5 (XGBoost keeps raw scores and leaf values in float32).
 * Without min_child_weight (the default 1e-3) the same settings give other trees: the parameter binds.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Matrix, matrixFromRows } from "../../src/core/frame.ts";
import type { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { createModel } from "../../src/models/registry.ts";
import { ROOT } from "../helpers/env.ts";

interface Case {
  params: Record<string, unknown>;
  splits: [number, number][][];
  proba: number[];
}
const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/hgb_xgboost.json"), "utf8")) as {
  X: number[][];
  y: number[];
  test_X: number[][];
  cases: Record<string, Case>;
};
const X: Matrix = matrixFromRows(fx.X);
const y = Int32Array.from(fx.y);
const Xt: Matrix = matrixFromRows(fx.test_X);

async function fitModel(params: Record<string, unknown>): Promise<HistGradientBoostingClassifier> {
  const m = createModel("hist_gradient_boosting", params) as HistGradientBoostingClassifier;
  await m.fit(X, y, 2);
  return m;
}

/** Each tree's internal nodes as sorted [feature, XGBoost's cut]. */
function splits(m: HistGradientBoostingClassifier): [number, number][][] {
  return m.trees.map((t) => {
    const s: [number, number][] = [];
    for (let i = 0; i < t.nNodes; i++)
      if (t.feature[i]! >= 0) s.push([t.feature[i]!, Math.ceil(t.threshold[i]!)]);
    return s.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  });
}

describe("hist_gradient_boosting vs XGBoost (min_child_weight)", () => {
  for (const [name, c] of Object.entries(fx.cases)) {
    it(`${name}: the same splits in every tree, test probabilities within 1e-5`, async () => {
      const m = await fitModel(c.params);
      expect(splits(m)).toEqual(c.splits);
      const p = m.predictProba(Xt);
      let worst = 0;
      for (let r = 0; r < Xt.nRows; r++) worst = Math.max(worst, Math.abs(p[r * 2 + 1]! - c.proba[r]!));
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it("at the default min_child_weight (1e-3) the trees differ from XGBoost's", async () => {
    for (const c of Object.values(fx.cases)) {
      const { min_child_weight: _, ...rest } = c.params;
      const m = await fitModel(rest);
      expect(m.params.minChildWeight).toBe(1e-3);
      expect(splits(m)).not.toEqual(c.splits);
    }
  });
});
