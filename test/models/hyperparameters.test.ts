/**
 * What each hyperparameter does, read from the fitted state: node counts (a tree's node weights are
 * row counts with unit sample weights, checked against the training rows routed by hand), the
 * features split on, leaf values recomputed from the rows in each leaf, AdaBoost's estimator weights
 * recomputed from SAMME's formula. Every constraint is also shown to bind: without it the fitted
 * model breaks it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { AdaBoostClassifier } from "../../src/models/adaboost.ts";
import { DecisionTreeClassifier } from "../../src/models/decision-tree.ts";
import { GradientBoostingClassifier } from "../../src/models/gradient-boosting.ts";
import { LogisticRegression } from "../../src/models/logistic-regression.ts";
import { RandomForestClassifier } from "../../src/models/random-forest.ts";
import type { FlatTree } from "../../src/models/tree/flat-tree.ts";
import { rowsPerNode } from "../helpers/data.ts";

afterAll(() => closePool());

/**
 * Two or more classes, feature j shifted by class × shift[j] plus unit noise; `p1` the share of the
 * last class (binary: of class 1), the others evenly.
 */
function data(n: number, shift: number[], seed: number, k = 2, p1 = 0.5): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const p = shift.length;
  const X = allocMatrix(
    n,
    p,
    shift.map((_, j) => `f${j}`),
  );
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    y[i] = u < p1 ? k - 1 : Math.min(k - 2, Math.floor(((u - p1) / (1 - p1)) * (k - 1)));
    for (let j = 0; j < p; j++) X.data[j * n + i] = y[i]! * shift[j]! + rng.normal();
  }
  return { X, y };
}

/** The node each training row ends in, walked by hand (no missing values here). */
function leafOfRow(t: FlatTree, X: Matrix, r: number): number {
  let i = 0;
  while (t.feature[i]! >= 0)
    i = X.data[t.feature[i]! * X.nRows + r]! <= t.threshold[i]! ? t.left[i]! : t.right[i]!;
  return i;
}

const leaves = (t: FlatTree) => Array.from(t.feature).filter((f) => f < 0).length;
const internal = (t: FlatTree) => Array.from(t.feature.keys()).filter((i) => t.feature[i]! >= 0);
const leafIds = (t: FlatTree) => Array.from(t.feature.keys()).filter((i) => t.feature[i]! < 0);
const state = (m: { toJSON(): { state: unknown } }) => m.toJSON().state;

const NOISY = data(600, [0.6, 0.4, 0.3, 0.2], 1);

