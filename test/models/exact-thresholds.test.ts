/**
 * Split thresholds on features with more than 255 distinct values (binned at quantiles): the growers
 * place them where scikit-learn's exact trees do (fixtures from test/golden/engine/make_fixtures.py,
 * thresholds.json, on data made from the same formulas here), and every training row still goes the
 * way the split was scored. Bin mapper: the gap cuts against a brute-force scan of the column, and its
 * JSON round trip (older state without cuts splits at the bin bounds).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { AdaBoostClassifier } from "../../src/models/adaboost.ts";
import { DecisionTreeClassifier } from "../../src/models/decision-tree.ts";
import { GradientBoostingClassifier } from "../../src/models/gradient-boosting.ts";
import { RandomForestClassifier } from "../../src/models/random-forest.ts";
import {
  binMapperFromJSON,
  binMapperToJSON,
  binMatrix,
  fitBinMapper,
  quantileColumns,
} from "../../src/models/tree/binning.ts";
import type { FlatTree } from "../../src/models/tree/flat-tree.ts";
import { rowsPerNode } from "../helpers/data.ts";
import { ROOT } from "../helpers/env.ts";

const fx = JSON.parse(readFileSync(join(ROOT, "test/golden/engine/thresholds.json"), "utf8"));

/** The fixture's data, from the formulas in make_fixtures.py. */
function fixtureCase(name: "gap" | "periodic"): { X: Matrix; y: Int32Array } {
  const n = fx.n as number;
  const X = allocMatrix(n, 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (name === "gap") {
      X.data[i] = i < 1234 ? i : i + 500;
      y[i] = +(i >= 1234) ^ +(i % 37 === 0);
    } else {
      X.data[i] = i * 0.25;
      y[i] = i % 400 < 150 ? 1 : 0;
    }
  }
  return { X, y };
}

/** Internal nodes' thresholds in node order. */
function splits(t: FlatTree): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.nNodes; i++) if (t.feature[i]! >= 0) out.push(t.threshold[i]!);
  return out;
}

