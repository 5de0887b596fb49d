/** The one-standard-error threshold rule on hand-computed folds. */
import { describe, expect, it } from "vitest";
import { oneSeThreshold } from "../../bench/threshold-rule.ts";
import type { Fold } from "../../src/selection/kfold.ts";

// Fold "up" (y 1 1 0 0; scores 0.9 0.4 0.3 0.1): F1 at 0.5 = 2·1/(2·1 + 0 + 1) = 2/3; at 0.35 both
// threats flagged, F1 = 1: d = +1/3. Fold "down" (y 1 0 0 0; scores 0.8 0.45 0.2 0.1): F1 at 0.5 = 1;
// at 0.35 one false positive, F1 = 2/3: d = −1/3.
const UP = { y: [1, 1, 0, 0], s: [0.9, 0.4, 0.3, 0.1] };
const DOWN = { y: [1, 0, 0, 0], s: [0.8, 0.45, 0.2, 0.1] };

function folds(kinds: (typeof UP)[]): { y: number[]; s: number[]; folds: Fold[] } {
  const y: number[] = [];
  const s: number[] = [];
  const out: Fold[] = [];
  for (const f of kinds) {
    const test = Uint32Array.from(f.y, (_, i) => y.length + i);
    y.push(...f.y);
    s.push(...f.s);
    out.push({ train: new Uint32Array(0), test });
  }
  return { y, s, folds: out };
}

describe("oneSeThreshold", () => {
  it("keeps the CV threshold when every fold gains alike (se 0)", () => {
    const d = folds([UP, UP, UP]);
    const r = oneSeThreshold(d.y, d.s, d.folds, 0.35);
    expect(r.gain).toBeCloseTo(1 / 3, 12);
    expect(r.se).toBeCloseTo(0, 12);
    expect(r.threshold).toBe(0.35);
  });

  it("keeps 0.5 when the mean gain is within one standard error", () => {
    // d = +1/3, −1/3, +1/3: mean 1/9; deviations 2/9, −4/9, 2/9: variance (4 + 16 + 4)/81 / 2 = 12/81,
    // se = √(12/81 / 3) = 2/9 > 1/9
    const d = folds([UP, DOWN, UP]);
    const r = oneSeThreshold(d.y, d.s, d.folds, 0.35);
    expect(r.gain).toBeCloseTo(1 / 9, 12);
    expect(r.se).toBeCloseTo(2 / 9, 12);
    expect(r.threshold).toBe(0.5);
  });

  it("keeps 0.5 when the CV threshold loses on the folds", () => {
    const d = folds([DOWN, DOWN]);
    const r = oneSeThreshold(d.y, d.s, d.folds, 0.35);
    expect(r.gain).toBeCloseTo(-1 / 3, 12);
    expect(r.threshold).toBe(0.5);
  });
});