describe("decision tree", () => {
  it("node weights are the training rows through each node (unit sample weights)", async () => {
    const m = new DecisionTreeClassifier();
    await m.fit(NOISY.X, NOISY.y, 2);
    expect(Array.from(m.tree!.weight)).toEqual(Array.from(rowsPerNode(m.tree!, NOISY.X)));
  });

  it("min_samples_split: no internal node has fewer rows", async () => {
    const free = new DecisionTreeClassifier();
    await free.fit(NOISY.X, NOISY.y, 2);
    for (const s of [10, 40]) {
      expect(internal(free.tree!).some((i) => free.tree!.weight[i]! < s)).toBe(true);
      const m = new DecisionTreeClassifier({ minSamplesSplit: s });
      await m.fit(NOISY.X, NOISY.y, 2);
      const t = m.tree!;
      expect(internal(t).length).toBeGreaterThan(5);
      for (const i of internal(t)) expect(t.weight[i], `node ${i}`).toBeGreaterThanOrEqual(s);
      expect(Array.from(t.weight)).toEqual(Array.from(rowsPerNode(t, NOISY.X)));
    }
  });

  it("min_samples_leaf: every leaf holds at least that many training rows", async () => {
    const free = new DecisionTreeClassifier();
    await free.fit(NOISY.X, NOISY.y, 2);
    for (const l of [5, 25]) {
      expect(leafIds(free.tree!).some((i) => free.tree!.weight[i]! < l)).toBe(true);
      const m = new DecisionTreeClassifier({ minSamplesLeaf: l });
      await m.fit(NOISY.X, NOISY.y, 2);
      const t = m.tree!;
      const routed = rowsPerNode(t, NOISY.X);
      expect(leaves(t)).toBeGreaterThan(5);
      for (const i of leafIds(t)) expect(routed[i], `leaf ${i}`).toBeGreaterThanOrEqual(l);
    }
  });

  it("max_leaf_nodes: at most that many leaves", async () => {
    const free = new DecisionTreeClassifier();
    await free.fit(NOISY.X, NOISY.y, 2);
    expect(leaves(free.tree!)).toBeGreaterThan(40);
    for (const n of [2, 5, 12, 40]) {
      const m = new DecisionTreeClassifier({ maxLeafNodes: n });
      await m.fit(NOISY.X, NOISY.y, 2);
      expect(leaves(m.tree!), `max_leaf_nodes ${n}`).toBeLessThanOrEqual(n);
      expect(leaves(m.tree!)).toBeGreaterThanOrEqual(2);
    }
  });

  it("max_features 1: the root's feature changes with random_state; None: always the best", async () => {
    // five features of about the same strength
    const { X, y } = data(400, [0.8, 0.75, 0.7, 0.65, 0.6], 2);
    const roots = new Set<number>();
    const best = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const one = new DecisionTreeClassifier({ maxFeatures: 1, maxDepth: 2, randomState: seed });
      await one.fit(X, y, 2);
      roots.add(one.tree!.feature[0]!);
      const all = new DecisionTreeClassifier({ maxDepth: 2, randomState: seed });
      await all.fit(X, y, 2);
      best.add(all.tree!.feature[0]!);
    }
    expect([...roots].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(best.size).toBe(1);
  });

  it("max_features counts constant features drawn (scikit-learn's rule): all-constant draws go on to the first usable one", async () => {
    // features: 0 constant, 1 weak, 2 strong. max_features 2: the two drawn are {0,1} in 1/3 of the
    // orders (then only the weak one is usable and the root splits on it), {0,2} in 1/3 (the strong),
    // {1,2} in 1/3 (the strong). Had constants not counted, both usable ones would always be
    // evaluated and the root would always be the strong one.
    const rng = new Rng(8);
    const n = 600;
    const X = allocMatrix(n, 3, ["const", "weak", "strong"]);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      y[r] = r % 2;
      X.data[r] = 7;
      X.data[n + r] = y[r]! * 0.3 + rng.normal();
      X.data[2 * n + r] = y[r]! * 3 + rng.normal();
    }
    const seeds = 300;
    let weak = 0;
    let onlyConstantDrawn = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const m = new DecisionTreeClassifier({ maxFeatures: 2, maxDepth: 1, randomState: seed });
      await m.fit(X, y, 2);
      expect(m.tree!.feature[0]).not.toBe(0); // the constant feature is never split on
      if (m.tree!.feature[0] === 1) weak++;
      // max_features 1: the constant one drawn first (1/3) means drawing on until a usable one
      const one = new DecisionTreeClassifier({ maxFeatures: 1, maxDepth: 1, randomState: seed });
      await one.fit(X, y, 2);
      expect(one.tree!.feature[0]).not.toBe(0);
      expect(one.tree!.nNodes).toBe(3); // always a split: a usable feature is always found
      if (one.tree!.feature[0] === 1) onlyConstantDrawn++;
    }
    // 1/3 ± 3 binomial standard deviations (sd = sqrt(300 · 1/3 · 2/3) ≈ 8.2 rows)
    expect(weak).toBeGreaterThanOrEqual(100 - 25);
    expect(weak).toBeLessThanOrEqual(100 + 25);
    // max_features 1: weak when drawn first (1/3) or after the constant one (1/3 · 1/2): 1/2 in all
    expect(onlyConstantDrawn).toBeGreaterThanOrEqual(150 - 26);
    expect(onlyConstantDrawn).toBeLessThanOrEqual(150 + 26);
  });

  it('max_features "sqrt" on 30 features evaluates 5 per node: the best of 5 drawn at the root', async () => {
    // feature j shifted by 0.06·(j + 1): strengths from next to none to strong, none separating alone
    const shift = Array.from({ length: 30 }, (_, j) => 0.06 * (j + 1));
    const { X, y } = data(500, shift, 3);
    // each feature's best root split by hand (exact Gini over every threshold): its rank, 1 = best
    const gain = shift.map((_, f) => bestGiniDecrease(X, y, f));
    const rank = gain.map((g) => 1 + gain.filter((h) => h > g).length);
    // (noise reorders neighbours; the weakest four are among the first features, the best among the last)
    expect(Math.max(...rank.flatMap((r, f) => (r >= 27 ? [f] : [])))).toBeLessThan(8);
    expect(rank.indexOf(1)).toBeGreaterThanOrEqual(25);
    const rootRanks: number[] = [];
    const differs = { 4: false, 6: false };
    for (let seed = 0; seed < 60; seed++) {
      const sqrt = new DecisionTreeClassifier({ maxFeatures: "sqrt", maxDepth: 3, randomState: seed });
      await sqrt.fit(X, y, 2);
      // floor(sqrt(30)) = 5: the same draws and the same tree as max_features = 5
      const five = new DecisionTreeClassifier({ maxFeatures: 5, maxDepth: 3, randomState: seed });
      await five.fit(X, y, 2);
      expect(state(sqrt)).toEqual(state(five));
      for (const k of [4, 6] as const) {
        const other = new DecisionTreeClassifier({ maxFeatures: k, maxDepth: 3, randomState: seed });
        await other.fit(X, y, 2);
        if (JSON.stringify(state(other)) !== JSON.stringify(state(sqrt))) differs[k] = true;
      }
      rootRanks.push(rank[sqrt.tree!.feature[0]!]!);
    }
    expect(differs).toEqual({ 4: true, 6: true });
    // the best of 5 distinct features beats at least 4: never one of the 4 weakest (rank 27..30)
    expect(Math.max(...rootRanks)).toBeLessThanOrEqual(26);
    // and not all 30 are looked at: the best feature is at the root in about 1 seed of 6 (5/30)
    const top = rootRanks.filter((r) => r === 1).length;
    expect(top).toBeGreaterThan(2);
    expect(top).toBeLessThan(25);
  });

  it('class_weight "balanced" is the fit with sample weights n / (K · n_k), and predicts the minority more', async () => {
    const { X, y } = data(500, [0.7, 0.5, 0.3], 4, 2, 0.12);
    const nk = [0, 0];
    for (const c of y) nk[c]!++;
    const sw = Float64Array.from(y, (c) => y.length / (2 * nk[c]!));
    for (const [label, make] of [
      [
        "decision_tree",
        (cw: "balanced" | null) => new DecisionTreeClassifier({ classWeight: cw, maxDepth: 4 }),
      ],
      [
        "random_forest",
        (cw: "balanced" | null) =>
          new RandomForestClassifier({ classWeight: cw, nEstimators: 6, maxDepth: 4 }),
      ],
      ["logistic_regression", (cw: "balanced" | null) => new LogisticRegression({ classWeight: cw })],
    ] as const) {
      const bal = make("balanced");
      await bal.fit(X, y, 2, { threads: 1 });
      const weighted = make(null);
      await weighted.fit(X, y, 2, { sampleWeight: sw, threads: 1 });
      expect(state(bal), label).toEqual(state(weighted));
      const plain = make(null);
      await plain.fit(X, y, 2, { threads: 1 });
      const minority = (m: { predict(X: Matrix): Int32Array }) => m.predict(X).filter((c) => c === 1).length;
      expect(minority(bal), label).toBeGreaterThan(minority(plain) + 20);
    }
  });

  it("criterion log_loss grows exactly the entropy tree (as scikit-learn: the same criterion)", async () => {
    const { X, y } = data(300, [0.5, 0.4, 0.3], 5, 3, 0.3);
    const dt = (criterion: "gini" | "entropy" | "log_loss") => new DecisionTreeClassifier({ criterion });
    const rf = (criterion: "gini" | "entropy" | "log_loss") =>
      new RandomForestClassifier({ criterion, nEstimators: 4, randomState: 2 });
    for (const make of [dt, rf]) {
      const e = make("entropy");
      const l = make("log_loss");
      const g = make("gini");
      for (const m of [e, l, g]) await m.fit(X, y, 3, { threads: 1 });
      expect(state(l)).toEqual(state(e));
      expect(state(g)).not.toEqual(state(e));
    }
  });
});

