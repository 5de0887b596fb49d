/**
 * hist_gradient_boosting's behaviours checked against hand computations and against itself under
 * equivalent settings (the scikit-learn comparisons are in hgb-golden.test.ts).
 */
import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { allocMatrix, type Matrix, matrixFromRows } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { disableWasmFitKernels } from "../../src/models/hgb/wasm-kernels.ts";
import type { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { createModel, modelFromJSON } from "../../src/models/registry.ts";

function noisy(n: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) X.data[c * n + i] = rng.normal();
    y[i] = X.data[i]! + 0.5 * X.data[n + i]! + 1.5 * rng.normal() > 0 ? 1 : 0;
  }
  return { X, y };
}

describe("hist_gradient_boosting by hand", () => {
  it("one stump: Newton leaves −G/(H + λ) · learning_rate from the log-odds baseline", async () => {
    // x: 1 1 2 2 3 3 ; y: 0 0 0 1 1 1. Baseline p = 1/2 (logit 0); g = p − y = ±1/2, h = 1/4.
    // x <= 1.5: left (y 0 0) G = 1, H = 1/2; right (y 0 1 1 1) G = −1, H = 1.
    // x <= 2.5: left (y 0 0 0 1) G = 1, H = 1; right (y 1 1) G = −1, H = 1/2.
    const X = matrixFromRows([[1], [1], [2], [2], [3], [3]]);
    const y = Int32Array.of(0, 0, 0, 1, 1, 1);
    const l2 = 0.5;
    const lr = 0.3;
    const m = createModel("hist_gradient_boosting", {
      max_iter: 1,
      max_depth: 1,
      min_samples_leaf: 1,
      l2_regularization: l2,
      learning_rate: lr,
    }) as HistGradientBoostingClassifier;
    await m.fit(X, y, 2);
    expect(m.init[0]).toBe(0);
    // gains (λ = 0.5): x<=1.5: 1²/(0.5+λ) + 1²/(1+λ) = 1 + 2/3; x<=2.5: 1²/(1+λ) + 1²/(0.5+λ) — equal;
    // scikit-learn keeps the first (strictly greater replaces): the split x <= 1.5
    const t = m.trees[0]!;
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBe(1.5);
    const leftValue = t.value[t.left[0]!]!;
    const rightValue = t.value[t.right[0]!]!;
    expect(leftValue).toBeCloseTo((-1 / (0.5 + l2)) * lr, 14);
    expect(rightValue).toBeCloseTo((1 / (1 + l2)) * lr, 14);
    const p = m.predictProba(matrixFromRows([[1], [3]]));
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-leftValue)), 14);
    expect(p[3]).toBeCloseTo(1 / (1 + Math.exp(-rightValue)), 14);
  });

  it("min_child_weight: a split leaving a child less summed hessian is no candidate", async () => {
    // x: 0..9 ; y: 1 1 0 0 0 0 0 0 0 1. Baseline p = 0.3: g = 0.3 − y (−0.7 or 0.3), h = 0.21 a row;
    // G = 0, so a split's gain (λ = 0) is GL²/HL + GR²/HR:
    //   x <= 1.5: left 2 rows (y 1 1)   GL = −1.4, HL = 0.42; right GR = 1.4, HR = 1.68: 4.667 + 1.167 = 5.833 (best)
    //   x <= 2.5: left 3 rows (y 1 1 0) GL = −1.1, HL = 0.63; right GR = 1.1, HR = 1.47: 1.921 + 0.823 = 2.744
    //   every other split has a child of 1 or 2 rows (≤ 0.42) or gains less (x <= 3.5: 0.762 + 0.508)
    // min_child_weight 0.41 keeps x <= 1.5; 0.43 (> 0.42) rejects it and the 1-row splits: x <= 2.5
    const X = matrixFromRows(Array.from({ length: 10 }, (_, i) => [i]));
    const y = Int32Array.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 1);
    const stump = async (minChildWeight: number | undefined) => {
      const m = createModel("hist_gradient_boosting", {
        max_iter: 1,
        max_depth: 1,
        min_samples_leaf: 1,
        learning_rate: 1,
        ...(minChildWeight === undefined ? {} : { min_child_weight: minChildWeight }),
      }) as HistGradientBoostingClassifier;
      await m.fit(X, y, 2);
      const t = m.trees[0]!;
      return { threshold: t.threshold[0], left: t.value[t.left[0]!]!, right: t.value[t.right[0]!]! };
    };
    for (const w of [undefined, 0, 0.41]) {
      const s = await stump(w);
      expect(s.threshold, `min_child_weight ${w}`).toBe(1.5);
      // leaves −G/H (float32 hessians: within 1e-6)
      expect(s.left).toBeCloseTo(1.4 / 0.42, 6);
      expect(s.right).toBeCloseTo(-1.4 / 1.68, 6);
    }
    const s = await stump(0.43);
    expect(s.threshold).toBe(2.5);
    expect(s.left).toBeCloseTo(1.1 / 0.63, 6);
    expect(s.right).toBeCloseTo(-1.1 / 1.47, 6);
    // no split leaves both children 1.05 (5 rows): the root stays a leaf
    const none = createModel("hist_gradient_boosting", {
      max_iter: 1,
      max_depth: 1,
      min_samples_leaf: 1,
      min_child_weight: 1.06,
    }) as HistGradientBoostingClassifier;
    await none.fit(X, y, 2);
    expect(none.trees[0]!.nNodes).toBe(1);
  });

  it("missing values: learned side at fit; unseen at fit → the child with more training rows", async () => {
    // x0: NaN rows are all class 1, like the high values; x1 has no NaN at fit
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 60; i++) {
      const v = i % 3 === 0 ? Number.NaN : i;
      rows.push([v, i < 45 ? 0 : 1]);
      y.push(Number.isNaN(v) || i >= 40 ? 1 : 0);
    }
    const m = createModel("hist_gradient_boosting", {
      max_iter: 1,
      max_depth: 1,
      min_samples_leaf: 1,
    }) as HistGradientBoostingClassifier;
    await m.fit(matrixFromRows(rows), Int32Array.from(y), 2);
    const t = m.trees[0]!;
    expect(t.feature[0]).toBe(0);
    // x0 <= ~39 is class 0: NaN must join the right (class 1) side
    expect(t.missingLeft[0]).toBe(0);
    const p = m.predictProba(
      matrixFromRows([
        [Number.NaN, 0],
        [100, 0],
        [1, 0],
      ]),
    );
    expect(p[1]).toBe(p[3]);
    expect(p[1]).toBeGreaterThan(p[5]!);

    // flipped: NaN rows are class 0 → they go left
    const y2 = y.map((v, i) => (Number.isNaN(rows[i]![0]!) ? 0 : v));
    const m2 = createModel("hist_gradient_boosting", {
      max_iter: 1,
      max_depth: 1,
      min_samples_leaf: 1,
    }) as HistGradientBoostingClassifier;
    await m2.fit(matrixFromRows(rows), Int32Array.from(y2), 2);
    expect(m2.trees[0]!.missingLeft[0]).toBe(1);

    // a split on x1 (no NaN at fit): 45 rows left (x1 = 0), 15 right → unseen NaN goes left
    const y3 = rows.map((r) => r[1]!);
    const m3 = createModel("hist_gradient_boosting", {
      max_iter: 1,
      max_depth: 1,
      min_samples_leaf: 1,
    }) as HistGradientBoostingClassifier;
    await m3.fit(matrixFromRows(rows), Int32Array.from(y3), 2);
    const t3 = m3.trees[0]!;
    expect(t3.feature[0]).toBe(1);
    expect(t3.missingLeft[0]).toBe(1);
    const q = m3.predictProba(
      matrixFromRows([
        [5, Number.NaN],
        [5, 0],
      ]),
    );
    expect(q[1]).toBe(q[3]);
  });
});

