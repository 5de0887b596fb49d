import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chi2Homogeneity } from "../../../src/validate/stats/chi2.ts";
import { binCounts, decileEdges, psi } from "../../../src/validate/stats/psi.ts";
import { ROOT } from "../../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/drift/fixtures.json"), "utf8")) as {
  chi2_contingency: { name: string; table: number[][]; statistic: number; p_value: number; dof: number }[];
  psi: { name: string; ref: number[]; cur: number[]; psi: number }[];
};

describe("chi-squared homogeneity = scipy chi2_contingency(correction=False)", () => {
  for (const c of fx.chi2_contingency) {
    it(c.name, () => {
      const r = chi2Homogeneity(c.table[0]!, c.table[1]!);
      const kept = c.table[0]!.filter((_, i) => c.table[0]![i]! + c.table[1]![i]! > 0).length;
      expect(r.dof).toBe(kept - 1);
      expect(r.statistic).toBeCloseTo(c.statistic, 9);
      expect(Math.abs(r.pValue - c.p_value)).toBeLessThan(1e-12 + 1e-9 * c.p_value);
    });
  }
  it("a single category (or none) is no evidence: p = 1", () => {
    expect(chi2Homogeneity([10, 0], [5, 0])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });
  it("hand-computed 2x2", () => {
    // rows (10,10) and (20,0): N=40, col totals 30/10, E = (7.5,2.5 ; 22.5,7.5)... with row totals 20/20:
    // E11 = 20*30/40 = 15, E12 = 5, E21 = 15, E22 = 5 → (25/15)+(25/5)+(25/15)+(25/5) = 13.333…
    const r = chi2Homogeneity([10, 10], [20, 0]);
    expect(r.statistic).toBeCloseTo(40 / 3, 12);
    expect(r.dof).toBe(1);
  });
});

describe("PSI", () => {
  for (const c of fx.psi) {
    it(`${c.name} matches the numpy formula`, () => {
      expect(psi(c.ref, c.cur)).toBeCloseTo(c.psi, 12);
    });
  }
  it("hand-computed: 50/50 → 25/75 gives 0.25·ln3 ≈ 0.2747", () => {
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(3), 12);
  });
  it("decile edges and bin counts", () => {
    const v = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    const c = new Float64Array(100).fill(1);
    const e = decileEdges(v, c);
    expect(e).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(binCounts(v, c, e)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
  });
});
