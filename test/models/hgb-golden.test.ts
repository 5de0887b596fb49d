/**
 * hist_gradient_boosting against scikit-learn's HistGradientBoostingClassifier (fixtures from
 * test/golden/engine/make_hgb_fixtures.py). Tolerances and why:
 * - fixed small data, no early stopping, no subsampling: the algorithm is deterministic and the bins
 *   are the same (scikit-learn's rule: (lo + hi)/2 between distinct values, numpy's
 *   "averaged_inverted_cdf" percentiles above max_bins of them; the class_weight case on the columns
 *   binned one value per bin, as scikit-learn weights its percentiles by the sample weights), so the
 *   trees are the same: the same number of leaves in every tree, and test probabilities within 1e-6
 *   (gradients are float32 on both sides and their float64 sums may add in another order, the leaf
 *   values then differ in the last bits, which 100 iterations of exp/log do not amplify past ~1e-9);
 *   the test rows include missing values in a feature that had them at fit (learned direction) and in
 *   one that had none (the child with more training rows);
 * - phishing at the defaults (deterministic too): test F1 within 0.005 and ROC-AUC within 0.001;
 * - early stopping (the validation rows are drawn by another generator than numpy's): the fit stops
 *   early, and test log loss within 0.01 of scikit-learn's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import type { HistGradientBoostingClassifier } from "../../src/models/hist-gradient-boosting.ts";
import { createModel } from "../../src/models/registry.ts";
import { binaryMetrics } from "../../src/selection/metrics.ts";
import { numericCsv, subset } from "../helpers/data.ts";
import { PHISHING_CSV, ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/hgb.json"), "utf8"));
const base = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/fixtures.json"), "utf8"));

/** The fixture's rows (null = missing), columns `cols` of them. */
function matrix(rows: (number | null)[][], cols: number[]): Matrix {
  const n = rows.length;
  const X = allocMatrix(n, cols.length);
  cols.forEach((f, c) => {
    for (let r = 0; r < n; r++) X.data[c * n + r] = rows[r]![f] ?? Number.NaN;
  });
  return X;
}

describe("hist_gradient_boosting vs scikit-learn on fixed data (same trees)", () => {
  const cases = Object.entries(fx.cases).filter(([, v]) => (v as { proba?: unknown }).proba) as [
    string,
    {
      k: number;
      columns: number[];
      params: Record<string, unknown>;
      leaves: number[];
      proba: number[][];
      set: string;
    },
  ][];
  for (const [name, c] of cases) {
    it(`${name}: same tree sizes, test probabilities within 1e-6`, async () => {
      const data = fx.cases[c.set];
      const X = matrix(data.X, c.columns);
      const Xt = matrix(data.test_X, c.columns);
      const m = createModel("hist_gradient_boosting", {
        ...c.params,
        random_state: 0,
      }) as HistGradientBoostingClassifier;
      await m.fit(X, Int32Array.from(data.y), c.k);
      const leaves = m.trees.map((t) => {
        let l = 0;
        for (let i = 0; i < t.nNodes; i++) if (t.feature[i] === -1) l++;
        return l;
      });
      expect(leaves).toEqual(c.leaves);
      const p = m.predictProba(Xt);
      let worst = 0;
      for (let r = 0; r < Xt.nRows; r++)
        for (let k = 0; k < c.k; k++) worst = Math.max(worst, Math.abs(p[r * c.k + k]! - c.proba[r]![k]!));
      expect(worst).toBeLessThan(1e-6);
    });
  }
});

describe("hist_gradient_boosting vs scikit-learn on phishing (defaults)", () => {
  it("test F1 within 0.005, ROC-AUC within 0.001", async () => {
    const all = numericCsv(PHISHING_CSV, "Result", "-1");
    const train = subset(all, base.phishing_split.train);
    const test = subset(all, base.phishing_split.test);
    const m = createModel("hist_gradient_boosting", {});
    const report = await m.fit(train.X, train.y, 2);
    // 8,844 training rows: early_stopping "auto" is off, as scikit-learn's (n_iter_ = 100)
    expect(report.counters?.iterations).toBe(fx.phishing.n_iter);
    const p = m.predictProba(test.X);
    const s = Float64Array.from({ length: test.y.length }, (_, i) => p[i * 2 + 1]!);
    const ours = binaryMetrics(test.y, s, 0.5);
    expect(Math.abs(ours.f1 - fx.phishing.f1), `F1 ${ours.f1} vs ${fx.phishing.f1}`).toBeLessThanOrEqual(
      0.005,
    );
    expect(Math.abs(ours.roc_auc - fx.phishing.roc_auc)).toBeLessThanOrEqual(0.001);
  });
});

/** make_hgb_fixtures.py's early_stopping_data(), regenerated (the LCG is exact in float64). */
function earlyStoppingData(): { X: Matrix; y: Int32Array } {
  const n = 14000;
  const p = 3;
  let s = 12345;
  const u = (): number => {
    s = (1664525 * s + 1013904223) % 4294967296;
    return s / 4294967296;
  };
  const X = allocMatrix(n, p);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const v: number[] = [];
    for (let j = 0; j <= p; j++) {
      const a = u();
      const b = u();
      const c = u();
      v.push(a + b + c);
    }
    for (let j = 0; j < p; j++) X.data[j * n + r] = v[j]!;
    y[r] = v[0]! + 0.5 * v[1]! + 2 * v[p]! > 2.25 + 3 ? 1 : 0;
  }
  return { X, y };
}

describe("hist_gradient_boosting early stopping vs scikit-learn", () => {
  it("above 10,000 rows it stops early; test log loss within 0.01 of scikit-learn's", async () => {
    const { X, y } = earlyStoppingData();
    const es = fx.early_stopping;
    expect(Array.from(y.subarray(0, 50))).toEqual(es.y_head);
    expect(y.reduce((a, b) => a + b, 0)).toBe(es.positives);
    const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    const train = subset({ X, y }, rows(0, es.train_rows));
    const test = subset({ X, y }, rows(es.train_rows, es.rows));
    const m = createModel("hist_gradient_boosting", { max_iter: es.max_iter });
    const report = await m.fit(train.X, train.y, 2);
    expect(report.counters?.stoppedEarly).toBe(true);
    expect(report.counters?.iterations as number).toBeLessThan(es.max_iter);
    const p = m.predictProba(test.X);
    let ll = 0;
    for (let i = 0; i < test.y.length; i++) ll -= Math.log(Math.max(p[i * 2 + test.y[i]!]!, 1e-15));
    ll /= test.y.length;
    expect(Math.abs(ll - es.test_log_loss), `log loss ${ll} vs ${es.test_log_loss}`).toBeLessThanOrEqual(
      0.01,
    );
  });
});
