/**
 * hist_gradient_boosting's native categorical features.
 * - against scikit-learn's HistGradientBoostingClassifier(categorical_features=[0, 2, 3]) on fixed
 *   data (fixtures from test/golden/engine/make_hgb_cat_fixtures.py): no early stopping or
 *   subsampling, so the algorithm is deterministic and the bins are the same (one per category): the
 *   same leaves in every tree, the same number of category-set splits, and test probabilities within
 *   1e-6 (as hgb-golden.test.ts: float32 gradients summed in another order move the last bits only).
 *   The test rows hold missing values in a feature without any at fit and codes unseen at fit, which
 *   both go the missing-value way;
 * - a hand-made case whose split is known: which codes go where, unknown codes and NaN;
 * - saving and loading (and trees saved before category splits existed), explanations adding up to the
 *   score, QuickScorer scoring such trees as the generic walk does, and the user's mistakes named.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { modelIR } from "../../src/bundle/onnx/from-models.ts";
import { NetsecError } from "../../src/core/errors.ts";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { treeMatrix } from "../../src/models/hgb/categorical-inputs.ts";
import { disableWasmFitKernels } from "../../src/models/hgb/wasm-kernels.ts";
import { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { createModel } from "../../src/models/registry.ts";
import { categoryGoesLeft } from "../../src/models/tree/categorical-splits.ts";
import { accumulateTree, leafOf } from "../../src/models/tree/flat-tree.ts";
import { packTrees } from "../../src/models/tree/packed-trees.ts";
import { treeFromJSON } from "../../src/models/tree/tree-serial.ts";
import { quickWalk } from "../../src/models/tree/walks.ts";
import { ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/hgb_cat.json"), "utf8"));

function matrix(rows: (number | null)[][]): Matrix {
  const n = rows.length;
  const p = rows[0]!.length;
  const X = allocMatrix(n, p);
  for (let f = 0; f < p; f++) for (let r = 0; r < n; r++) X.data[f * n + r] = rows[r]![f] ?? Number.NaN;
  return X;
}

function leafCount(m: HistGradientBoostingClassifier): number[] {
  return m.trees.map((t) => {
    let l = 0;
    for (let i = 0; i < t.nNodes; i++) if (t.feature[i] === -1) l++;
    return l;
  });
}

function categorySplits(m: HistGradientBoostingClassifier): number {
  let c = 0;
  for (const t of m.trees) for (const v of t.categorical?.node ?? []) if (v >= 0) c++;
  return c;
}

describe("hist_gradient_boosting categorical_features vs scikit-learn (same trees)", () => {
  const cases = Object.entries(fx.cases).filter(([, v]) => (v as { proba?: unknown }).proba) as [
    string,
    {
      k: number;
      params: Record<string, unknown>;
      leaves: number[];
      categorical_splits: number;
      proba: number[][];
      set: string;
    },
  ][];
  for (const [name, c] of cases) {
    it(`${name}: same trees and category splits, test probabilities within 1e-6`, async () => {
      const data = fx.cases[c.set];
      const m = createModel("hist_gradient_boosting", {
        ...c.params,
        random_state: 0,
      }) as HistGradientBoostingClassifier;
      await m.fit(matrix(data.X), Int32Array.from(data.y), c.k);
      expect(leafCount(m)).toEqual(c.leaves);
      expect(categorySplits(m)).toBe(c.categorical_splits);
      const p = m.predictProba(matrix(data.test_X));
      let worst = 0;
      for (let r = 0; r < c.proba.length; r++)
        for (let k = 0; k < c.k; k++) worst = Math.max(worst, Math.abs(p[r * c.k + k]! - c.proba[r]![k]!));
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

/**
 * 200 rows, one categorical feature: codes 0..4, 40 rows each; label 1 for codes 1 and 4, and for 5
 * rows of code 0 (so the categories' gradient ratios all differ). Codes 1 and 4 have the lowest
 * G / (H + 10) (negative gradients), so the first split sends {1, 4} left and {0, 2, 3} right.
 */
function handMade(): { X: Matrix; y: Int32Array } {
  const n = 200;
  const X = allocMatrix(n, 1, ["proto"]);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const code = r % 5;
    X.data[r] = code;
    y[r] = code === 1 || code === 4 || (code === 0 && r < 25) ? 1 : 0;
  }
  return { X, y };
}

