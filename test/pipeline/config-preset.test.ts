/**
 * search.preset and search.time_budget_s in the pipeline config: what each preset defaults to, what an
 * explicit setting overrides, and bad values refused as CONFIG_INVALID naming the key.
 */
import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";

function problem(raw: unknown): string {
  try {
    parsePipelineConfig(raw, "p.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(NetsecError);
    expect((e as NetsecError).code).toBe("CONFIG_INVALID");
    return (e as Error).message;
  }
  throw new Error("parsed");
}

describe("search.preset", () => {
  it("default (no key): hist_gradient_boosting, random_forest and logistic_regression by halving within 30 s", () => {
    const c = parsePipelineConfig({});
    expect(c.search.preset).toBe("default");
    expect(c.models).toEqual(["hist_gradient_boosting", "random_forest", "logistic_regression"]);
    expect(c.search.kind).toBe("halving");
    expect(c.search.time_budget_s).toBe(30);
  });

  it("original: the original project's five models, grid search, 3 folds", () => {
    const c = parsePipelineConfig({ search: { preset: "original" } });
    expect(c.models).toEqual([
      "random_forest",
      "decision_tree",
      "gradient_boosting",
      "adaboost",
      "logistic_regression",
    ]);
    expect(c.search).toMatchObject({ kind: "grid", cv: 3 });
  });

  it("models named: their grids (grid search, as before presets) unless search.kind says otherwise", () => {
    expect(parsePipelineConfig({ models: ["decision_tree"] }).search.kind).toBe("grid");
    expect(parsePipelineConfig({ models: ["decision_tree"], search: { kind: "halving" } }).search.kind).toBe(
      "halving",
    );
    // grids for named models are fine (grid search)
    expect(
      parsePipelineConfig({
        models: ["random_forest"],
        search: { grids: { random_forest: { n_estimators: [4] } } },
      }).search.grids,
    ).toEqual({ random_forest: { n_estimators: [4] } });
  });

  it("models and kind given explicitly win over the preset's", () => {
    const c = parsePipelineConfig({
      models: ["decision_tree"],
      search: { kind: "random", time_budget_s: 5 },
    });
    expect(c.models).toEqual(["decision_tree"]);
    expect(c.search).toMatchObject({ preset: "default", kind: "random", time_budget_s: 5 });
    expect(parsePipelineConfig({ search: { preset: "original", kind: "halving" } }).search.kind).toBe(
      "halving",
    );
  });

  it("bad values: CONFIG_INVALID naming the key", () => {
    expect(problem({ search: { preset: "fast" } })).toMatch(
      /p\.yaml: search\.preset: .*"default".*"original"/,
    );
    expect(problem({ search: { time_budget_s: 0 } })).toMatch(/search\.time_budget_s: .*>0/);
    expect(problem({ search: { time_budget_s: "30" } })).toMatch(/search\.time_budget_s/);
    expect(problem({ search: { kind: "halvng" } })).toMatch(/search\.kind/);
  });

  it("grids under halving would be ignored: refused", () => {
    expect(problem({ search: { grids: { random_forest: { n_estimators: [4] } } } })).toMatch(
      /search\.grids: grids apply to search\.kind grid or random, not halving/,
    );
    // with the original preset (grid search) the same grids are fine
    const c = parsePipelineConfig({
      search: { preset: "original", grids: { random_forest: { n_estimators: [4] } } },
    });
    expect(c.search.grids).toEqual({ random_forest: { n_estimators: [4] } });
  });
});

describe("search.ensemble_k", () => {
  it("defaults to 3 for the default preset, 0 for the original one and whenever models are named", () => {
    expect(parsePipelineConfig({}).search.ensemble_k).toBe(3);
    expect(parsePipelineConfig({ search: { preset: "original" } }).search.ensemble_k).toBe(0);
    expect(parsePipelineConfig({ models: ["random_forest", "logistic_regression"] }).search.ensemble_k).toBe(
      0,
    );
    expect(
      parsePipelineConfig({ models: ["random_forest", "logistic_regression"], search: { ensemble_k: 2 } })
        .search.ensemble_k,
    ).toBe(2);
    expect(parsePipelineConfig({ search: { ensemble_k: 0 } }).search.ensemble_k).toBe(0);
  });

  it("refuses a negative or fractional k, and soft_voting as a model to search", () => {
    expect(problem({ search: { ensemble_k: -1 } })).toMatch(/search\.ensemble_k/);
    expect(problem({ search: { ensemble_k: 2.5 } })).toMatch(/search\.ensemble_k/);
    expect(problem({ models: ["soft_voting"] })).toMatch(/models/);
  });
});