describe("exact thresholds on quantile-binned features vs scikit-learn", () => {
  for (const name of ["gap", "periodic"] as const) {
    const { X, y } = fixtureCase(name);
    const want = fx.cases[name];

    it(`${name}: the column is binned at quantiles (more than 255 distinct values)`, () => {
      const m = fitBinMapper(X);
      expect(m.cuts[0]).not.toBe(m.thresholds[0]);
      expect(quantileColumns(X, m)?.index[0]).toBe(0);
    });

    // The exact search runs next to the best bin boundary only: the root splits match scikit-learn
    // everywhere; deeper down, "gap"'s evenly spaced label noise leaves many nearly equal splits, and
    // the best one need not sit next to the best bin boundary (not asserted). scikit-learn's boosting
    // also splits "periodic"'s pure left child (zero gain), which ours does not.
    for (const depth of name === "gap" ? [1] : [1, 3]) {
      it(`${name}: decision tree, max_depth ${depth}`, async () => {
        const m = new DecisionTreeClassifier({ maxDepth: depth });
        await m.fit(X, y, 2);
        expect(splits(m.tree!)).toEqual(want[`decision_tree_depth${depth}`]);
        // every training row goes where the split was scored: the node weights are the routed rows
        expect(Array.from(rowsPerNode(m.tree!, X))).toEqual(Array.from(m.tree!.weight));
      });
    }

    if (name === "gap")
      for (const criterion of ["friedman_mse", "newton"] as const)
        it(`${name}: gradient boosting (${criterion}), first tree (max_depth 2)`, async () => {
          const m = new GradientBoostingClassifier({ nEstimators: 1, maxDepth: 2, criterion });
          await m.fit(X, y, 2);
          const t = m.trees[0]!;
          // (our boosting tree numbers nodes level by level, scikit-learn depth-first)
          const sorted = (a: number[]) => [...a].sort((p, q) => p - q);
          expect(sorted(splits(t))).toEqual(sorted(want.gradient_boosting_first_tree_depth2));
          expect(Array.from(rowsPerNode(t, X))).toEqual(Array.from(t.weight));
        });
  }

  it("AdaBoost's stumps and the forest's trees split in the gap's middle too", async () => {
    const { X, y } = fixtureCase("gap");
    const ada = new AdaBoostClassifier({ nEstimators: 1 });
    await ada.fit(X, y, 2);
    expect(ada.trees[0]!.threshold[0]).toBe(1483.5);
    // without bootstrap and with every feature, each tree of the forest is the exact tree
    const rf = new RandomForestClassifier({ nEstimators: 4, bootstrap: false, maxDepth: 1 });
    await rf.fit(X, y, 2, { threads: 2 });
    for (const t of rf.trees) expect(t.threshold[0]).toBe(1483.5);
  });

  it("on a heavy-tailed column with missing values, training rows still route as they were scored", async () => {
    const rng = new Rng(11);
    const n = 4000;
    const X = allocMatrix(n, 3);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      X.data[r] = rng.next() < 0.05 ? Number.NaN : Math.round(Math.exp(rng.normal() * 3)); // heavy tail
      X.data[n + r] = rng.normal();
      X.data[2 * n + r] = rng.int(4);
      const z = Math.log1p(Number.isNaN(X.data[r]!) ? 0 : X.data[r]!) - 1 + X.data[n + r]! * 0.5;
      y[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    const mapper = fitBinMapper(X);
    const bins = binMatrix(X, mapper);
    const raw = quantileColumns(X, mapper, bins)!;
    expect(raw.index[0]).toBe(0);
    expect(raw.index[2]).toBe(-1);
    // the single-valued bins (small counts) against a scan of the column; the workers' packed copy
    for (const f of [0, 1]) {
      const lo = new Float64Array(256).fill(Number.POSITIVE_INFINITY);
      const hi = new Float64Array(256).fill(Number.NEGATIVE_INFINITY);
      for (let r = 0; r < n; r++) {
        const v = X.data[f * n + r]!;
        if (Number.isNaN(v)) continue;
        lo[bins[f * n + r]!] = Math.min(lo[bins[f * n + r]!]!, v);
        hi[bins[f * n + r]!] = Math.max(hi[bins[f * n + r]!]!, v);
      }
      const want = Array.from(lo, (l, b) => (l === hi[b] ? l : Number.NaN));
      const s = raw.index[f]!;
      expect(Array.from(raw.single.subarray(s * 256, (s + 1) * 256))).toEqual(want);
      const packed = quantileColumns(X, mapper, null, true)!;
      const ps = packed.index[f]!;
      expect(Array.from(packed.single.subarray(ps * 256, (ps + 1) * 256))).toEqual(want);
      expect(Array.from(packed.data.subarray(ps * n, (ps + 1) * n))).toEqual(
        Array.from(X.data.subarray(f * n, (f + 1) * n)),
      );
    }
    expect(Number.isNaN(raw.single[0]!)).toBe(false); // value 0 alone in its bin
    // node weights count the rows scored there; routed by raw value they must land in the same nodes
    for (const criterion of ["friedman_mse", "newton"] as const) {
      const gb = new GradientBoostingClassifier({ nEstimators: 10, maxDepth: 3, criterion });
      await gb.fit(X, y, 2);
      for (const t of gb.trees) expect(Array.from(rowsPerNode(t, X))).toEqual(Array.from(t.weight));
    }
    for (const criterion of ["gini", "entropy"] as const) {
      const dt = new DecisionTreeClassifier({ minSamplesLeaf: 3, criterion });
      await dt.fit(X, y, 2);
      expect(Array.from(rowsPerNode(dt.tree!, X))).toEqual(Array.from(dt.tree!.weight));
    }
    // the forest's workers (packed shared copy) grow the same trees as the main thread (X's columns)
    const forests = [];
    for (const threads of [1, 2]) {
      const rf = new RandomForestClassifier({ nEstimators: 6, bootstrap: false, minSamplesLeaf: 2 });
      await rf.fit(X, y, 2, { threads });
      for (const t of rf.trees) expect(Array.from(rowsPerNode(t, X))).toEqual(Array.from(t.weight));
      forests.push(rf.predictProba(X));
    }
    expect(forests[1]).toEqual(forests[0]);
  });
});

describe("gradient boosting criterion", () => {
  /** Two features of few values (one bin per value, so the bins do not depend on row counts). */
  function small(n: number, seed: number): { X: Matrix; y: Int32Array } {
    const rng = new Rng(seed);
    const X = allocMatrix(n, 2);
    const y = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      X.data[r] = rng.int(40);
      X.data[n + r] = rng.int(7);
      const z = (X.data[r]! - 20) / 8 + (X.data[n + r]! - 3) / 2;
      y[r] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    }
    return { X, y };
  }

  for (const criterion of ["friedman_mse", "newton"] as const)
    it(`${criterion}: integer sample weights fit the same model as repeated rows`, async () => {
      const { X, y } = small(600, 4);
      const rng = new Rng(8);
      const w = Float64Array.from({ length: 600 }, () => 1 + rng.int(3));
      const rows: number[] = [];
      for (let r = 0; r < 600; r++) for (let k = 0; k < w[r]!; k++) rows.push(r);
      const Xd = allocMatrix(rows.length, 2);
      const yd = Int32Array.from(rows, (r) => y[r]!);
      for (let i = 0; i < rows.length; i++) {
        Xd.data[i] = X.data[rows[i]!]!;
        Xd.data[rows.length + i] = X.data[600 + rows[i]!]!;
      }
      const a = new GradientBoostingClassifier({ nEstimators: 20, maxDepth: 3, criterion });
      await a.fit(X, y, 2, { sampleWeight: w });
      const b = new GradientBoostingClassifier({ nEstimators: 20, maxDepth: 3, criterion });
      await b.fit(Xd, yd, 2);
      const pa = a.predictProba(X);
      const pb = b.predictProba(X);
      for (let i = 0; i < pa.length; i++) expect(pa[i]!).toBeCloseTo(pb[i]!, 9);
    });

  it("the criteria pick different splits; state saved without a criterion loads as newton", async () => {
    const { X, y } = fixtureCase("periodic");
    const fm = new GradientBoostingClassifier({ nEstimators: 5, maxDepth: 3 });
    const nw = new GradientBoostingClassifier({ nEstimators: 5, maxDepth: 3, criterion: "newton" });
    await fm.fit(X, y, 2);
    await nw.fit(X, y, 2);
    expect(fm.params.criterion).toBe("friedman_mse");
    expect(fm.predictProba(X)).not.toEqual(nw.predictProba(X));
    const j = JSON.parse(JSON.stringify(nw.toJSON()));
    delete j.params.criterion;
    const back = GradientBoostingClassifier.fromJSON(j);
    expect(back.params.criterion).toBe("newton");
    expect(back.predictProba(X)).toEqual(nw.predictProba(X));
    expect(
      GradientBoostingClassifier.fromJSON(JSON.parse(JSON.stringify(fm.toJSON()))).params.criterion,
    ).toBe("friedman_mse");
  });
});

