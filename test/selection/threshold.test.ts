/**
 * The decision threshold (chooseThreshold, called by the pipeline on the winner's out-of-fold threat
 * probabilities) vs scikit-learn (test/golden/engine/make_fixtures.py --only=tree_threshold,
 * tree_threshold.json: scores and labels stored there).
 *
 * What must match is the operating point, not the threshold's value: several thresholds can give the
 * best F1 (f1_tie: one threat of two alone, or both with two benign rows — F1 2/3 either way), and
 * scikit-learn's argmax takes the lowest while netsec keeps the highest. So max_f1 is checked by the F1
 * the threshold gives (recomputed here from the confusion counts), and the threshold is one of those
 * scikit-learn ties at the best F1. For target_fpr netsec documents its pick among the thresholds
 * with the largest TPR within the budget — the lowest of them — and the fixture computed that one from
 * roc_curve: there the threshold, TPR and FPR are all checked.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { chooseThreshold } from "../../src/selection/metrics.ts";
import { ROOT } from "../helpers/env.ts";

interface Case {
  y: number[];
  score: number[];
  max_f1: { f1: number; threshold: number; tied_thresholds: number[] };
  target_fpr: {
    target: number;
    tpr: number;
    /** null: no threshold but +Infinity (nothing flagged) meets the budget. */
    threshold: number | null;
    fpr: number;
    fpr_tightest: number;
  }[];
}

const cases = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/tree_threshold.json"), "utf8"))
  .thresholds as Record<string, Case>;

/** Confusion counts at a threshold (score >= threshold is a threat), written out. */
function at(c: Case, t: number) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  c.y.forEach((y, i) => {
    const said = c.score[i]! >= t;
    if (said && y === 1) tp++;
    else if (said) fp++;
    else if (y === 1) fn++;
    else tn++;
  });
  return { f1: (2 * tp) / (2 * tp + fp + fn), tpr: tp / (tp + fn), fpr: fp / (fp + tn) };
}

describe("chooseThreshold vs scikit-learn's curves", () => {
  it("the fixture has the cases that matter", () => {
    // tied best F1 at two thresholds with different confusions
    expect(cases.f1_tie!.max_f1.tied_thresholds).toEqual([0.6, 0.9]);
    // ties among scores
    expect(new Set(cases.rounded!.score).size).toBeLessThan(cases.rounded!.score.length / 5);
    // budgets no threshold meets (benign rows at probability 1)
    expect(cases.forest!.target_fpr.filter((p) => p.threshold === null).map((p) => p.target)).toEqual([
      0, 0.01,
    ]);
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: max_f1 gives scikit-learn's best F1 (precision_recall_curve)`, () => {
      const t = chooseThreshold(c.y, c.score, "max_f1");
      expect(at(c, t).f1).toBeCloseTo(c.max_f1.f1, 12);
      expect(c.max_f1.tied_thresholds).toContain(t);
      // and no other score does better
      for (const s of new Set(c.score)) expect(at(c, s).f1).toBeLessThanOrEqual(at(c, t).f1 + 1e-12);
    });

    const reachable = c.target_fpr.filter((p) => p.threshold !== null);
    it(`${name}: target_fpr gives the largest TPR within the FPR budget (roc_curve), at its lowest threshold`, () => {
      expect(reachable.length).toBeGreaterThan(0);
      for (const p of reachable) {
        const t = chooseThreshold(c.y, c.score, "target_fpr", p.target);
        const got = at(c, t);
        expect(t, `target ${p.target}`).toBe(p.threshold);
        expect(got.tpr, `target ${p.target}`).toBeCloseTo(p.tpr, 12);
        expect(got.fpr, `target ${p.target}`).toBeCloseTo(p.fpr, 12);
        expect(got.fpr).toBeLessThanOrEqual(p.target);
      }
    });
  }

  // When even the highest score holds more benign rows than the budget (forest: benign rows at
  // probability 1), scikit-learn's curve says to flag nothing; a threshold of 1 would still flag the
  // rows at exactly 1. No threshold meets the budget: chooseThreshold says so (GATE_FAILED, naming the
  // budget and how many benign rows share the top score) rather than return one that breaks it.
  it("an unreachable budget is an error naming it, never a threshold that breaks it", () => {
    const c = cases.forest!;
    const unreachable = c.target_fpr.filter((q) => q.threshold === null);
    expect(unreachable.length).toBeGreaterThan(0);
    for (const p of unreachable) {
      let err: unknown;
      try {
        chooseThreshold(c.y, c.score, "target_fpr", p.target);
      } catch (e) {
        err = e;
      }
      expect(err, `target ${p.target}`).toBeInstanceOf(NetsecError);
      expect((err as NetsecError).code).toBe("GATE_FAILED");
      expect((err as NetsecError).message).toMatch(
        new RegExp(
          `no decision threshold keeps the false-positive rate within ${p.target}: the highest score \\(1\\)`,
        ),
      );
    }
  });
});
