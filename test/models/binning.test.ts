/**
 * The bin limit: a column with 10,000 distinct values gets at most 255 ordered bins (quantiles) plus
 * the missing-value bin 255, so a whole column fits in a Uint8Array; and no tree model can ask for more.
 */
import { describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel } from "../../src/models/registry.ts";
import {
  binColumn,
  binMatrix,
  binOf,
  FeatureBinner,
  fitBinMapper,
  MISSING_BIN,
} from "../../src/models/tree/binning.ts";

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

describe("binning a column by its distinct values' counts", () => {
  it("gives the thresholds and cuts of sorting the column, both rules, any maxBins", () => {
    // columns of 400–5,000 distinct values (more than maxBins, fewer than an eighth of the rows:
    // counted), with repeats, NaNs and negative values, and a +0; the same column with −0 in its
    // place is sorted (a −0 takes the sort path): every threshold and cut equal
    const rng = new Rng(21);
    for (const [distinct, maxBins, rule] of [
      [400, 255, "averaged_inverted_cdf"],
      [5000, 255, "averaged_inverted_cdf"],
      [1200, 17, "averaged_inverted_cdf"],
      [3000, 255, "midpoint"],
      [700, 64, "midpoint"],
    ] as const) {
      const n = 8 * distinct + 1000;
      const pool = Array.from({ length: distinct }, () => Math.round(rng.normal() * 1e4) / 8);
      const counted = allocMatrix(n, 1);
      for (let i = 0; i < n; i++)
        counted.data[i] = rng.next() < 0.05 ? Number.NaN : pool[Math.floor(rng.next() ** 2 * distinct)]!;
      counted.data[7] = 0;
      const sorted = allocMatrix(n, 1);
      sorted.data.set(counted.data);
      sorted.data[7] = -0;
      const a = fitBinMapper(counted, { maxBins, rule });
      const b = fitBinMapper(sorted, { maxBins, rule });
      const label = `${distinct} values, ${maxBins} bins, ${rule}`;
      expect(a.nBins[0], label).toBeGreaterThan(maxBins / 2);
      expect(a.hasMissing[0], label).toBe(1);
      expect(Array.from(a.thresholds[0]!), label).toEqual(Array.from(b.thresholds[0]!));
      expect(Array.from(a.cuts[0]!), label).toEqual(Array.from(b.cuts[0]!));
    }
  });
});

describe("binColumn", () => {
  it("puts each value in binOf's bin: thresholds themselves, between, outside, NaN, infinities", () => {
    // 2, 5 and 40 thresholds: the one-comparison, counting and searching paths
    for (const nt of [1, 5, 40]) {
      const t = Float64Array.from({ length: nt }, (_, i) => i * 1.5 - 3);
      const vals = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, -100, 100];
      for (const x of t) vals.push(x, x - 0.25, x + 0.25, x + 1e-12);
      const data = Float64Array.from(vals);
      const out = new Uint8Array(data.length + 3).fill(77);
      binColumn(data, 0, data.length, t, out, 3);
      const mapper = {
        nFeatures: 1,
        thresholds: [t],
        cuts: [t],
        nBins: Uint16Array.of(nt + 1),
        hasMissing: Uint8Array.of(1),
      };
      for (const [i, v] of vals.entries())
        expect(out[3 + i], `${nt} thresholds, ${v}`).toBe(binOf(mapper, 0, v));
      expect(Array.from(out.subarray(0, 3))).toEqual([77, 77, 77]);
    }
  });
});

describe("FeatureBinner.fitAndBin", () => {
  it("gives fit's bins and binColumn's binned column, columns of 0s and 1s in one pass or not", () => {
    // 0s and 1s (with −0), only 0s, only 1s, and columns that are 0s and 1s until a late 2, NaN,
    // Infinity or 0.5 (past the first blocks: the one-pass path gives up there), a flag of 3s
    const n = 10_000;
    const rng = new Rng(5);
    const flags = () => Float64Array.from({ length: n }, () => +(rng.next() < 0.2));
    const late = (v: number) => {
      const c = flags();
      c[n - 3] = v;
      return c;
    };
    const withNegZero = flags();
    withNegZero[17] = -0;
    const columns = [
      withNegZero,
      new Float64Array(n),
      new Float64Array(n).fill(1),
      late(2),
      late(Number.NaN),
      late(Number.POSITIVE_INFINITY),
      late(0.5),
      Float64Array.from(flags(), (v) => 3 * v),
    ];
    for (const rule of ["midpoint", "averaged_inverted_cdf"] as const) {
      const binner = new FeatureBinner(n, { rule });
      for (const [k, c] of columns.entries()) {
        const want = binner.fit(c, 0);
        const wantBins = new Uint8Array(n);
        binColumn(c, 0, n, want.thresholds, wantBins, 0);
        const out = new Uint8Array(n + 5).fill(77);
        const got = binner.fitAndBin(c, 0, out, 5);
        const label = `column ${k}, ${rule}`;
        expect(Array.from(got.thresholds), label).toEqual(Array.from(want.thresholds));
        expect(Array.from(got.cuts), label).toEqual(Array.from(want.cuts));
        expect(got.cuts === got.thresholds, label).toBe(want.cuts === want.thresholds);
        expect(got.hasMissing, label).toBe(want.hasMissing);
        expect(
          out.subarray(5).findIndex((b, i) => b !== wantBins[i]),
          label,
        ).toBe(-1);
        expect(Array.from(out.subarray(0, 5)), label).toEqual([77, 77, 77, 77, 77]);
      }
    }
  });
});

describe("FeatureBinner's infinite", () => {
  it("says whether a column holds ±Infinity on every path: 0/1, few values, counted, sorted, subsample", () => {
    const n = 4000;
    const rng = new Rng(8);
    const kinds: Record<string, () => number> = {
      "0/1": () => +(rng.next() < 0.3),
      "few values": () => rng.int(5),
      counted: () => rng.int(300) / 4,
      sorted: () => rng.normal(),
    };
    for (const [kind, value] of Object.entries(kinds)) {
      for (const inf of [0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const c = Float64Array.from({ length: n }, value);
        c[11] = Number.NaN;
        if (inf !== 0) c[n - 5] = inf;
        // a subsample of 100 rows almost surely misses row n − 5: the whole column is looked at
        for (const subsample of [200_000, 100]) {
          const label = `${kind}, ${inf}, subsample ${subsample}`;
          const binner = new FeatureBinner(n, { subsample });
          expect(binner.fit(c, 0).infinite, label).toBe(inf !== 0);
          expect(binner.fitAndBin(c, 0, new Uint8Array(n), 0).infinite, label).toBe(inf !== 0);
        }
      }
    }
  });
});
