/**
 * The pipeline's default categorical_features for hist_gradient_boosting: the schema's categorical
 * columns the transformer fitted (those with at most max_bins categories), unless the user set it.
 */
import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.ts";
import { withNativeCategoricals } from "../../src/pipeline/native-categoricals.ts";
import { ColumnTransformer } from "../../src/preprocess/column-transformer.ts";

const n = 300;
const frame = new Frame([
  { kind: "numeric", name: "bytes", values: Float64Array.from({ length: n }, (_, i) => i) },
  // 3 categories
  {
    kind: "categorical",
    name: "proto",
    codes: Int32Array.from({ length: n }, (_, i) => i % 3),
    categories: ["icmp", "tcp", "udp"],
  },
  // 300 categories: more than max_bins (255)
  {
    kind: "categorical",
    name: "host",
    codes: Int32Array.from({ length: n }, (_, i) => i),
    categories: Array.from({ length: n }, (_, i) => `h${i}`),
  },
  // 20 categories
  {
    kind: "categorical",
    name: "svc",
    codes: Int32Array.from({ length: n }, (_, i) => i % 20),
    categories: Array.from({ length: 20 }, (_, i) => `s${i}`),
  },
]);
const ct = new ColumnTransformer().fit(frame, {
  numeric: ["bytes"],
  categorical: ["proto", "host", "svc"],
  imputer: "median",
});
const MODELS = ["hist_gradient_boosting", "random_forest"];

describe("withNativeCategoricals", () => {
  it("adds the categorical columns with at most max_bins categories to hist_gradient_boosting's params", () => {
    const p = withNativeCategoricals(MODELS, { random_forest: { n_estimators: 5 } }, ct);
    expect(p).toEqual({
      random_forest: { n_estimators: 5 },
      hist_gradient_boosting: { categorical_features: ["proto", "svc"] },
    });
    expect(withNativeCategoricals(MODELS, { hist_gradient_boosting: { max_bins: 10 } }, ct)).toEqual({
      hist_gradient_boosting: { max_bins: 10, categorical_features: ["proto"] },
    });
  });
  it("keeps the user's categorical_features (null: one-hot) and leaves other models alone", () => {
    for (const own of [{ categorical_features: null }, { categoricalFeatures: ["svc"] }]) {
      const params = { hist_gradient_boosting: own };
      expect(withNativeCategoricals(MODELS, params, ct)).toBe(params);
    }
    const params = {};
    expect(withNativeCategoricals(["random_forest"], params, ct)).toBe(params);
  });
});
