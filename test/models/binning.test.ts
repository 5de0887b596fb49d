/**
 * The bin limit: a column with 10,000 distinct values gets at most 255 ordered bins (quantiles) plus
 * the missing-value bin 255, so a whole column fits in a Uint8Array; and no tree model can ask for more.
 */
import { describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel } from "../../src/models/registry.ts";
import { binMatrix, fitBinMapper, MISSING_BIN } from "../../src/models/tree/binning.ts";

describe("binning limits", () => {
  // 10,000 distinct values in shuffled order, then 50 missing ones
  const n = 10_050;
  const X = allocMatrix(n, 1, ["x"]);
  const order = Uint32Array.from({ length: 10_000 }, (_, i) => i);
  new Rng(3).shuffle(order);
  for (let i = 0; i < 10_000; i++) X.data[i] = order[i]! * 0.37 - 1000;
  for (let i = 10_000; i < n; i++) X.data[i] = Number.NaN;

  it("10,000 distinct values: 255 bins plus the missing bin, in value order, about equally full", () => {
    expect(new Set(X.data.subarray(0, 10_000)).size).toBe(10_000);
    const m = fitBinMapper(X);
    expect(m.nBins[0]).toBe(255);
    expect(m.thresholds[0]).toHaveLength(254);
    expect(m.cuts[0]).toHaveLength(254);
    expect(m.hasMissing[0]).toBe(1);
    const bins = binMatrix(X, m);
    const count = new Int32Array(256);
    for (const b of bins) count[b]!++;
    // every ordinary bin 0..254 used, nothing between them and the missing bin
    for (let b = 0; b < 255; b++) {
      expect(count[b], `bin ${b}`).toBeGreaterThanOrEqual(Math.floor(10_000 / 255) - 1);
      expect(count[b], `bin ${b}`).toBeLessThanOrEqual(Math.ceil(10_000 / 255) + 1);
    }
    expect(MISSING_BIN).toBe(255);
    expect(count[255]).toBe(50);
    // bins follow the values: a larger value never sits in a lower bin
    const byValue = Array.from({ length: 10_000 }, (_, i) => i).sort((a, b) => X.data[a]! - X.data[b]!);
    for (let i = 1; i < byValue.length; i++)
      expect(bins[byValue[i]!]!).toBeGreaterThanOrEqual(bins[byValue[i - 1]!]!);
  });

  it("fewer bins on request; more than 255 is refused by the mapper and by every tree model", () => {
    expect(fitBinMapper(X, { maxBins: 17 }).nBins[0]).toBe(17);
    expect(() => fitBinMapper(X, { maxBins: 256 })).toThrow(/maxBins must be an integer in \[2, 255\]/);
    for (const name of ["decision_tree", "random_forest", "gradient_boosting", "adaboost"])
      expect(() => createModel(name, { max_bins: 256 }), name).toThrow(/max_bins = 256/);
  });
});

describe('binning rule "averaged_inverted_cdf" (hist_gradient_boosting, scikit-learn ≥ 1.8)', () => {
  it("quantile thresholds are numpy's averaged_inverted_cdf percentiles (values from numpy 2.4)", () => {
    // 48 values, 41 distinct, max_bins 8: np.percentile(x, linspace(0, 100, 9)[1:-1],
    // method="averaged_inverted_cdf"); 4.375 is a midpoint (n·q an integer), the others data values
    const vals = [
      ...Array.from({ length: 40 }, (_, i) => ((i * 37) % 101) * 0.25),
      3,
      3,
      3,
      3,
      3,
      7.5,
      7.5,
      7.5,
    ];
    const X = allocMatrix(vals.length, 1);
    X.data.set(vals);
    const m = fitBinMapper(X, { maxBins: 8, rule: "averaged_inverted_cdf" });
    expect(Array.from(m.thresholds[0]!)).toEqual([3.0, 4.375, 7.5, 9.625, 13.625, 17.875, 21.375]);
    // 0..9, max_bins 4: the two rules (numpy's "averaged_inverted_cdf" and "midpoint") differ
    const Y = allocMatrix(10, 1);
    Y.data.set(Array.from({ length: 10 }, (_, i) => i));
    expect(Array.from(fitBinMapper(Y, { maxBins: 4, rule: "averaged_inverted_cdf" }).thresholds[0]!)).toEqual(
      [2, 4.5, 7],
    );
    expect(Array.from(fitBinMapper(Y, { maxBins: 4 }).thresholds[0]!)).toEqual([2.5, 4.5, 6.5]);
  });
});
