/**
 * Grid search: shared fits for staged models give exactly what separate fits give; a multiclass
 * target is scored on the threat decision (Σ of the threat classes' probabilities) or, with f1_macro,
 * on the most probable class — checked against models fitted here, fold by fold, and scores computed
 * by hand.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { closePool, inWorker } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel } from "../../src/models/registry.ts";
import { binnedMatrix } from "../../src/models/tree/binned-matrix.ts";
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
    expect(plan.fits[0]!.params).toMatchObject({ n_estimators: 16, learning_rate: 0.1 });
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

/** Four classes: 0 benign, 1..3 threats, each shifting a different feature. */
function data4(n: number, seed: number) {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3, ["a", "b", "c"], true);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    y[i] = u < 0.5 ? 0 : u < 0.75 ? 1 : u < 0.93 ? 2 : 3;
    for (let c = 0; c < 3; c++) X.data[c * n + i] = rng.normal() + (y[i] === c + 1 ? 1.6 : 0);
  }
  return { X, y };
}

function rowsOf(X: Matrix, idx: Uint32Array): Matrix {
  const m = allocMatrix(idx.length, X.nCols);
  for (let c = 0; c < X.nCols; c++)
    for (let i = 0; i < idx.length; i++) m.data[c * idx.length + i] = X.data[c * X.nRows + idx[i]!]!;
  return m;
}

/** F1 per class present in y or pred, averaged (scikit-learn's f1_score(average="macro")), written out. */
function handMacroF1(y: number[], pred: number[]): number {
  const classes = [...new Set([...y, ...pred])];
  let sum = 0;
  for (const c of classes) {
    const tp = y.filter((v, i) => v === c && pred[i] === c).length;
    const fp = pred.filter((v, i) => v === c && y[i] !== c).length;
    const fn = y.filter((v, i) => v === c && pred[i] !== c).length;
    const p = tp + fp ? tp / (tp + fp) : 0;
    const r = tp + fn ? tp / (tp + fn) : 0;
    sum += p + r ? (2 * p * r) / (p + r) : 0;
  }
  return sum / classes.length;
}

describe("searchCV on a multiclass target", () => {
  const mc = [
    { model: "decision_tree", params: { maxDepth: 4 } },
    ...expandGrid({ n_estimators: [3, 8] }, { randomState: 5 }).map((params) => ({
      model: "random_forest",
      params,
    })),
    { model: "logistic_regression", params: {} },
  ];

  it("f1_macro scores the most probable class; OOF and f1 the threat probability Σ P(1..3)", async () => {
    const { X, y } = data4(360, 4);
    const folds = stratifiedKFold(y, 3, 2);
    // every class in every fold: stratified on the 4 classes, not on threat vs benign
    for (const f of folds)
      for (let c = 0; c < 4; c++)
        expect(
          [...f.test].some((i) => y[i] === c),
          `class ${c}`,
        ).toBe(true);
    const macro = await searchCV(X, y, 4, [1, 2, 3], mc, folds, {
      scoring: "f1_macro",
      targetFpr: 0.01,
      threads: 2,
    });
    const f1 = await searchCV(X, y, 4, [1, 2, 3], mc, folds, { scoring: "f1", targetFpr: 0.01, threads: 2 });
    const B = binnedMatrix(X);
    const byModel = (r: typeof macro) => r.flatMap((s) => s.candidates);
    const cm = byModel(macro);
    const cf = byModel(f1);
    for (const [ci, c] of mc.entries()) {
      const oof = new Float64Array(y.length);
      let train = 0;
      for (const [fi, f] of folds.entries()) {
        const m = createModel(c.model, c.params);
        // the search bins X once: a tree learner's fold fit uses the bins of all rows (fitBinned on the
        // fold's rows); other models fit on the fold's float64 rows
        if (m.fitBinned) await m.fitBinned(B, y, 4, { rows: f.train, threads: 1 });
        else
          await m.fit(
            rowsOf(X, f.train),
            Int32Array.from(f.train, (i) => y[i]!),
            4,
            { threads: 1 },
          );
        const argmax = (p: Float64Array, n: number) =>
          Array.from({ length: n }, (_, r) => {
            let b = 0;
            for (let k = 1; k < 4; k++) if (p[r * 4 + k]! > p[r * 4 + b]!) b = k;
            return b;
          });
        const pt = m.predictProba(rowsOf(X, f.test));
        const yt = Array.from(f.test, (i) => y[i]!);
        expect(cm[ci]!.cv_scores[fi], `${c.model} fold ${fi} f1_macro`).toBeCloseTo(
          handMacroF1(yt, argmax(pt, f.test.length)),
          12,
        );
        const ptr = m.predictProba(rowsOf(X, f.train));
        train +=
          handMacroF1(
            Array.from(f.train, (i) => y[i]!),
            argmax(ptr, f.train.length),
          ) / folds.length;
        // threat decision at 0.5: F1 of "threat" (classes 1..3) vs benign
        const threat = Array.from(
          { length: f.test.length },
          (_, r) => pt[r * 4 + 1]! + pt[r * 4 + 2]! + pt[r * 4 + 3]!,
        );
        let tp = 0;
        let fp = 0;
        let fn = 0;
        threat.forEach((p, j) => {
          const said = p >= 0.5;
          const is = yt[j]! > 0;
          if (said && is) tp++;
          else if (said) fp++;
          else if (is) fn++;
          oof[f.test[j]!] = p;
        });
        expect(cf[ci]!.cv_scores[fi], `${c.model} fold ${fi} f1`).toBeCloseTo(
          (2 * tp) / (2 * tp + fp + fn),
          12,
        );
      }
      expect(cm[ci]!.train_mean).toBeCloseTo(train, 12);
      const best = macro.find((s) => s.model === c.model)!;
      if (best.best.params === c.params)
        for (let i = 0; i < y.length; i++) expect(best.oof[i]).toBeCloseTo(oof[i]!, 12);
    }
    // the two scorings rank differently enough to matter: they are not the same number
    expect(cm.map((c) => c.cv_mean)).not.toEqual(cf.map((c) => c.cv_mean));
  });
});

