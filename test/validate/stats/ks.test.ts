import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kolmognSf, ks2samp, toWeighted } from "../../../src/validate/stats/ks.ts";
import { chi2Sf } from "../../../src/validate/stats/special.ts";
import { ROOT } from "../../helpers/env.ts";

interface Fixtures {
  ks: {
    name: string;
    a: { values: number[]; counts: number[] };
    b: { values: number[]; counts: number[] };
    statistic: number;
    p_value: number;
    n1: number;
    n2: number;
  }[];
  kstwo_sf: { n: number; x: number; sf: number }[];
  chi2_sf: { x: number; dof: number; sf: number }[];
}
const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/drift/fixtures.json"), "utf8")) as Fixtures;

// Tolerance: the 1e-6 absolute on p-values; tiny p-values also within 1e-6 relative, since an
// absolute bound says nothing below 1e-6.
function expectP(actual: number, expected: number, label: string): void {
  const abs = Math.abs(actual - expected);
  const ok = abs <= 1e-6 && (expected < 1e-300 || abs / expected <= 1e-6 || abs <= 1e-14);
  expect(ok, `${label}: got ${actual}, scipy ${expected}`).toBe(true);
}

describe("ks_2samp(method=auto) against scipy", () => {
  for (const c of fx.ks) {
    it(c.name, () => {
      const r = ks2samp(
        { values: Float64Array.from(c.a.values), counts: Float64Array.from(c.a.counts) },
        { values: Float64Array.from(c.b.values), counts: Float64Array.from(c.b.counts) },
      );
      expect(r.n1).toBe(c.n1);
      expect(r.n2).toBe(c.n2);
      expect(r.statistic).toBeCloseTo(c.statistic, 12);
      expect(r.method).toBe(Math.max(c.n1, c.n2) <= 10000 ? "exact" : "asymp");
      expectP(r.pValue, c.p_value, c.name);
    });
  }
});

describe("kstwo.sf (every branch of scipy's _kolmogn)", () => {
  it(`${fx.kstwo_sf.length} grid points`, () => {
    for (const p of fx.kstwo_sf) expectP(kolmognSf(p.n, p.x), p.sf, `kstwo.sf(${p.x}, ${p.n})`);
  });
});

describe("chi2.sf", () => {
  it("matches scipy to 1e-12 relative", () => {
    for (const p of fx.chi2_sf) {
      const v = chi2Sf(p.x, p.dof);
      expect(
        Math.abs(v - p.sf) <= 1e-12 * Math.max(p.sf, 1e-300) + 1e-300,
        `chi2.sf(${p.x}, ${p.dof}) = ${v}, scipy ${p.sf}`,
      ).toBe(true);
    }
  });
});

describe("hand-computed KS cases", () => {
  it("D of two tiny samples", () => {
    // F1 on {1,2,3}: 1/3, 2/3, 1; F2 on {1.5, 2.5}: at 1:0, 1.5:.5, 2:.5, 2.5:1, 3:1 → max |diff| = 1/3
    const r = ks2samp(toWeighted([1, 2, 3]), toWeighted([1.5, 2.5]));
    expect(r.statistic).toBeCloseTo(1 / 3, 15);
  });
  it("identical samples: D = 0, p = 1", () => {
    const r = ks2samp(toWeighted([1, 2, 2, 3]), toWeighted([3, 2, 1, 2]));
    expect(r.statistic).toBe(0);
    expect(r.pValue).toBe(1);
  });
  it("NaNs are dropped by toWeighted", () => {
    expect(toWeighted([1, Number.NaN, 1, 2])).toEqual({
      values: Float64Array.from([1, 2]),
      counts: Float64Array.from([2, 1]),
    });
  });
});
