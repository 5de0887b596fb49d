/**
 * The training matrix binned once (binned-matrix.ts): its bins are fitBinMapper + binMatrix +
 * quantileColumns on the whole float64 matrix, its rows decode to exactly the values binned, and
 * every model fitted on it (on the bins, or on the decoded rows) predicts what a fit on the float64
 * matrix predicts, bit for bit. A fit on a subset of its rows (a CV fold) is a fit on those rows.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Column, Frame, type Matrix, takeRows } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel } from "../../src/models/registry.ts";
import { binnedMatrix, decodeAll, decodeRows, fitOnBinned } from "../../src/models/tree/binned-matrix.ts";
import { binMatrix, fitBinMapper, quantileColumns } from "../../src/models/tree/binning.ts";
import { binnedTrainingMatrix } from "../../src/pipeline/steps/transform.ts";
import { ColumnTransformer } from "../../src/preprocess/column-transformer.ts";

afterAll(() => closePool());

/** Same bits, NaN included (toEqual would let -0 equal 0). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect(a[i], `${what}[${i}]`).toBe(b[i]);
}

/**
 * Columns of every kind the binner treats apart: a heavy-tailed quantile column with NaNs, a
 * three-valued flag, an integer count with 300 values (quantile bins of few values each), a constant.
 */
function mixed(n: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 4, ["bytes", "flag", "count", "const"]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.3 ? 1 : 0;
    X.data[i] = rng.next() < 0.02 ? Number.NaN : Math.exp(rng.normal() * 2 + y[i]!);
    X.data[n + i] = Math.floor(rng.next() * 3) - (y[i]! ? 0 : 1);
    X.data[2 * n + i] = Math.floor(rng.next() * 300) + y[i]! * 40;
    X.data[3 * n + i] = 7;
  }
  return { X, y };
}

describe("binnedMatrix", () => {
  for (const n of [5_000, 210_000]) {
    it(`has fitBinMapper's thresholds and cuts, binMatrix's bins and quantileColumns' raw columns (${n} rows${n > 200_000 ? ", quantiles from a subsample" : ""})`, () => {
      const { X } = mixed(n, 3);
      const B = binnedMatrix(X, { seed: 11 });
      const mapper = fitBinMapper(X, { seed: 11 });
      const bins = binMatrix(X, mapper);
      const raw = quantileColumns(X, mapper, bins)!;
      for (let f = 0; f < X.nCols; f++) {
        sameBits(B.mapper.thresholds[f]!, mapper.thresholds[f]!, `thresholds ${f}`);
        sameBits(B.mapper.cuts[f]!, mapper.cuts[f]!, `cuts ${f}`);
        // a feature binned one value per bin has cuts === thresholds (what the growers test)
        expect(B.mapper.cuts[f] === B.mapper.thresholds[f], `per-value ${f}`).toBe(
          mapper.cuts[f] === mapper.thresholds[f],
        );
        const slot = B.raw ? B.raw.index[f]! : -1;
        expect(slot >= 0, `raw column ${f}`).toBe(raw.index[f]! >= 0);
        if (slot >= 0) {
          sameBits(
            B.raw!.data.subarray(slot * n, (slot + 1) * n),
            X.data.subarray(f * n, (f + 1) * n),
            `raw ${f}`,
          );
          sameBits(
            B.raw!.single.subarray(slot * 256, (slot + 1) * 256),
            raw.single.subarray(f * 256, (f + 1) * 256),
            `single ${f}`,
          );
        }
      }
      expect(Array.from(B.mapper.hasMissing)).toEqual(Array.from(mapper.hasMissing));
      expect(Array.from(B.mapper.nBins)).toEqual(Array.from(mapper.nBins));
      expect(B.bins.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(Buffer.from(B.bins).equals(Buffer.from(bins))).toBe(true);
      // the heavy-tailed column is quantile-binned: kept raw; the flag and the constant are not
      expect(B.raw!.index[0]).toBeGreaterThanOrEqual(0);
      expect(B.raw!.index[1]).toBe(-1);
      expect(B.raw!.index[3]).toBe(-1);
    });
  }

  it("decodes every row to exactly the values it was binned from, in any row order", () => {
    const { X } = mixed(3_000, 5);
    const B = binnedMatrix(X);
    sameBits(decodeAll(B).data, X.data, "all rows");
    const rows = Uint32Array.from([2999, 0, 17, 17, 1500]);
    sameBits(decodeRows(B, rows).data, takeRows(X, rows).data, "picked rows");
    sameBits(
      decodeRows(B, null, 100, 250).data,
      takeRows(
        X,
        Uint32Array.from({ length: 150 }, (_, i) => 100 + i),
      ).data,
      "a range",
    );
  });

  it("refuses ±Infinity naming the feature and row, as a model's fit does", () => {
    const { X } = mixed(50, 1);
    X.data[2 * 50 + 9] = Number.POSITIVE_INFINITY;
    expect(() => binnedMatrix(X)).toThrow(/row 10, column count is Infinity/);
  });
});

/** A frame with numeric columns (some missing) and a categorical one, and its two-class target. */
function frame(n: number, seed: number): { frame: Frame; y: Int32Array } {
  const rng = new Rng(seed);
  const y = new Int32Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.35 ? 1 : 0;
    a[i] = rng.next() < 0.05 ? Number.NaN : rng.normal() * 3 + 2 * y[i]!;
    b[i] = Math.floor(rng.next() * 6) + y[i]!;
    codes[i] = rng.next() < 0.03 ? -1 : Math.floor(rng.next() * 4 + y[i]! * 1.5) % 5;
  }
  const cols: Column[] = [
    { kind: "numeric", name: "a", values: a },
    { kind: "numeric", name: "b", values: b },
    { kind: "categorical", name: "proto", codes, categories: ["tcp", "udp", "icmp", "gre", "esp"] },
  ];
  return { frame: new Frame(cols, n), y };
}