/** The largest weighted-Gini decrease of a split on feature f, over every threshold (exact, by hand). */
function bestGiniDecrease(X: Matrix, y: Int32Array, f: number): number {
  const n = X.nRows;
  const order = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => X.data[f * n + a]! - X.data[f * n + b]!,
  );
  let pos = 0;
  for (const c of y) pos += c;
  const gini = (p: number, m: number) => (m === 0 ? 0 : 1 - (p / m) ** 2 - (1 - p / m) ** 2);
  let best = 0;
  let lp = 0;
  for (let i = 0; i < n - 1; i++) {
    lp += y[order[i]!]!;
    if (X.data[f * n + order[i]!] === X.data[f * n + order[i + 1]!]) continue;
    const d = gini(pos, n) - ((i + 1) / n) * gini(lp, i + 1) - ((n - i - 1) / n) * gini(pos - lp, n - i - 1);
    best = Math.max(best, d);
  }
  return best;
}

describe("gradient boosting", () => {
  it("l2_regularization: each first-tree leaf is −lr·G/(H + λ) of its rows; larger λ, smaller |leaf|", async () => {
    const { X, y } = NOISY;
    const n = y.length;
    let pos = 0;
    for (const c of y) pos += c;
    // every row starts at the prior: p0 = mean(y), gradient p0 − y, hessian p0(1 − p0)
    const p0 = pos / n;
    const lr = 0.1;
    const fitted: GradientBoostingClassifier[] = [];
    const lambdas = [0, 0.5, 5, 50, 500];
    for (const l2 of lambdas) {
      const m = new GradientBoostingClassifier({
        nEstimators: 1,
        maxDepth: 3,
        l2Regularization: l2,
        learningRate: lr,
      });
      await m.fit(X, y, 2);
      fitted.push(m);
      const t = m.trees[0]!;
      const G = new Float64Array(t.nNodes);
      const cnt = new Float64Array(t.nNodes);
      for (let r = 0; r < n; r++) {
        const leaf = leafOfRow(t, X, r);
        G[leaf]! += p0 - y[r]!;
        cnt[leaf]!++;
      }
      for (const i of leafIds(t)) {
        const want = (-lr * G[i]!) / (cnt[i]! * p0 * (1 - p0) + l2);
        expect(Math.abs(t.value[i]! - want), `λ ${l2}, leaf ${i}`).toBeLessThanOrEqual(
          1e-9 * Math.abs(want) + 1e-15,
        );
      }
    }
    // friedman_mse splits do not depend on λ: the same tree, its leaves shrinking toward 0
    const base = fitted[0]!.trees[0]!;
    for (let k = 1; k < fitted.length; k++) {
      const t = fitted[k]!.trees[0]!;
      expect(Array.from(t.feature)).toEqual(Array.from(base.feature));
      expect(Array.from(t.threshold)).toEqual(Array.from(base.threshold));
      const prev = fitted[k - 1]!.trees[0]!;
      for (const i of leafIds(t)) {
        expect(Math.abs(t.value[i]!)).toBeLessThan(Math.abs(prev.value[i]!));
        expect(Math.sign(t.value[i]!)).toBe(Math.sign(prev.value[i]!));
      }
    }
    // a whole model: the sum of |leaf values| over 20 trees shrinks as λ grows
    const total: number[] = [];
    for (const l2 of lambdas) {
      const m = new GradientBoostingClassifier({ nEstimators: 20, l2Regularization: l2 });
      await m.fit(X, y, 2);
      let s = 0;
      for (const t of m.trees) for (const i of leafIds(t)) s += Math.abs(t.value[i]!);
      total.push(s);
    }
    for (let k = 1; k < total.length; k++) expect(total[k]).toBeLessThan(total[k - 1]!);
  });

  it("min_samples_leaf: every leaf of every tree holds at least that many rows (of its subsample)", async () => {
    const free = new GradientBoostingClassifier({ nEstimators: 10, maxDepth: 6 });
    await free.fit(NOISY.X, NOISY.y, 2);
    expect(free.trees.some((t) => leafIds(t).some((i) => t.weight[i]! < 30))).toBe(true);
    for (const subsample of [1, 0.7]) {
      const m = new GradientBoostingClassifier({
        nEstimators: 10,
        maxDepth: 6,
        minSamplesLeaf: 30,
        subsample,
      });
      await m.fit(NOISY.X, NOISY.y, 2);
      for (const t of m.trees) {
        expect(leaves(t)).toBeGreaterThan(2);
        for (const i of leafIds(t)) expect(t.weight[i]).toBeGreaterThanOrEqual(30);
      }
      if (subsample === 1)
        for (const t of m.trees) expect(Array.from(t.weight)).toEqual(Array.from(rowsPerNode(t, NOISY.X)));
    }
  });

  it("max_leaf_nodes: at most that many leaves per tree", async () => {
    const free = new GradientBoostingClassifier({ nEstimators: 5, maxDepth: null });
    await free.fit(NOISY.X, NOISY.y, 2);
    expect(Math.min(...free.trees.map(leaves))).toBeGreaterThan(20);
    for (const n of [2, 6, 20]) {
      const m = new GradientBoostingClassifier({ nEstimators: 5, maxDepth: null, maxLeafNodes: n });
      await m.fit(NOISY.X, NOISY.y, 2);
      for (const t of m.trees) {
        expect(leaves(t), `max_leaf_nodes ${n}`).toBeLessThanOrEqual(n);
        expect(leaves(t)).toBeGreaterThanOrEqual(2);
      }
    }
  });
});

