/**
 * Successive halving scored by the k-fold search: nested stratified row samples, folds restricted to
 * them, and the winner's results equal to a plain searchCV of the same candidate on all rows.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { halvingSearchCV, stratifiedOrder, subsetFolds } from "../../src/selection/halving-cv.ts";
import { stratifiedKFold } from "../../src/selection/kfold.ts";
import { searchCV } from "../../src/selection/search.ts";

afterAll(() => closePool());

describe("stratifiedOrder", () => {
  it("every prefix holds each class in proportion (within one row), and it is a permutation", () => {
    // 300 of class 0, 100 of class 1
    const y = Int32Array.from({ length: 400 }, (_, i) => (i % 4 === 3 ? 1 : 0));
    const o = stratifiedOrder(y, 7);
    expect([...o].sort((a, b) => a - b)).toEqual(Array.from({ length: 400 }, (_, i) => i));
    for (const m of [4, 40, 100, 133, 399]) {
      const ones = [...o.subarray(0, m)].filter((r) => y[r] === 1).length;
      expect(Math.abs(ones - m / 4)).toBeLessThanOrEqual(1);
    }
    expect(stratifiedOrder(y, 7)).toEqual(o);
    expect(stratifiedOrder(y, 8)).not.toEqual(o);
  });
});

describe("subsetFolds", () => {
  it("keeps only the marked rows, in order", () => {
    const folds = [
      { train: Uint32Array.of(0, 1, 2, 5), test: Uint32Array.of(3, 4) },
      { train: Uint32Array.of(3, 4), test: Uint32Array.of(0, 1, 2, 5) },
    ];
    const keep = Uint8Array.of(1, 0, 1, 1, 0, 1);
    expect(subsetFolds(folds, keep)).toEqual([
      { train: Uint32Array.of(0, 2, 5), test: Uint32Array.of(3) },
      { train: Uint32Array.of(3), test: Uint32Array.of(0, 2, 5) },
    ]);
  });
});

describe("halvingSearchCV", () => {
  it("two rungs on 1,600 rows; the best of the last rung is scored on all folds exactly as searchCV scores it", async () => {
    const n = 1600;
    const rng = new Rng(3);
    const X = allocMatrix(n, 3, ["a", "b", "c"], true);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.next() < 0.4 ? 1 : 0;
      X.data[i] = y[i]! + rng.normal();
      X.data[n + i] = rng.normal() + (y[i] ? 0.4 : 0);
      X.data[2 * n + i] = rng.normal();
    }
    const folds = stratifiedKFold(y, 3, 1);
    const cands = [1, 2, 3, 4, 5, 6].map((d) => ({
      model: "decision_tree",
      params: { max_depth: d, random_state: 0 },
    }));
    const { searches, halving } = await halvingSearchCV(
      X,
      y,
      2,
      [1],
      new Map([["decision_tree", cands]]),
      folds,
      {
        scoring: "f1",
        targetFpr: 0.01,
        budgetSeconds: 1e6,
        seed: 5,
        threads: 1,
      },
    );
    const rungs = halving.rungs.get("decision_tree")!;
    expect(rungs.map((r) => [r.rows, r.candidates.length])).toEqual([
      [533, 6],
      [1600, 2],
    ]);
    const s = searches[0]!;
    expect(s.candidates).toHaveLength(2);
    const plain = await searchCV(X, y, 2, [1], [{ model: "decision_tree", params: s.best.params }], folds, {
      scoring: "f1",
      targetFpr: 0.01,
      threads: 1,
    });
    expect(s.best.cv_scores).toEqual(plain[0]!.best.cv_scores);
    expect(s.oof).toEqual(plain[0]!.oof);
  });
});