describe("a model fitted on the binned training matrix", () => {
  const params: Record<string, Record<string, unknown>> = {
    random_forest: { n_estimators: 12, random_state: 3 },
    decision_tree: { random_state: 3 },
    gradient_boosting: { n_estimators: 15, random_state: 3 },
    adaboost: { n_estimators: 10, random_state: 3 },
    hist_gradient_boosting: { max_iter: 10, random_state: 3 },
    logistic_regression: {},
  };
  for (const [name, p] of Object.entries(params)) {
    it(`${name}: the same test predictions as a fit on the float64 matrix, bit for bit`, async () => {
      const { frame: train, y } = frame(4_000, 8);
      const { frame: test } = frame(1_000, 9);
      const t = new ColumnTransformer().fit(train, {
        numeric: ["a", "b"],
        categorical: ["proto"],
        imputer: "median",
        scale: true,
      });
      const Xte = t.transform(test);
      const onFloat = createModel(name, p);
      await onFloat.fit(t.transform(train), y, 2, { threads: 2 });
      const onBins = createModel(name, p);
      await fitOnBinned(onBins, binnedTrainingMatrix(t, train, 3), y, 2, { threads: 2 });
      sameBits(onBins.predictProba(Xte), onFloat.predictProba(Xte), name);
      expect(JSON.stringify(onBins.toJSON())).toBe(JSON.stringify(onFloat.toJSON()));
    });
  }
});

describe("fitBinned on a subset of rows (a CV fold)", () => {
  for (const name of ["random_forest", "decision_tree"]) {
    it(`${name}: the model a fit on those rows alone gives, when their bins are the same`, async () => {
      // integer features with every value present in the subset: the subset's own bins are the
      // whole matrix's, so the two fits must agree to the last bit
      const n = 2_000;
      const rng = new Rng(4);
      const X = allocMatrix(n, 3, ["p", "q", "r"]);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = rng.next() < 0.4 ? 1 : 0;
        X.data[i] = Math.floor(rng.next() * 8) + 2 * y[i]!;
        X.data[n + i] = Math.floor(rng.next() * 5);
        X.data[2 * n + i] = Math.floor(rng.next() * 20) - y[i]!;
      }
      const rows = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 !== 1);
      const p = { random_state: 9, ...(name === "random_forest" ? { n_estimators: 8 } : {}) };
      const sub = createModel(name, p);
      await sub.fitBinned!(binnedMatrix(X, { seed: 9 }), y, 2, { rows, threads: 2 });
      const alone = createModel(name, p);
      await alone.fit(
        takeRows(X, rows),
        Int32Array.from(rows, (i) => y[i]!),
        2,
        { threads: 2 },
      );
      expect(JSON.stringify(sub.toJSON())).toBe(JSON.stringify(alone.toJSON()));
      sameBits(sub.predictProba(X), alone.predictProba(X), name);
    });
  }

  it("refuses rows that are not ascending indices of the matrix", async () => {
    const { X, y } = mixed(100, 2);
    const B = binnedMatrix(X);
    const m = createModel("decision_tree", {});
    await expect(m.fitBinned!(B, y, 2, { rows: Uint32Array.from([5, 3]) })).rejects.toThrow(/ascending/);
    await expect(m.fitBinned!(B, y, 2, { rows: Uint32Array.from([5, 100]) })).rejects.toThrow(/below 100/);
  });
});