describe("searchCV whatever the worker count", () => {
  it("threads 1 and 4 give the same CV scores, train scores and out-of-fold predictions, bit for bit", async () => {
    const { X, y } = data(360, 21);
    const folds = stratifiedKFold(y, 3, 4);
    // shared n_estimators fits (stages) and separate ones; boosting with a row subsample and a forest
    // with bootstrap draw from their random streams in every estimator
    const cands = [
      ...expandGrid(
        { n_estimators: [3, 9, 6], max_features: ["sqrt", null] },
        { randomState: 11, maxDepth: 6 },
      ).map((params) => ({ model: "random_forest", params })),
      ...expandGrid({ n_estimators: [5, 15], subsample: [0.7, 1.0] }, { randomState: 11 }).map((params) => ({
        model: "gradient_boosting",
        params,
      })),
      { model: "gradient_boosting", params: { n_estimators: 7, learning_rate: 0.3, random_state: 2 } },
    ];
    expect(planSearch(cands).fits.some((f) => (f.stages?.length ?? 0) > 1)).toBe(true);
    const run = (threads: number) =>
      searchCV(X, y, 2, [1], cands, folds, { scoring: "roc_auc", targetFpr: 0.01, threads });
    // one thread first: an inline search must not stop the next one from using the pool's threads
    const one = await run(1);
    expect(inWorker()).toBe(false);
    const four = await run(4);
    const view = (r: typeof one) =>
      r.map((s) => ({
        model: s.model,
        best: s.best.params,
        oof: s.oof,
        candidates: s.candidates.map((c) => ({
          params: c.params,
          cv: c.cv_scores,
          mean: c.cv_mean,
          train: c.train_mean,
        })),
      }));
    // toEqual compares numbers with Object.is: equal doubles (and signed zeros) only
    expect(view(four)).toEqual(view(one));
    // and the out-of-fold probabilities as raw bytes (the search returns them for each model's best
    // candidate; every candidate's fold scores are ROC-AUCs, which move with the order of its
    // probabilities)
    for (const [i, s] of one.entries())
      expect(Buffer.from(four[i]!.oof.buffer).equals(Buffer.from(s.oof.buffer))).toBe(true);
    // the scores are not trivially equal: candidates differ from one another
    expect(new Set(one.flatMap((s) => s.candidates.map((c) => c.cv_mean))).size).toBeGreaterThan(5);
  });
});