describe("category-set splits on a hand-made case", () => {
  it("sends codes {1, 4} one way, {0, 2, 3} the other; unknown codes and NaN the missing way", async () => {
    const { X, y } = handMade();
    const m = new HistGradientBoostingClassifier({ maxIter: 1, maxLeafNodes: 2, categoricalFeatures: [0] });
    await m.fit(X, y, 2);
    const t = m.trees[0]!;
    expect(t.nNodes).toBe(3);
    expect(t.categorical!.node[0]).toBe(0);
    const at = (v: number): number => leafOf(t, Float64Array.of(v), 1, 0);
    expect(at(1)).toBe(t.left[0]);
    expect(at(4)).toBe(t.left[0]);
    for (const v of [0, 2, 3]) expect(at(v)).toBe(t.right[0]);
    // no missing values at fit: NaN and unknown codes go to the child with more training rows (right)
    expect(t.missingLeft[0]).toBe(0);
    for (const v of [Number.NaN, 7, -1, 1.5, 300]) expect(at(v)).toBe(t.right[0]);
    // leaf values: learning_rate · −G / H on each side; baseline p = 85 / 200
    const p0 = 85 / 200;
    expect(t.value[t.left[0]!]).toBeCloseTo(0.1 * ((80 * (1 - p0)) / (80 * p0 * (1 - p0))), 4);
    expect(t.value[t.right[0]!]).toBeCloseTo(0.1 * ((5 - 120 * p0) / (120 * p0 * (1 - p0))), 4);
  });

  it("categoryGoesLeft: left set, known set, anything else by missingLeft", () => {
    // one node: left {3, 40}, known {3, 5, 40, 255}
    const bits = new Uint32Array(16);
    for (const v of [3, 40]) bits[v >>> 5]! |= 1 << (v & 31);
    for (const v of [3, 5, 40, 255]) bits[8 + (v >>> 5)]! |= 1 << (v & 31);
    expect([3, 40].map((v) => categoryGoesLeft(bits, 0, v, 0))).toEqual([true, true]);
    expect([5, 255].map((v) => categoryGoesLeft(bits, 0, v, 1))).toEqual([false, false]);
    for (const v of [4, Number.NaN, -3, 3.5, 256, Number.POSITIVE_INFINITY]) {
      expect(categoryGoesLeft(bits, 0, v, 1)).toBe(true);
      expect(categoryGoesLeft(bits, 0, v, 0)).toBe(false);
    }
  });

  it("missing values at fit are a category of their own", async () => {
    const { X, y } = handMade();
    // code 2's rows become missing and positive: NaN joins {1, 4}
    for (let r = 2; r < 200; r += 5) {
      X.data[r] = Number.NaN;
      y[r] = 1;
    }
    const m = new HistGradientBoostingClassifier({
      maxIter: 1,
      maxLeafNodes: 2,
      categoricalFeatures: ["proto"],
    });
    await m.fit(X, y, 2);
    const t = m.trees[0]!;
    expect(t.missingLeft[0]).toBe(1);
    const at = (v: number): number => leafOf(t, Float64Array.of(v), 1, 0);
    expect([1, 4, Number.NaN, 9].map(at)).toEqual(new Array(4).fill(t.left[0]));
    expect([0, 3].map(at)).toEqual([t.right[0], t.right[0]]);
  });
});

