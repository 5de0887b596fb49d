/** Contract tests run against every registered model. */
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { createModel, modelFromJSON, modelNames } from "../../src/models/registry.ts";

afterAll(() => closePool());

/** A 3-class problem with signal in features 0-1, noise in 2, a constant feature 3. */
function data(n: number, k: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 4, ["a", "b", "noise", "const"]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    y[i] = c;
    X.data[i] = c + rng.normal() * 0.7;
    X.data[n + i] = (c % 2) * 2 + rng.normal() * 0.7;
    X.data[2 * n + i] = rng.normal();
    X.data[3 * n + i] = 5;
  }
  return { X, y };
}

const small: Record<string, Record<string, unknown>> = {
  random_forest: { n_estimators: 10 },
  gradient_boosting: { n_estimators: 20 },
  adaboost: { n_estimators: 20 },
  decision_tree: { max_depth: 6 },
  logistic_regression: {},
};

describe.each(modelNames())("contract: %s", (name) => {
  for (const k of [2, 3]) {
    it(`${k} classes: probabilities in [0,1] summing to 1, better than chance, argmax = predict`, async () => {
      const { X, y } = data(300, k, 1);
      const m = createModel(name, small[name]);
      await m.fit(X, y, k);
      const p = m.predictProba(X);
      const pred = m.predict(X);
      let correct = 0;
      for (let r = 0; r < X.nRows; r++) {
        let s = 0;
        let best = 0;
        for (let c = 0; c < k; c++) {
          const v = p[r * k + c]!;
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
          s += v;
          if (v > p[r * k + best]!) best = c;
        }
        expect(s).toBeCloseTo(1, 10);
        expect(pred[r]).toBe(best);
        if (pred[r] === y[r]) correct++;
      }
      expect(correct / X.nRows).toBeGreaterThan(1 / k + 0.2);
    });
  }

  it("same seed → identical output; params and fitted state survive a JSON round trip", async () => {
    const { X, y } = data(200, 2, 2);
    const a = createModel(name, { ...small[name], random_state: 7 });
    const b = createModel(name, { ...small[name], random_state: 7 });
    await a.fit(X, y, 2);
    await b.fit(X, y, 2);
    expect(b.predictProba(X)).toEqual(a.predictProba(X));
    const back = modelFromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(back.predictProba(X)).toEqual(a.predictProba(X));
    expect(back.params).toEqual(a.params);
  });

  it("a one-class target is a clear error", async () => {
    const { X } = data(50, 2, 3);
    await expect(createModel(name, small[name]).fit(X, new Int32Array(50), 2)).rejects.toThrow(
      /single class/,
    );
  });

  it("a feature count that differs between fit and predict names both counts", async () => {
    const { X, y } = data(100, 2, 4);
    const m = createModel(name, small[name]);
    await m.fit(X, y, 2);
    expect(() => m.predictProba(allocMatrix(3, 5))).toThrow(/fitted on 4 features, got 5/);
  });

  it("unknown parameter names, NaN/Infinity and out-of-range values are rejected naming the parameter", () => {
    expect(() => createModel(name, { no_such_param: 1 })).toThrow(/unknown parameter\(s\) "no_such_param"/);
    expect(() => createModel(name, { random_state: Number.NaN })).toThrow(
      /random_state = NaN is not a finite number/,
    );
    expect(() => createModel(name, { random_state: -1 })).toThrow(/random_state = -1/);
  });

  it("Infinity in the data is rejected naming row and column", async () => {
    const { X, y } = data(50, 2, 5);
    X.data[1 * 50 + 7] = Number.POSITIVE_INFINITY;
    const e = await createModel(name, small[name])
      .fit(X, y, 2)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetsecError);
    expect((e as Error).message).toMatch(/row 8, column b is Infinity/);
  });
});

describe("parallel forest", () => {
  it("identical trees whatever the thread count", async () => {
    const { X, y } = data(400, 3, 9);
    const a = createModel("random_forest", { n_estimators: 12, random_state: 3 });
    const b = createModel("random_forest", { n_estimators: 12, random_state: 3 });
    await a.fit(X, y, 3, { threads: 1 });
    await b.fit(X, y, 3, { threads: 2 });
    expect(b.predictProba(X)).toEqual(a.predictProba(X));
  });
});
