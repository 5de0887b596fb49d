/**
 * The default search spaces are the original project's grids, written out here by hand from it (not
 * read back from the code), and random search draws points of them: n_iter distinct points, seeded.
 */
import { describe, expect, it } from "vitest";
import { createModel, getModelSpec, modelNames } from "../../src/models/registry.ts";
import { DEFAULT_MODEL_NAMES } from "../../src/models/types.ts";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";
import { gridCandidates } from "../../src/pipeline/steps/tune.ts";
import { expandGrid, sampleGrid } from "../../src/selection/search.ts";

// the original project's model_trainer grids (scikit-learn names), in its order
const ORIGINAL: Record<string, { grid: Record<string, unknown[]>; candidates: number }> = {
  random_forest: { grid: { n_estimators: [8, 16, 32, 128, 256] }, candidates: 5 },
  decision_tree: { grid: { criterion: ["gini", "entropy", "log_loss"] }, candidates: 3 },
  gradient_boosting: {
    grid: {
      learning_rate: [0.1, 0.01, 0.05, 0.001],
      subsample: [0.6, 0.7, 0.75, 0.85, 0.9],
      n_estimators: [8, 16, 32, 64, 128, 256],
    },
    candidates: 120,
  },
  // the defaults: one candidate
  logistic_regression: { grid: {}, candidates: 1 },
  adaboost: {
    grid: { learning_rate: [0.1, 0.01, 0.001], n_estimators: [8, 16, 32, 64, 128, 256] },
    candidates: 18,
  },
};

// models added since, each with its own documented grid (README "Models"), not part of a default run
const ADDED: Record<string, { grid: Record<string, unknown[]>; candidates: number }> = {
  hist_gradient_boosting: {
    grid: { learning_rate: [0.1, 0.05], max_leaf_nodes: [15, 31, 63], max_iter: [100, 200, 400] },
    candidates: 18,
  },
};

describe("default grids", () => {
  it("the original five and the added models are registered; preset original trains the original five by grid search", () => {
    expect([...modelNames()].sort()).toEqual([...Object.keys(ORIGINAL), ...Object.keys(ADDED)].sort());
    expect([...DEFAULT_MODEL_NAMES].sort()).toEqual(Object.keys(ORIGINAL).sort());
    const c = parsePipelineConfig({ search: { preset: "original" } });
    expect(c.models).toEqual([...DEFAULT_MODEL_NAMES]);
    expect(c.search).toMatchObject({ kind: "grid", cv: 3, scoring: "f1", grids: {} });
  });

  for (const [name, want] of Object.entries({ ...ORIGINAL, ...ADDED })) {
    it(`${name}: ${name in ORIGINAL ? "the original's" : "its"} grid exactly (keys, values, order) and ${want.candidates} candidate(s)`, () => {
      const grid = getModelSpec(name).defaultGrid;
      expect(grid).toEqual(want.grid);
      // key order decides candidate order (ties in CV go to the first candidate)
      expect(Object.keys(grid)).toEqual(Object.keys(want.grid));
      const cands = expandGrid(grid);
      expect(cands).toHaveLength(want.candidates);
      // each candidate is valid for the model (createModel's parse throws otherwise)
      for (const c of cands) expect(() => createModel(name, c)).not.toThrow();
    });
  }
});

describe("preset original: the candidates the search scores", () => {
  it("147: each model's original grid in its order, random_state the run's seed", () => {
    const c = gridCandidates(parsePipelineConfig({ search: { preset: "original" } }));
    expect(c).toHaveLength(147);
    const count = (m: string) => c.filter((x) => x.model === m).length;
    expect(
      ["random_forest", "decision_tree", "gradient_boosting", "adaboost", "logistic_regression"].map(count),
    ).toEqual([5, 3, 120, 18, 1]);
    // the models in config order, each model's candidates together
    expect([...new Set(c.map((x) => x.model))]).toEqual(
      parsePipelineConfig({ search: { preset: "original" } }).models,
    );
    expect(c.filter((x) => x.model === "random_forest").map((x) => x.params)).toEqual(
      [8, 16, 32, 128, 256].map((n) => ({ random_state: 42, n_estimators: n })),
    );
    // gradient boosting: learning_rate outermost, n_estimators innermost (the original grid's key order)
    const gb: Record<string, unknown>[] = [];
    for (const lr of [0.1, 0.01, 0.05, 0.001])
      for (const ss of [0.6, 0.7, 0.75, 0.85, 0.9])
        for (const n of [8, 16, 32, 64, 128, 256])
          gb.push({ random_state: 42, learning_rate: lr, subsample: ss, n_estimators: n });
    expect(c.filter((x) => x.model === "gradient_boosting").map((x) => x.params)).toEqual(gb);
    expect(c.find((x) => x.model === "logistic_regression")!.params).toEqual({ random_state: 42 });
  });
});

describe("random search (sampleGrid)", () => {
  const grid = ORIGINAL.gradient_boosting!.grid;
  const all = expandGrid(grid);
  const key = (c: Record<string, unknown>) => JSON.stringify(c);
  const allKeys = new Set(all.map(key));

  it("n_iter draws, each a point of the grid, no point twice", () => {
    for (const nIter of [1, 7, 20, 119]) {
      for (const seed of [0, 1, 42]) {
        const s = sampleGrid(grid, nIter, seed);
        expect(s).toHaveLength(nIter);
        for (const c of s) {
          expect(allKeys.has(key(c)), key(c)).toBe(true);
          expect(Object.keys(c)).toEqual(["learning_rate", "subsample", "n_estimators"]);
        }
        expect(new Set(s.map(key)).size).toBe(nIter);
      }
    }
  });

  it("seeded: the same seed gives the same draws, another seed others", () => {
    expect(sampleGrid(grid, 20, 7)).toEqual(sampleGrid(grid, 20, 7));
    expect(sampleGrid(grid, 20, 7)).not.toEqual(sampleGrid(grid, 20, 8));
    // every point can be drawn: over 100 seeds of 12 draws (about 10 expected each), none is left out
    const seen = new Set<string>();
    for (let seed = 0; seed < 100; seed++) for (const c of sampleGrid(grid, 12, seed)) seen.add(key(c));
    expect(seen.size).toBe(all.length);
  });

  it("n_iter at or above the grid's size: the whole grid, in grid order, whatever the seed", () => {
    for (const nIter of [120, 121, 500]) expect(sampleGrid(grid, nIter, 3)).toEqual(all);
    expect(sampleGrid(ORIGINAL.adaboost!.grid, 18, 9)).toEqual(expandGrid(ORIGINAL.adaboost!.grid));
  });

  it("fixed params are merged into every draw", () => {
    for (const c of sampleGrid(grid, 5, 1, { random_state: 4, max_depth: 2 }))
      expect(c).toMatchObject({ random_state: 4, max_depth: 2 });
  });
});