describe("hist_gradient_boosting equivalences", () => {
  it("early stopping is staged: truncate(n) is the fit with max_iter = n, before and after the stop", async () => {
    const { X, y } = noisy(1200, 3);
    const P = { early_stopping: true, n_iter_no_change: 3, learning_rate: 0.5, random_state: 7 };
    const big = createModel("hist_gradient_boosting", { ...P, max_iter: 200 });
    const report = await big.fit(X, y, 2);
    expect(report.counters?.stoppedEarly).toBe(true);
    const stop = report.counters?.iterations as number;
    expect(stop).toBeLessThan(200);
    for (const n of [1, stop - 1, stop, stop + 5]) {
      const alone = createModel("hist_gradient_boosting", { ...P, max_iter: n });
      await alone.fit(X, y, 2);
      expect(big.truncate!(n).toJSON()).toEqual(alone.toJSON());
    }
  });

  it("early_stopping auto: off at 10,000 rows, on above", async () => {
    const small = noisy(10_000, 4);
    const a = await createModel("hist_gradient_boosting", { max_iter: 3 }).fit(small.X, small.y, 2);
    expect(a.counters?.iterations).toBe(3);
    const large = noisy(10_001, 4);
    const b = await createModel("hist_gradient_boosting", { max_iter: 300, learning_rate: 1 }).fit(
      large.X,
      large.y,
      2,
    );
    expect(b.counters?.stoppedEarly).toBe(true);
  });

  it('class_weight "balanced" is the same fit as the balancing sample weights', async () => {
    const { X, y } = noisy(600, 5);
    for (let i = 0; i < 200; i++) y[i] = 0; // imbalance
    const a = createModel("hist_gradient_boosting", { max_iter: 10, class_weight: "balanced" });
    await a.fit(X, y, 2);
    const n1 = y.reduce((s, v) => s + v, 0);
    const w = Float64Array.from(y, (v) => 600 / (2 * (v === 1 ? n1 : 600 - n1)));
    const b = createModel("hist_gradient_boosting", { max_iter: 10 });
    await b.fit(X, y, 2, { sampleWeight: w });
    expect(a.predictProba(X)).toEqual(b.predictProba(X));
    const plain = createModel("hist_gradient_boosting", { max_iter: 10 });
    await plain.fit(X, y, 2);
    expect(plain.predictProba(X)).not.toEqual(a.predictProba(X));
  });

  it("subsample and max_features: seeded (same seed, same model; another seed, another)", async () => {
    const { X, y } = noisy(500, 6);
    const probaWithSeed = async (seed: number) => {
      const m = createModel("hist_gradient_boosting", {
        max_iter: 8,
        subsample: 0.6,
        max_features: 0.5,
        random_state: seed,
      });
      await m.fit(X, y, 2);
      return m.predictProba(X);
    };
    expect(await probaWithSeed(1)).toEqual(await probaWithSeed(1));
    expect(await probaWithSeed(1)).not.toEqual(await probaWithSeed(2));
  });

  it("the WebAssembly kernels fit the JS loops' model, bit for bit (binary, multiclass, missing, subsample)", async () => {
    const { X, y } = noisy(1500, 11);
    for (let i = 0; i < 1500; i += 7) X.data[1500 + i] = Number.NaN;
    const y3 = Int32Array.from(y, (v, i) => (i % 5 === 0 ? 2 : v));
    for (const [labels, k, params] of [
      [y, 2, {}],
      [y3, 3, {}],
      [y, 2, { subsample: 0.7, max_features: 0.7 }],
    ] as const) {
      const fitState = async (jsOnly: boolean) => {
        disableWasmFitKernels(jsOnly);
        try {
          const m = createModel("hist_gradient_boosting", { ...params, max_iter: 15, random_state: 3 });
          await m.fit(X, labels, k);
          return m.toJSON().state;
        } finally {
          disableWasmFitKernels(false);
        }
      };
      expect(await fitState(false)).toEqual(await fitState(true));
    }
  });

  it("JSON round trip predicts the same bits", async () => {
    const { X, y } = noisy(400, 8);
    const m = createModel("hist_gradient_boosting", { max_iter: 15 });
    await m.fit(X, y, 2);
    const back = modelFromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(X)).toEqual(m.predictProba(X));
  });

  it("hyperparameters are scikit-learn's names; errors name the parameter", () => {
    expect(
      createModel("hist_gradient_boosting", { max_leaf_nodes: null, max_depth: 4 }).params,
    ).toMatchObject({
      maxLeafNodes: null,
      maxDepth: 4,
    });
    for (const bad of [
      { n_estimators: 10 },
      { max_features: 0 },
      { early_stopping: "yes" },
      { validation_fraction: 1 },
      { min_child_weight: -1 },
    ]) {
      let e: unknown;
      try {
        createModel("hist_gradient_boosting", bad);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).code).toBe("PARAM_INVALID");
      expect((e as Error).message).toContain(Object.keys(bad)[0]!);
    }
  });
});