describe("bin mapper gap cuts", () => {
  /** Brute force: the midpoint between the largest training value <= t and the smallest above it. */
  function bruteCuts(col: Float64Array, t: Float64Array): number[] {
    return Array.from(t, (tb) => {
      let lo = Number.NEGATIVE_INFINITY;
      let hi = Number.POSITIVE_INFINITY;
      for (const v of col) {
        if (Number.isNaN(v)) continue;
        if (v <= tb && v > lo) lo = v;
        if (v > tb && v < hi) hi = v;
      }
      return lo + (hi - lo) / 2;
    });
  }

  it("places every cut in its training-value gap, from all rows (also when thresholds come from a subsample)", () => {
    const rng = new Rng(5);
    const n = 5000;
    const X = allocMatrix(n, 2);
    for (let r = 0; r < n; r++) {
      X.data[r] = rng.next() < 0.03 ? Number.NaN : Math.round(Math.exp(rng.normal() * 2) * 10);
      X.data[n + r] = rng.int(7); // few values: cuts are the thresholds
    }
    for (const subsample of [200_000, 1000]) {
      const m = fitBinMapper(X, { subsample, seed: 3 });
      expect(m.cuts[1]).toBe(m.thresholds[1]);
      const col = X.data.subarray(0, n);
      expect(Array.from(m.cuts[0]!)).toEqual(bruteCuts(col, m.thresholds[0]!));
      // a training value is on the same side of a cut as of its bin bound
      const bins = binMatrix(X, m);
      const t = m.cuts[0]!;
      for (let r = 0; r < n; r++) {
        const v = col[r]!;
        if (Number.isNaN(v)) continue;
        const b = bins[r]!;
        for (const j of [b - 1, b]) if (j >= 0 && j < t.length) expect(v <= t[j]!).toBe(j >= b);
      }
    }
  });

  it("round-trips through JSON; state without cuts splits at the bin bounds", () => {
    const X = allocMatrix(1000, 2);
    for (let r = 0; r < 1000; r++) {
      X.data[r] = r * r;
      X.data[1000 + r] = r % 3;
    }
    const m = fitBinMapper(X);
    const j = JSON.parse(JSON.stringify(binMapperToJSON(m)));
    expect(j.cuts[1]).toBeNull();
    const back = binMapperFromJSON(j);
    expect(Array.from(back.cuts[0]!)).toEqual(Array.from(m.cuts[0]!));
    expect(back.cuts[1]).toBe(back.thresholds[1]);
    const old = binMapperFromJSON({ thresholds: j.thresholds, hasMissing: j.hasMissing });
    expect(old.cuts[0]).toBe(old.thresholds[0]);
    expect(quantileColumns(X, old)).toBeNull();
  });
});
