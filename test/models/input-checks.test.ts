/**
 * Non-finite values at fit and at predict time. Logistic regression has no notion of a missing value:
 * NaN and ±Infinity are refused at fit and at predict (predictProba, predict, decision, contributions)
 * with DATA_INVALID naming row and column. Tree models take NaN as missing; ±Infinity, refused at fit
 * (contract.test.ts), is routed at predict like any value: +Infinity as a value above every threshold,
 * −Infinity below every one — the same leaves as ±1e308, in the WebAssembly and the JS walks.
 */
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { checkValues } from "../../src/models/checks.ts";
import { LogisticRegression } from "../../src/models/logistic-regression.ts";
import { createModel } from "../../src/models/registry.ts";
import { disableWasmWalks } from "../../src/models/tree/wasm-walk.ts";

afterAll(() => closePool());

function data(n: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3, ["a", "b", "c"]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    X.data[i] = y[i]! + rng.normal() * 0.8;
    X.data[n + i] = rng.normal() - y[i]! * 0.5;
    X.data[2 * n + i] = rng.normal();
  }
  return { X, y };
}

function copy(X: Matrix): Matrix {
  const m = allocMatrix(X.nRows, X.nCols, X.names);
  m.data.set(X.data);
  return m;
}

/** The error `f` throws (or rejects with). */
async function errorOf(f: () => unknown): Promise<NetsecError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetsecError);
    return e as NetsecError;
  }
  throw new Error("expected an error");
}

describe("logistic regression refuses non-finite values", () => {
  for (const [label, bad] of [
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
  ] as const) {
    it(`${label} at fit: DATA_INVALID naming row and column`, async () => {
      const { X, y } = data(60, 1);
      X.data[2 * 60 + 41] = bad; // column c, row 42
      const e = await errorOf(() => new LogisticRegression().fit(X, y, 2));
      expect(e.code).toBe("DATA_INVALID");
      expect(e.message).toMatch(new RegExp(`row 42, column c is ${label}`));
      expect(e.details).toMatchObject({ row: 42, column: "c", value: label });
    });

    it(`${label} at predict: predictProba, predict, decision and contributions name row and column`, async () => {
      const { X, y } = data(80, 2);
      const m = new LogisticRegression();
      await m.fit(X, y, 2);
      // more than 16 rows and a few: the batch path and the small one
      for (const n of [3, 40]) {
        const Q = allocMatrix(n, 3, ["a", "b", "c"]);
        for (let c = 0; c < 3; c++) for (let r = 0; r < n; r++) Q.data[c * n + r] = X.data[c * 80 + r]!;
        Q.data[1 * n + (n - 1)] = bad; // column b, last row
        for (const call of [
          () => m.predictProba(Q),
          () => m.predict(Q),
          () => m.decision(Q),
          () => m.contributions(Q, n - 1, 1),
        ]) {
          const e = await errorOf(call);
          expect(e.code).toBe("DATA_INVALID");
          expect(e.message).toMatch(new RegExp(`logistic_regression: row ${n}, column b is ${label}`));
          expect(e.details).toMatchObject({ row: n, column: "b", value: label });
        }
        // another row's explanation does not read the bad row
        expect(m.contributions(Q, 0, 1).every(Number.isFinite)).toBe(true);
      }
    });
  }

  it("a multinomial model checks too", async () => {
    const { X } = data(90, 3);
    const y = Int32Array.from({ length: 90 }, (_, i) => i % 3);
    const m = new LogisticRegression();
    await m.fit(X, y, 3);
    const p = m.predictProba(X);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    const Q = copy(X);
    Q.data[17] = Number.NaN;
    expect(() => m.predictProba(Q)).toThrow(/row 18, column a is NaN/);
  });

  it("a column every class weighs 0 (a constant column at fit) is checked too", async () => {
    for (const K of [2, 3]) {
      const { X } = data(90, 4);
      for (let i = 0; i < 90; i++) X.data[2 * 90 + i] = 0; // column c constant: its weights are 0
      const y = Int32Array.from({ length: 90 }, (_, i) => i % K);
      const m = new LogisticRegression();
      await m.fit(X, y, K);
      const coef = (m.toJSON().state as { coef: number[] }).coef;
      for (let k = 0; k < (K === 2 ? 1 : K); k++) expect(coef[k * 3 + 2]).toBe(0);
      const Q = copy(X);
      Q.data[2 * 90 + 30] = Number.POSITIVE_INFINITY;
      expect(() => m.predictProba(Q)).toThrow(/row 31, column c is Infinity/);
    }
  });

  it("huge but finite values are scored (an overflowing score is not a non-finite input)", async () => {
    const { X, y } = data(60, 5);
    const m = new LogisticRegression();
    await m.fit(X, y, 2);
    const Q = copy(X);
    Q.data[3] = 1e308;
    Q.data[60 + 3] = -1e308;
    const p = m.predictProba(Q);
    expect(Number.isFinite(p[6]!) && Number.isFinite(p[7]!)).toBe(true);
  });
});

