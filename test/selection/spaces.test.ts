/**
 * The default preset's search ranges: every draw inside its documented range (README "Search ranges"),
 * valid for its model, seeded, and the user's fixed params winning.
 */
import { describe, expect, it } from "vitest";
import { createModel, modelNames } from "../../src/models/registry.ts";
import { drawCandidate, SEARCH_SPACES } from "../../src/selection/spaces.ts";

describe("search spaces", () => {
  it("every model has a space; 200 draws each stay in range and are valid params", () => {
    expect(Object.keys(SEARCH_SPACES).sort()).toEqual([...modelNames()].sort());
    for (const [model, space] of Object.entries(SEARCH_SPACES)) {
      for (let i = 0; i < 200; i++) {
        const p = drawCandidate(model, i, 42);
        for (const [k, r] of Object.entries(space.ranges)) {
          const v = p[k];
          if ("choice" in r) expect(r.choice).toContain(v);
          else {
            const [lo, hi] = "log" in r ? r.log : "uniform" in r ? r.uniform : r.intLog;
            expect(v as number).toBeGreaterThanOrEqual(lo);
            expect(v as number).toBeLessThanOrEqual(hi);
            if ("intLog" in r) expect(Number.isInteger(v)).toBe(true);
          }
        }
        expect(() => createModel(model, p)).not.toThrow();
      }
    }
  });

  it("log ranges spread over their decades (a draw in each)", () => {
    const c = Array.from({ length: 200 }, (_, i) => drawCandidate("logistic_regression", i, 1).C as number);
    for (const [lo, hi] of [
      [0.01, 0.1],
      [0.1, 1],
      [1, 10],
      [10, 100],
    ])
      expect(c.some((v) => v >= lo! && v < hi!)).toBe(true);
  });

  it("seeded per (seed, model, index); the user's params win over draws and fixed ones", () => {
    expect(drawCandidate("hist_gradient_boosting", 3, 42)).toEqual(
      drawCandidate("hist_gradient_boosting", 3, 42),
    );
    expect(drawCandidate("hist_gradient_boosting", 3, 42)).not.toEqual(
      drawCandidate("hist_gradient_boosting", 4, 42),
    );
    expect(drawCandidate("hist_gradient_boosting", 3, 42)).not.toEqual(
      drawCandidate("hist_gradient_boosting", 3, 43),
    );
    const p = drawCandidate("hist_gradient_boosting", 0, 42, { learning_rate: 0.5, max_iter: 7 });
    expect(p).toMatchObject({ learning_rate: 0.5, max_iter: 7, early_stopping: true });
  });
});
