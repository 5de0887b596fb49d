/**
 * The median and its order-statistic 95 % interval of bench/serve/monitor-ab.ts, on hand-computed
 * cases: P(Binomial(n, 1/2) ≤ k) from the binomial coefficients.
 */
import { describe, expect, it } from "vitest";
import { groupedMedianInterval, medianInterval } from "../../bench/serve/paired-stats.ts";

describe("medianInterval", () => {
  it("12 pairs: the 3rd smallest to the 3rd largest (P(X ≤ 2) = 79/4096 ≤ 2.5 % < P(X ≤ 3) = 299/4096)", () => {
    // shuffled 1..12: the median is 6.5 whatever the order
    const m = medianInterval([7, 3, 12, 1, 9, 5, 11, 2, 8, 10, 4, 6]);
    expect(m).toMatchObject({ median: 6.5, low: 3, high: 10, n: 12 });
    expect(m.coverage).toBeCloseTo(1 - (2 * 79) / 4096, 12);
  });

  it("6 pairs: the extremes, covering 1 − 2/64; 5 pairs: no 95 % interval", () => {
    const six = medianInterval([0.75, -0.25, 0.5, 0.125, 1, 0.25]);
    expect(six).toMatchObject({ median: 0.375, low: -0.25, high: 1 });
    expect(six.coverage).toBeCloseTo(1 - 2 / 64, 12);
    expect(medianInterval([1, 2, 3, 4, 5])).toMatchObject({ median: 3, low: null, high: null });
  });

  it("25 pairs: the 8th smallest to the 8th largest (P(X ≤ 7) = 726,206 / 2^25 ≈ 2.16 %)", () => {
    const xs = Array.from({ length: 25 }, (_, i) => (i * 7) % 25); // 0..24 in another order
    const m = medianInterval(xs);
    expect(m).toMatchObject({ median: 12, low: 7, high: 17 });
    // C(25,0..7) summed: 1 + 25 + 300 + 2,300 + 12,650 + 53,130 + 177,100 + 480,700 = 726,206
    expect(m.coverage).toBeCloseTo(1 - (2 * 726_206) / 2 ** 25, 12);
  });
});

describe("groupedMedianInterval", () => {
  it("groups of one value each: the median of all, an interval within the groups' values", () => {
    const m = groupedMedianInterval([
      [0.01, 0.01, 0.01],
      [0.03, 0.03, 0.03],
      [0.02, 0.02, 0.02],
    ]);
    expect(m.median).toBe(0.02);
    expect(m.n).toBe(9);
    // a bootstrap of 3 groups can draw the lowest three times (a median of 0.01) or the highest
    expect(m.low).toBe(0.01);
    expect(m.high).toBe(0.03);
  });

  it("equal groups: the interval is that of one spread, and the same figures give the same interval", () => {
    const g = [-0.02, 0, 0.01, 0.02, 0.03, 0.05];
    const a = groupedMedianInterval([g, g, g, g]);
    expect(a.median).toBe(0.015);
    expect(a.low!).toBeGreaterThanOrEqual(-0.02);
    expect(a.high!).toBeLessThanOrEqual(0.05);
    expect(a.low!).toBeLessThan(a.median);
    expect(a.high!).toBeGreaterThan(a.median);
    expect(groupedMedianInterval([g, g, g, g])).toEqual(a);
  });

  it("one group: the order-statistic interval", () => {
    const xs = [7, 3, 12, 1, 9, 5, 11, 2, 8, 10, 4, 6];
    expect(groupedMedianInterval([xs])).toEqual(medianInterval(xs));
  });
});