describe("tree models at predict time", () => {
  const trees = [
    "decision_tree",
    "random_forest",
    "gradient_boosting",
    "adaboost",
    "hist_gradient_boosting",
  ] as const;
  const params: Record<string, Record<string, unknown>> = {
    decision_tree: { max_depth: 5 },
    random_forest: { n_estimators: 8 },
    gradient_boosting: { n_estimators: 10 },
    adaboost: { n_estimators: 10 },
    hist_gradient_boosting: { max_iter: 10, min_samples_leaf: 5 },
  };

  for (const name of trees) {
    it(`${name}: ±Infinity goes where ±1e308 goes (every walk); NaN is a missing value`, async () => {
      const { X, y } = data(200, 4);
      const m = createModel(name, params[name]);
      await m.fit(X, y, 2);
      // 40 rows (the batch walks) and 5 rows (the small ones), each feature set to ±Infinity in turn
      for (const n of [40, 5]) {
        for (let c = 0; c < 3; c++) {
          const inf = allocMatrix(n, 3);
          for (let k = 0; k < 3; k++) for (let r = 0; r < n; r++) inf.data[k * n + r] = X.data[k * 200 + r]!;
          const big = copy(inf);
          for (let r = 0; r < n; r++) {
            const sign = r % 2 ? 1 : -1;
            inf.data[c * n + r] = sign * Number.POSITIVE_INFINITY;
            big.data[c * n + r] = sign * 1e308;
          }
          const want = m.predictProba(big);
          expect(want.every((v) => v >= 0 && v <= 1)).toBe(true);
          expect(m.predictProba(inf), `${n} rows, feature ${c}`).toEqual(want);
          disableWasmWalks(true);
          try {
            expect(m.predictProba(inf), `${n} rows, feature ${c}, JS walks`).toEqual(want);
          } finally {
            disableWasmWalks(false);
          }
        }
      }
      // NaN: accepted as missing, probabilities finite
      const nan = copy(X);
      for (let r = 0; r < 200; r += 3) nan.data[r] = Number.NaN;
      expect(m.predictProba(nan).every((v) => v >= 0 && v <= 1)).toBe(true);
    });
  }
});

describe("checkValues", () => {
  // 4 sums over blocks of four rows and a tail: a bad value at each position of a block, in the tail,
  // in a column after NaN-only columns (NaN allowed), and outside the checked rows
  it("names the first non-finite value, column by column, wherever it is in the rows", () => {
    const n = 23;
    const X = allocMatrix(n, 3, ["a", "b", "c"]);
    for (const r of [0, 1, 2, 3, 5, 19, 20, 21, 22]) {
      X.data.fill(0.5);
      X.data[n + r] = Number.NEGATIVE_INFINITY;
      expect(() => checkValues(X, "m", true)).toThrow(`row ${r + 1}, column b is -Infinity`);
      expect(() => checkValues(X, "m", true, r, r + 1)).toThrow(`row ${r + 1}, column b is -Infinity`);
      expect(() => checkValues(X, "m", true, r + 1)).not.toThrow();
    }
    X.data.fill(1);
    for (let r = 0; r < n; r += 2) X.data[r] = Number.NaN;
    X.data[2 * n + 21] = Number.POSITIVE_INFINITY;
    X.data[2 * n + 22] = Number.NaN;
    expect(() => checkValues(X, "m", true)).toThrow("row 22, column c is Infinity");
    expect(() => checkValues(X, "m", false)).toThrow("row 1, column a is NaN");
    X.data[2 * n + 21] = -1e308;
    expect(() => checkValues(X, "m", true)).not.toThrow();
    expect(() => checkValues(X, "m", false, 1, 2)).not.toThrow();
    expect(() => checkValues(X, "m", false, 1, 23)).toThrow("row 3, column a is NaN");
  });
});
