import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stratifiedKFold } from "../../src/selection/kfold.ts";
import {
  argmaxRows,
  averagePrecision,
  binaryMetrics,
  chooseThreshold,
  f1Score,
  macroF1,
  multiclassMetrics,
  rocAuc,
  tprAtFpr,
} from "../../src/selection/metrics.ts";
import { expandGrid } from "../../src/selection/search.ts";
import { ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/fixtures.json"), "utf8"));
// made by test/golden/engine/make_fixtures.py --only=classification (scikit-learn)
const cls = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/classification.json"), "utf8")) as {
  classes: string[];
  y_true: string[];
  y_pred: string[];
  per_class: Record<string, { precision: number; recall: number; "f1-score": number; support: number }>;
  macro: { precision: number; recall: number; "f1-score": number };
  weighted: { precision: number; recall: number; "f1-score": number };
  confusion: number[][];
  accuracy: number;
  f1_macro: { y: number[]; pred: number[]; value: number };
};

describe("metrics vs scikit-learn (scores with ties)", () => {
  const { y, score } = fx.metrics;
  it("roc_auc_score", () => expect(rocAuc(y, score)).toBeCloseTo(fx.metrics.roc_auc, 12));
  it("average_precision_score", () =>
    expect(averagePrecision(y, score)).toBeCloseTo(fx.metrics.average_precision, 12));
  it("f1_score at 0.5", () => {
    expect(binaryMetrics(y, score, 0.5).f1).toBeCloseTo(fx.metrics.f1_at_0_5, 12);
    expect(f1Score(y, score, 0.5)).toBe(binaryMetrics(y, score, 0.5).f1);
  });
});

describe("per-class metrics vs scikit-learn (classification_report, confusion_matrix)", () => {
  // true labels outside the training classes (unseen) are -1, as the pipeline encodes them
  const y = cls.y_true.map((v) => cls.classes.indexOf(v));
  const pred = cls.y_pred.map((v) => cls.classes.indexOf(v));
  const m = multiclassMetrics(y, pred, cls.classes);
  it("the fixture holds the cases that matter", () => {
    expect(y.filter((v) => v < 0).length).toBeGreaterThan(0); // unseen labels
    expect(pred.includes(cls.classes.indexOf("u2r"))).toBe(false); // a class never predicted
    expect(y.includes(cls.classes.indexOf("ftp_write"))).toBe(false); // predicted, never true
    expect(pred.includes(cls.classes.indexOf("ftp_write"))).toBe(true);
  });
  it("precision, recall, F1 and support per class", () => {
    for (const c of cls.classes) {
      const want = cls.per_class[c]!;
      const got = m.per_class[c]!;
      expect(got.precision, `${c} precision`).toBeCloseTo(want.precision, 12);
      expect(got.recall, `${c} recall`).toBeCloseTo(want.recall, 12);
      expect(got.f1, `${c} f1`).toBeCloseTo(want["f1-score"], 12);
      expect(got.support, `${c} support`).toBe(want.support);
    }
  });
  it("macro and weighted averages, accuracy over every row, the K×K confusion matrix", () => {
    for (const [got, want] of [
      [m.macro, cls.macro],
      [m.weighted, cls.weighted],
    ] as const) {
      expect(got.precision).toBeCloseTo(want.precision, 12);
      expect(got.recall).toBeCloseTo(want.recall, 12);
      expect(got.f1).toBeCloseTo(want["f1-score"], 12);
    }
    expect(m.accuracy).toBeCloseTo(cls.accuracy, 12);
    expect(m.confusion).toEqual(cls.confusion);
  });
  it("macroF1 (scoring f1_macro) is f1_score(average='macro'): classes in y or pred only", () => {
    expect(macroF1(cls.f1_macro.y, cls.f1_macro.pred)).toBeCloseTo(cls.f1_macro.value, 12);
  });
});

describe("hand-computed metrics", () => {
  it("argmaxRows: the first maximum of each row", () => {
    expect(Array.from(argmaxRows([0.2, 0.5, 0.3, 0.4, 0.2, 0.4, 0, 0, 1], 3, 3))).toEqual([1, 0, 2]);
  });

  const y = [1, 1, 0, 0, 1, 0];
  const s = [0.9, 0.8, 0.7, 0.3, 0.2, 0.1];
  it("confusion, precision, recall, F1 at 0.5", () => {
    const m = binaryMetrics(y, s, 0.5);
    expect(m.confusion).toEqual({ tn: 2, fp: 1, fn: 1, tp: 2 });
    expect(m.precision).toBeCloseTo(2 / 3, 15);
    expect(m.recall).toBeCloseTo(2 / 3, 15);
    expect(m.accuracy).toBeCloseTo(4 / 6, 15);
  });
  it("ROC-AUC = fraction of correctly ordered pairs (7 of 9)", () =>
    expect(rocAuc(y, s)).toBeCloseTo(7 / 9, 15));
  it("TPR at FPR: 2/3 within FPR 0 and 1/3; all threats caught from FPR 2/3", () => {
    expect(tprAtFpr(y, s, 0)).toBeCloseTo(2 / 3, 15);
    expect(tprAtFpr(y, s, 0.34)).toBeCloseTo(2 / 3, 15);
    expect(tprAtFpr(y, s, 0.67)).toBe(1);
    expect(tprAtFpr(y, s, 0.6)).toBeCloseTo(2 / 3, 15);
  });
  it("threshold: max F1 picks 0.8 here (P = R = 1 on the top two... F1 = 0.8)", () => {
    // thresholds 0.9 → F1 .5, 0.8 → .8, 0.7 → .667, 0.3 → .571, 0.2 → .75, 0.1 → .667
    expect(chooseThreshold(y, s, "max_f1")).toBe(0.8);
    expect(chooseThreshold(y, s, "target_fpr", 0)).toBe(0.8);
  });
  it("multiclass per-class and macro", () => {
    const m = multiclassMetrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], ["a", "b", "c"]);
    expect(m.accuracy).toBeCloseTo(4 / 6, 15);
    expect(m.per_class.b).toEqual({ precision: 2 / 3, recall: 1, f1: 0.8, support: 2 });
    expect(m.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });
});

describe("stratified k-fold", () => {
  const y = Int32Array.from({ length: 90 }, (_, i) => (i < 60 ? 0 : 1));
  it("every row tested exactly once; class shares kept", () => {
    const folds = stratifiedKFold(y, 3, 1);
    const seen = new Uint8Array(90);
    for (const f of folds) {
      for (const i of f.test) seen[i]!++;
      expect([...f.test].filter((i) => y[i] === 1).length).toBe(10);
      expect(f.train.length + f.test.length).toBe(90);
    }
    expect([...seen].every((v) => v === 1)).toBe(true);
  });
  it("groups never straddle folds", () => {
    const groups = Int32Array.from({ length: 90 }, (_, i) => Math.floor(i / 3));
    const folds = stratifiedKFold(y, 3, 2, groups);
    for (const f of folds) {
      const tg = new Set([...f.test].map((i) => groups[i]));
      for (const i of f.train) expect(tg.has(groups[i]!)).toBe(false);
    }
  });
  it("expandGrid: the original's GB grid has 120 candidates, keys in snake_case", () => {
    const g = expandGrid({
      learning_rate: [0.1, 0.01, 0.05, 0.001],
      subsample: [0.6, 0.7, 0.75, 0.85, 0.9],
      n_estimators: [8, 16, 32, 64, 128, 256],
    });
    expect(g).toHaveLength(120);
    expect(g[0]).toEqual({ learning_rate: 0.1, subsample: 0.6, n_estimators: 8 });
  });
});