describe("a model with category splits", () => {
  const data = fx.cases.data3;
  const params = { max_iter: 15, categorical_features: [true, false, true, true, false], random_state: 0 };

  it("saves and loads to the same predictions; trees saved without category splits still load", async () => {
    const m = createModel("hist_gradient_boosting", params) as HistGradientBoostingClassifier;
    await m.fit(matrix(data.X), Int32Array.from(data.y), 3);
    const Xt = matrix(data.test_X);
    const back = HistGradientBoostingClassifier.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(Xt)).toEqual(m.predictProba(Xt));
    const old = treeFromJSON({
      k: 1,
      feature: [0, -1, -1],
      threshold: [0.5, null, null],
      left: [1, -1, -1],
      right: [2, -1, -1],
      missingLeft: [0, 0, 0],
      value: [0, -1, 1],
      weight: [2, 1, 1],
    });
    expect(old.categorical).toBeUndefined();
    expect(leafOf(old, Float64Array.of(0.7), 1, 0)).toBe(2);
  });

  it("explanations add up to each class's raw score minus the trees' root values", async () => {
    const m = createModel("hist_gradient_boosting", params) as HistGradientBoostingClassifier;
    await m.fit(matrix(data.X), Int32Array.from(data.y), 3);
    const Xt = matrix(data.test_X);
    const F = m.decision(Xt);
    for (let cls = 0; cls < 3; cls++) {
      let roots = m.init[cls]!;
      for (let t = cls; t < m.trees.length; t += 3) roots += m.trees[t]!.value[0]!;
      const all = m.contributionsAll(Xt, cls);
      for (let r = 0; r < Xt.nRows; r += 37) {
        const one = m.contributions(Xt, r, cls);
        expect(Array.from(all.subarray(r * 5, r * 5 + 5))).toEqual(Array.from(one));
        const sum = one.reduce((a, b) => a + b, 0);
        expect(sum + roots).toBeCloseTo(F[r * 3 + cls]!, 10);
      }
    }
  });

  it("is packed for QuickScorer alone, whose scores are the generic walk's to the bit", async () => {
    const m = createModel("hist_gradient_boosting", params) as HistGradientBoostingClassifier;
    await m.fit(matrix(data.X), Int32Array.from(data.y), 3);
    const P = packTrees(m.trees);
    expect(P.categorical).toBe(true);
    expect(quickWalk(P)).toBe(true);
    // the test rows hold missing values and codes unseen at fit
    const Xt = matrix(data.test_X);
    const n = Xt.nRows;
    const ref = new Float64Array(n * 3);
    for (let r = 0; r < n; r++) ref.set(m.init, 3 * r);
    m.trees.forEach((t, i) => {
      accumulateTree(t, Xt.data, n, ref, 1, 3, i % 3);
    });
    expect(Array.from(m.decision(Xt))).toEqual(Array.from(ref));
  });
});

describe("categorical_features mistakes", () => {
  const err = async (p: Record<string, unknown>, X: Matrix): Promise<NetsecError> => {
    const m = createModel("hist_gradient_boosting", p);
    const e = await m
      .fit(
        X,
        Int32Array.from({ length: X.nRows }, (_, i) => i % 2),
        2,
      )
      .catch((x) => x);
    expect(e).toBeInstanceOf(NetsecError);
    return e as NetsecError;
  };
  it("names the feature, row and value of a code that is not an integer 0..255", async () => {
    const X = allocMatrix(4, 2, ["a", "flag"]);
    X.data.set([1, 0, 2, 3, 0, 1, 2.5, 1]);
    const e = await err({ categorical_features: ["flag"] }, X);
    expect(e.code).toBe("DATA_INVALID");
    expect(e.details).toMatchObject({ column: "flag", row: 2, value: 2.5 });
  });
  it("refuses more categories than max_bins, and indices or masks that do not fit the columns", async () => {
    const X = allocMatrix(6, 2);
    X.data.set([0, 1, 2, 3, 4, 5, 0, 0, 1, 1, 0, 1]);
    expect((await err({ categorical_features: [0], max_bins: 4 }, X)).message).toMatch(/6 categories/);
    expect((await err({ categorical_features: [2] }, X)).code).toBe("PARAM_INVALID");
    expect((await err({ categorical_features: [true] }, X)).code).toBe("PARAM_INVALID");
    expect((await err({ categorical_features: ["nope"] }, X)).code).toBe("PARAM_INVALID");
  });
});

/** X with each of `columns` (category codes) replaced by its one-hot block `c<f>=<code>` (NaN: no hot column). */
function oneHot(rows: (number | null)[][], columns: number[], codes: number): Matrix {
  const n = rows.length;
  const p = rows[0]!.length;
  const names: string[] = [];
  const cols: Float64Array[] = [];
  for (let f = 0; f < p; f++) {
    if (!columns.includes(f)) {
      names.push(`x${f}`);
      cols.push(Float64Array.from(rows, (row) => row[f] ?? Number.NaN));
      continue;
    }
    for (let c = 0; c < codes; c++) {
      names.push(`c${f}=${c}`);
      cols.push(Float64Array.from(rows, (row) => (row[f] === c ? 1 : 0)));
    }
  }
  const X = allocMatrix(n, cols.length, names);
  cols.forEach((v, j) => {
    X.data.set(v, j * n);
  });
  return X;
}

