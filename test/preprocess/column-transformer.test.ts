import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.ts";
import { ColumnTransformer } from "../../src/preprocess/column-transformer.ts";
import { ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/fixtures.json"), "utf8"));
const M: (number | null)[][] = fx.preprocess.matrix;
const frame = new Frame(
  [0, 1, 2].map((c) => ({
    kind: "numeric" as const,
    name: `x${c}`,
    values: Float64Array.from(M.map((r) => r[c] ?? Number.NaN)),
  })),
);

function rowsOf(t: ColumnTransformer, f: Frame): number[][] {
  const X = t.transform(f);
  return Array.from({ length: X.nRows }, (_, r) =>
    Array.from({ length: X.nCols }, (_, c) => X.data[c * X.nRows + r]!),
  );
}

describe("imputers and scaler vs scikit-learn", () => {
  for (const [strategy, key] of [
    ["median", "median"],
    ["most_frequent", "most_frequent"],
    ["mean", "mean"],
    ["knn", "knn3"],
  ] as const) {
    it(`${strategy}`, () => {
      const t = new ColumnTransformer().fit(frame, {
        numeric: ["x0", "x1", "x2"],
        categorical: [],
        imputer: strategy,
        knnNeighbors: 3,
        scale: false,
      });
      const got = rowsOf(t, frame);
      const want: number[][] = fx.preprocess[key];
      for (let r = 0; r < want.length; r++)
        for (let c = 0; c < 3; c++) expect(got[r]![c]).toBeCloseTo(want[r]![c]!, 9);
    });
  }
  it("knn without knnNeighbors: k = 3, the original project's (KNNImputer(n_neighbors=3))", () => {
    const t = new ColumnTransformer().fit(frame, {
      numeric: ["x0", "x1", "x2"],
      categorical: [],
      imputer: "knn",
      scale: false,
    });
    const got = rowsOf(t, frame);
    const want: number[][] = fx.preprocess.knn3;
    for (let r = 0; r < want.length; r++)
      for (let c = 0; c < 3; c++) expect(got[r]![c], `row ${r}, column ${c}`).toBeCloseTo(want[r]![c]!, 9);
    // k matters on this matrix: 2 or 4 neighbours fill differently
    for (const k of [2, 4]) {
      const other = new ColumnTransformer().fit(frame, {
        numeric: ["x0", "x1", "x2"],
        categorical: [],
        imputer: "knn",
        knnNeighbors: k,
        scale: false,
      });
      expect(rowsOf(other, frame), `k = ${k}`).not.toEqual(got);
    }
  });
  it("a constant column scales to exact zeros (its scale is 1, not 0)", () => {
    const f = new Frame([
      { kind: "numeric", name: "c", values: Float64Array.from([5, 5, Number.NaN, 5]) },
      { kind: "numeric", name: "v", values: Float64Array.from([1, 2, 3, 4]) },
    ]);
    const t = new ColumnTransformer().fit(f, { numeric: ["c", "v"], categorical: [], imputer: "median" });
    expect(rowsOf(t, f).map((r) => Object.is(r[0], 0))).toEqual([true, true, true, true]);
    expect(t.toJSON().numeric[0]).toMatchObject({ mean: 5, scale: 1 });
  });
  it("standard scaler after median imputation", () => {
    const t = new ColumnTransformer().fit(frame, {
      numeric: ["x0", "x1", "x2"],
      categorical: [],
      imputer: "median",
      scale: true,
    });
    const got = rowsOf(t, frame);
    const want: number[][] = fx.preprocess.scaled_after_median;
    for (let r = 0; r < want.length; r++)
      for (let c = 0; c < 3; c++) expect(got[r]![c]).toBeCloseTo(want[r]![c]!, 9);
  });
  it("one-hot ignores unseen categories and maps by string value across dictionaries", () => {
    const fit = new Frame([
      {
        kind: "categorical",
        name: "p",
        codes: Int32Array.from([0, 1, 2, 0]),
        categories: ["tcp", "udp", "icmp"],
      },
    ]);
    const t = new ColumnTransformer().fit(fit, { numeric: [], categorical: ["p"], imputer: "median" });
    expect(t.featureNames).toEqual(fx.onehot.categories.map((c: string) => `p=${c}`));
    // a different dictionary order, and "gre" never seen at fit
    const other = new Frame([
      {
        kind: "categorical",
        name: "p",
        codes: Int32Array.from([2, 0, 1]),
        categories: ["gre", "tcp", "udp"],
      },
    ]);
    expect(rowsOf(t, other)).toEqual(fx.onehot.result);
  });
  it("state survives JSON", () => {
    const t = new ColumnTransformer().fit(frame, {
      numeric: ["x0", "x1", "x2"],
      categorical: [],
      imputer: "knn",
      scale: true,
    });
    const back = ColumnTransformer.fromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(rowsOf(back, frame)).toEqual(rowsOf(t, frame));
  });
});
