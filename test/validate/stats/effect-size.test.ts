import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jensenShannonDistance } from "../../../src/validate/stats/jensen-shannon.ts";
import { toWeighted } from "../../../src/validate/stats/ks.ts";
import { wassersteinDistance } from "../../../src/validate/stats/wasserstein.ts";
import { ROOT } from "../../helpers/env.ts";

interface Table {
  values: number[];
  counts: number[];
}
const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/drift/effect-fixtures.json"), "utf8")) as {
  wasserstein: { name: string; a: Table; b: Table; distance: number }[];
  jensenshannon: { name: string; p: number[]; q: number[]; distance: number }[];
};
const weighted = (t: Table) => ({ values: Float64Array.from(t.values), counts: Float64Array.from(t.counts) });

describe("Wasserstein distance = scipy.stats.wasserstein_distance", () => {
  for (const c of fx.wasserstein) {
    it(c.name, () => {
      const d = wassersteinDistance(weighted(c.a), weighted(c.b));
      expect(Math.abs(d - c.distance)).toBeLessThanOrEqual(1e-12 * Math.max(1, c.distance));
      // symmetric
      expect(wassersteinDistance(weighted(c.b), weighted(c.a))).toBeCloseTo(d, 12);
    });
  }
  it("hand-computed: {0, 1} vs {1, 2} moves every unit of mass by 1", () => {
    expect(wassersteinDistance(toWeighted([0, 1]), toWeighted([1, 2]))).toBe(1);
  });
  it("hand-computed: {0, 0, 0, 4} vs {0} = a quarter of the mass moved 4", () => {
    expect(wassersteinDistance(toWeighted([0, 0, 0, 4]), toWeighted([0]))).toBe(1);
  });
  it("an empty sample has no distance", () => {
    expect(wassersteinDistance(toWeighted([]), toWeighted([1]))).toBeNaN();
  });
});

describe("Jensen–Shannon distance = scipy.spatial.distance.jensenshannon(base=2)", () => {
  for (const c of fx.jensenshannon) {
    it(c.name, () => {
      expect(Math.abs(jensenShannonDistance(c.p, c.q) - c.distance)).toBeLessThan(1e-12);
    });
  }
  it("hand-computed: disjoint supports give 1, identical proportions 0", () => {
    expect(jensenShannonDistance([3, 0], [0, 9])).toBeCloseTo(1, 15);
    expect(jensenShannonDistance([1, 2, 3], [10, 20, 30])).toBe(0);
  });
  it("hand-computed: (1/2, 1/2) vs (1, 0): JSD = 1.5 − (3/4)·log2 3 bits", () => {
    // m = (3/4, 1/4); KL(p‖m) = ½·log2(2/3) + ½·log2 2, KL(q‖m) = log2(4/3); their mean is 1.5 − ¾·log2 3
    expect(jensenShannonDistance([1, 1], [2, 0])).toBeCloseTo(Math.sqrt(1.5 - 0.75 * Math.log2(3)), 14);
  });
  it("vectors of different length are a programming error", () => {
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(RangeError);
  });
});