describe("categorical_features naming one-hot blocks (the pipeline's columns)", () => {
  it("the trees' matrix: kept columns, then each block's hot code; shared when the batch is", () => {
    const inputs = { keep: [2], blocks: [[0, 1]], blockNames: ["b"] };
    for (const shared of [false, true]) {
      // rows: (1, 0, 5), (0, 1, 6), (0, 0, 7): codes 0, 1 and none (NaN)
      const X = allocMatrix(3, 3, undefined, shared);
      X.data.set([1, 0, 0, 0, 1, 0, 5, 6, 7]);
      const T = treeMatrix(inputs, X);
      expect(Array.from(T.data)).toEqual([5, 6, 7, 0, 1, Number.NaN]);
      expect(T.data.buffer instanceof SharedArrayBuffer).toBe(shared);
    }
  });

  const c = fx.cases["3class_small_leaves"];
  const data = fx.cases[c.set];
  // 60 codes cover every column's categories (0..3, 0..59, 0..6; the empty columns are never hot)
  const params = { ...c.params, categorical_features: ["c0", "c2", "c3"], random_state: 0 };

  it("reads each block as one category feature: scikit-learn's trees and probabilities", async () => {
    const m = createModel("hist_gradient_boosting", params) as HistGradientBoostingClassifier;
    await m.fit(oneHot(data.X, [0, 2, 3], 60), Int32Array.from(data.y), 3);
    expect(m.inputs?.blockNames).toEqual(["c0", "c2", "c3"]);
    expect(leafCount(m)).toEqual(c.leaves);
    expect(categorySplits(m)).toBe(c.categorical_splits);
    const p = m.predictProba(oneHot(data.test_X, [0, 2, 3], 60));
    let worst = 0;
    for (let r = 0; r < c.proba.length; r++)
      for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(p[r * 3 + k]! - c.proba[r]![k]!));
    expect(worst).toBeLessThan(1e-6);
    const back = HistGradientBoostingClassifier.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.predictProba(oneHot(data.test_X, [0, 2, 3], 60))).toEqual(p);
  });

  it("credits a block's contribution to the row's hot column; they add up to the score", async () => {
    const m = createModel("hist_gradient_boosting", {
      ...params,
      max_iter: 10,
    }) as HistGradientBoostingClassifier;
    await m.fit(oneHot(data.X, [0, 2, 3], 60), Int32Array.from(data.y), 3);
    const Xt = oneHot(data.test_X, [0, 2, 3], 60);
    const F = m.decision(Xt);
    const p = Xt.nCols;
    const all = m.contributionsAll(Xt, 2);
    let roots = m.init[2]!;
    for (let t = 2; t < m.trees.length; t += 3) roots += m.trees[t]!.value[0]!;
    for (let r = 0; r < Xt.nRows; r += 23) {
      const one = m.contributions(Xt, r, 2);
      expect(Array.from(all.subarray(r * p, (r + 1) * p))).toEqual(Array.from(one));
      expect(one.reduce((a, b) => a + b, 0) + roots).toBeCloseTo(F[r * 3 + 2]!, 10);
      // only hot columns (or a block's first, for a row without one) of a block are credited
      for (let j = 0; j < p; j++) {
        const name = Xt.names![j]!;
        if (!name.includes("=") || one[j] === 0) continue;
        const hot = Xt.data[j * Xt.nRows + r] === 1;
        expect(hot || name.endsWith("=0"), `${name} credited in row ${r}`).toBe(true);
      }
    }
  });
});

describe("ONNX conversion of category splits", () => {
  it("refuses category splits on a column of codes (only one-hot blocks export)", async () => {
    const data = fx.cases.data2;
    const m = createModel("hist_gradient_boosting", {
      max_iter: 3,
      categorical_features: [0, 2, 3],
    }) as HistGradientBoostingClassifier;
    await m.fit(matrix(data.X), Int32Array.from(data.y), 2);
    expect(() => modelIR(m.toJSON())).toThrow(/category split on a column of codes/);
  });
});

describe("category splits with the fit's other paths", () => {
  it("the WebAssembly kernels fit the JS loops' model bit for bit (subsample, max_features, early stopping)", async () => {
    const data = fx.cases.data3;
    const X = matrix(data.X);
    const y = Int32Array.from(data.y);
    for (const params of [
      { subsample: 0.7, max_features: 0.8 },
      { early_stopping: true, validation_fraction: 0.2, n_iter_no_change: 3 },
    ]) {
      const fitState = async (jsOnly: boolean) => {
        disableWasmFitKernels(jsOnly);
        try {
          const m = createModel("hist_gradient_boosting", {
            ...params,
            max_iter: 15,
            categorical_features: [0, 2, 3],
            random_state: 3,
          });
          await m.fit(X, y, 3);
          return m.toJSON().state;
        } finally {
          disableWasmFitKernels(false);
        }
      };
      const wasm = await fitState(false);
      expect(JSON.stringify(wasm)).toContain('"categorical"');
      expect(wasm).toEqual(await fitState(true));
    }
  });
});
