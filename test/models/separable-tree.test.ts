/**
 * A single deep decision tree on linearly separable data vs scikit-learn's DecisionTreeClassifier
 * (test/golden/engine/make_fixtures.py --only=tree_threshold, tree_threshold.json, data stored there).
 * The fixture's data has no tied splits (the script checks scikit-learn grows the same tree for 30
 * random states), so an exact CART has one tree to grow: ours must grow it node for node — its
 * features have more than 255 distinct values, so this also covers the exact thresholds refined
 * inside quantile bins — and predict every held-out row as scikit-learn does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { DecisionTreeClassifier } from "../../src/models/decision-tree.ts";
import { fitBinMapper, quantileColumns } from "../../src/models/tree/binning.ts";
import { ROOT } from "../helpers/env.ts";

interface SeparableTree {
  X_train: number[][];
  y_train: number[];
  X_test: number[][];
  y_test: number[];
  /** Depth-first, left first; scikit-learn marks leaves with feature -2 (threshold null here). */
  feature: number[];
  threshold: (number | null)[];
  node_count: number;
  depth: number;
  train_accuracy: number;
  test_accuracy: number;
  predictions: number[];
}

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/tree_threshold.json"), "utf8"))
  .separable_tree as SeparableTree;

function matrix(rows: number[][]): Matrix {
  const n = rows.length;
  const X = allocMatrix(n, rows[0]!.length);
  rows.forEach((r, i) => {
    r.forEach((v, c) => {
      X.data[c * n + i] = v;
    });
  });
  return X;
}

function depthOf(left: Int32Array, right: Int32Array, node = 0): number {
  return left[node]! < 0
    ? 0
    : 1 + Math.max(depthOf(left, right, left[node]!), depthOf(left, right, right[node]!));
}

describe("deep decision tree on separable data vs scikit-learn", () => {
  const Xtr = matrix(fx.X_train);
  const ytr = Int32Array.from(fx.y_train);
  const Xte = matrix(fx.X_test);

  it("the fixture is what it claims: separable classes, features binned at quantiles", () => {
    expect(fx.train_accuracy).toBe(1);
    // more than 255 distinct values per feature: quantile bins, exact thresholds found inside them
    const m = fitBinMapper(Xtr);
    for (let f = 0; f < 3; f++) {
      expect(new Set(fx.X_train.map((r) => r[f])).size, `feature ${f}`).toBeGreaterThan(255);
      expect(quantileColumns(Xtr, m)?.index[f], `feature ${f}`).toBe(f);
    }
  });

  it("the same nodes, training accuracy 1, the same prediction on every held-out row", async () => {
    const m = new DecisionTreeClassifier();
    await m.fit(Xtr, ytr, 2);
    const t = m.tree!;
    const train = m.predict(Xtr);
    expect(train.every((p, i) => p === ytr[i])).toBe(true);
    const pred = Array.from(m.predict(Xte));
    expect(pred).toEqual(fx.predictions);
    // the held-out rows are not all easy: both trees miss the same few
    expect(pred.filter((p, i) => p === fx.y_test[i]).length / pred.length).toBe(fx.test_accuracy);
    expect(fx.test_accuracy).toBeLessThan(1);
    // both number nodes depth-first, left subtree first
    expect(t.nNodes).toBe(fx.node_count);
    expect(Array.from(t.feature, (f) => (f < 0 ? -2 : f))).toEqual(fx.feature);
    expect(Array.from(t.threshold, (v, i) => (t.feature[i]! < 0 ? null : v))).toEqual(fx.threshold);
    expect(depthOf(t.left, t.right)).toBe(fx.depth);
  });
});
