/**
 * Golden tests against scikit-learn (fixtures from test/golden/engine/make_fixtures.py, same data
 * files, same split). Tolerances and why:
 * - stochastic ensembles (forest, boosting): test F1 within 0.01 and ROC-AUC within 0.005 — the random
 *   streams differ, the models are statistically equivalent;
 * - our gradient boosting is histogram-based (Newton leaves), scikit-learn's GradientBoostingClassifier
 *   is exact: same tolerance, checked against GBC with our default criterion (Friedman MSE, as GBC) and
 *   against HistGradientBoosting with criterion "newton" (its second-order gain);
 * - a single deep tree: >= 99% identical test predictions (equally good splits may be tied and broken
 *   differently) and accuracy within 0.01;
 * - logistic regression: both sides solved to tight tolerance, coefficients to 1e-4 relative, probabilities 1e-5.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { LogisticRegression } from "../../src/models/logistic-regression.ts";
import { createModel } from "../../src/models/registry.ts";
import { binaryMetrics } from "../../src/selection/metrics.ts";
import { numericCsv, standardise, subset } from "../helpers/data.ts";
import { KDD_DIR, PHISHING_CSV, ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/fixtures.json"), "utf8"));
afterAll(() => closePool());

const all = numericCsv(PHISHING_CSV, "Result", "-1");
const train = subset(all, fx.phishing_split.train);
const test = subset(all, fx.phishing_split.test);

describe("phishing, stratified 80/20 (seed 42): test metrics vs scikit-learn", () => {
  for (const [name, ref, extra] of [
    ["random_forest", "random_forest", {}],
    ["gradient_boosting", "gradient_boosting", {}],
    ["gradient_boosting", "hist_gradient_boosting", { criterion: "newton" }],
    ["adaboost", "adaboost", {}],
  ] as const) {
    it(`${name} vs sklearn ${ref}`, async () => {
      const m = createModel(name, { ...(fx.phishing_models[name].params ?? {}), ...extra, random_state: 0 });
      await m.fit(train.X, train.y, 2);
      const p = m.predictProba(test.X);
      const s = Float64Array.from({ length: test.y.length }, (_, i) => p[i * 2 + 1]!);
      const ours = binaryMetrics(test.y, s, 0.5);
      const theirs = fx.phishing_models[ref];
      expect(Math.abs(ours.f1 - theirs.f1), `F1 ${ours.f1} vs ${theirs.f1}`).toBeLessThanOrEqual(0.01);
      expect(
        Math.abs(ours.roc_auc - theirs.roc_auc),
        `ROC-AUC ${ours.roc_auc} vs ${theirs.roc_auc}`,
      ).toBeLessThanOrEqual(0.005);
    });
  }

  it("logistic regression on scaled inputs", async () => {
    const m = createModel("logistic_regression", {});
    await m.fit(standardise(train.X), train.y, 2);
    const p = m.predictProba(standardise(test.X, train.X));
    const s = Float64Array.from({ length: test.y.length }, (_, i) => p[i * 2 + 1]!);
    const ours = binaryMetrics(test.y, s, 0.5);
    expect(Math.abs(ours.f1 - fx.phishing_models.logistic_regression.f1)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(ours.roc_auc - fx.phishing_models.logistic_regression.roc_auc)).toBeLessThanOrEqual(
      0.001,
    );
  });

  it("a single deep decision tree makes (almost) the same predictions", async () => {
    const m = createModel("decision_tree", {});
    await m.fit(train.X, train.y, 2);
    const pred = m.predict(test.X);
    const theirs: number[] = fx.phishing_models.decision_tree.predictions;
    let same = 0;
    let accO = 0;
    let accT = 0;
    for (let i = 0; i < pred.length; i++) {
      if (pred[i] === theirs[i]) same++;
      if (pred[i] === test.y[i]) accO++;
      if (theirs[i] === test.y[i]) accT++;
    }
    expect(same / pred.length).toBeGreaterThanOrEqual(0.99);
    expect(Math.abs(accO - accT) / pred.length).toBeLessThanOrEqual(0.01);
  });
});

describe("logistic regression coefficients", () => {
  it("binary (C = 0.5) matches scikit-learn's lbfgs solution", async () => {
    const g = fx.logistic_binary;
    const sub = subset(
      all,
      Array.from({ length: g.rows }, (_, i) => i),
    );
    const X = standardise(sub.X);
    for (const solver of ["lbfgs", "newton"] as const) {
      const m = new LogisticRegression({ C: g.C, tol: 1e-10, maxIter: 10000, solver });
      await m.fit(X, sub.y, 2);
      for (let c = 0; c < X.nCols; c++)
        expect(Math.abs(m.coef[c]! - g.coef[c]), `${solver} coef ${c}`).toBeLessThanOrEqual(
          1e-4 * Math.max(1, Math.abs(g.coef[c])),
        );
      expect(Math.abs(m.intercept[0]! - g.intercept)).toBeLessThanOrEqual(1e-4);
      const p = m.predictProba(X);
      for (let r = 0; r < 10; r++)
        expect(Math.abs(p[r * 2 + 1]! - g.proba_first10[r])).toBeLessThanOrEqual(1e-5);
    }
  });

  it("multinomial (NSL-KDD categories present in the first rows) matches scikit-learn", async () => {
    const g = fx.logistic_multinomial;
    const lines = readFileSync(join(KDD_DIR, "KDDTrain+_20Percent.txt"), "utf8").split("\n").slice(0, g.rows);
    const names = readFileSync(join(KDD_DIR, "Field Names.csv"), "utf8")
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l) => l.split(",")[0]!);
    const cols = (g.columns as string[]).map((c) => names.indexOf(c));
    const n = lines.length;
    const raw = allocMatrix(n, cols.length);
    const cat: Record<string, number> = {};
    for (const a of "back land neptune pod smurf teardrop".split(" ")) cat[a] = 1;
    for (const a of "ipsweep nmap portsweep satan".split(" ")) cat[a] = 2;
    for (const a of "buffer_overflow loadmodule perl rootkit".split(" ")) cat[a] = 4;
    const y = new Int32Array(n);
    lines.forEach((l, r) => {
      const f = l.split(",");
      cols.forEach((ci, j) => {
        raw.data[j * n + r] = Number(f[ci]);
      });
      const lab = f[41]!;
      y[r] = lab === "normal" ? 0 : (cat[lab] ?? 3);
    });
    const X = standardise(raw);
    const K = (g.classes as number[]).length; // u2r does not occur in these rows
    expect(Math.max(...y)).toBe(K - 1);
    const m = new LogisticRegression({ C: 1, tol: 1e-10, maxIter: 20000 });
    await m.fit(X, y, K);
    const p = X.nCols;
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < p; c++) {
        const want = g.coef[k][c] as number;
        expect(Math.abs(m.coef[k * p + c]! - want), `coef[${k}][${c}]`).toBeLessThanOrEqual(
          2e-4 * Math.max(1, Math.abs(want)),
        );
      }
    }
    const pr = m.predictProba(X);
    for (let r = 0; r < 5; r++)
      for (let k = 0; k < K; k++)
        expect(Math.abs(pr[r * K + k]! - g.proba_first5[r][k])).toBeLessThanOrEqual(1e-5);
  }, 60_000);
});

describe("multinomial gradient boosting vs scikit-learn's GradientBoostingClassifier", () => {
  it("NSL-KDD categories (20% file, numeric columns): accuracy, macro F1 and log loss after 10 and 60 trees", async () => {
    const g = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/gb_multiclass.json"), "utf8"));
    const lines = readFileSync(join(KDD_DIR, "KDDTrain+_20Percent.txt"), "utf8")
      .split("\n")
      .filter((l) => l.trim());
    const names = readFileSync(join(KDD_DIR, "Field Names.csv"), "utf8")
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l) => l.split(",")[0]!);
    const cols = (g.columns as string[]).map((c) => names.indexOf(c));
    const cat: Record<string, number> = {};
    for (const a of "back land neptune pod smurf teardrop".split(" ")) cat[a] = 1;
    for (const a of "ipsweep nmap portsweep satan".split(" ")) cat[a] = 2;
    for (const a of "buffer_overflow loadmodule perl rootkit".split(" ")) cat[a] = 4;
    const part = (from: number, to: number) => {
      const n = to - from;
      const X = allocMatrix(n, cols.length);
      const y = new Int32Array(n);
      for (let r = 0; r < n; r++) {
        const f = lines[from + r]!.split(",");
        cols.forEach((ci, j) => {
          X.data[j * n + r] = Number(f[ci]);
        });
        const lab = f[41]!;
        y[r] = lab === "normal" ? 0 : (cat[lab] ?? 3);
      }
      return { X, y };
    };
    const tr = part(g.train_rows[0], g.train_rows[1]);
    const te = part(g.test_rows[0], g.test_rows[1]);
    for (const [n, want] of Object.entries(g.models) as [string, Record<string, number>][]) {
      const m = createModel("gradient_boosting", { n_estimators: Number(n), random_state: 0 });
      await m.fit(tr.X, tr.y, 5);
      const p = m.predictProba(te.X);
      let correct = 0;
      let ll = 0;
      const tp = new Float64Array(5);
      const fp = new Float64Array(5);
      const fn = new Float64Array(5);
      for (let r = 0; r < te.y.length; r++) {
        let best = 0;
        for (let k = 1; k < 5; k++) if (p[r * 5 + k]! > p[r * 5 + best]!) best = k;
        const t = te.y[r]!;
        if (best === t) {
          correct++;
          tp[t]!++;
        } else {
          fp[best]!++;
          fn[t]!++;
        }
        ll -= Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p[r * 5 + t]!)));
      }
      let f1 = 0;
      for (let k = 0; k < 5; k++)
        f1 += tp[k]! + fp[k]! + fn[k]! > 0 ? (2 * tp[k]!) / (2 * tp[k]! + fp[k]! + fn[k]!) : 0;
      const ours = { accuracy: correct / te.y.length, f1_macro: f1 / 5, log_loss: ll / te.y.length };
      expect(
        Math.abs(ours.accuracy - want.accuracy!),
        `${n} trees: ${JSON.stringify(ours)} vs ${JSON.stringify(want)}`,
      ).toBeLessThanOrEqual(0.005);
      expect(Math.abs(ours.f1_macro - want.f1_macro!), `${n} trees macro F1`).toBeLessThanOrEqual(0.03);
      // the multinomial step size: without GradientBoostingClassifier's (K − 1)/K the early log loss is off
      expect(
        Math.abs(ours.log_loss - want.log_loss!) / want.log_loss!,
        `${n} trees log loss`,
      ).toBeLessThanOrEqual(0.1);
    }
  }, 120_000);
});