describe("AdaBoost (SAMME)", () => {
  for (const K of [2, 3]) {
    it(`${K} classes: estimator weights are lr · (ln((1 − err)/err) + ln(K − 1)), err from the boosted sample weights`, async () => {
      const { X, y } = data(400, [0.6, 0.5, 0.4], 6, K, 1 / K);
      const n = y.length;
      const first: number[] = [];
      for (const lr of [1, 0.5, 0.1]) {
        const m = new AdaBoostClassifier({ nEstimators: 12, learningRate: lr });
        await m.fit(X, y, K);
        expect(m.weights).toHaveLength(12);
        first.push(m.weights[0]!);
        // replay SAMME's sample weights over the fitted stumps
        const w = new Float64Array(n).fill(1 / n);
        m.trees.forEach((t, k) => {
          const wrong = Array.from({ length: n }, (_, r) => {
            const leaf = leafOfRow(t, X, r);
            let c = 0;
            for (let j = 1; j < K; j++) if (t.value[leaf * K + j]! > t.value[leaf * K + c]!) c = j;
            return c !== y[r];
          });
          let err = 0;
          let tot = 0;
          for (let r = 0; r < n; r++) {
            if (wrong[r]) err += w[r]!;
            tot += w[r]!;
          }
          err /= tot;
          const alpha = lr * (Math.log((1 - err) / err) + Math.log(K - 1));
          expect(m.weights[k]!, `lr ${lr}, stump ${k}`).toBeCloseTo(alpha, 10);
          for (let r = 0; r < n; r++) if (wrong[r]) w[r]! *= Math.exp(alpha);
        });
      }
      // the first stump sees uniform weights whatever the learning rate: its weight scales with lr
      expect(first[1]!).toBeCloseTo(0.5 * first[0]!, 12);
      expect(first[2]!).toBeCloseTo(0.1 * first[0]!, 12);
    });
  }
});
