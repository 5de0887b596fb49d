import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";
import { DRIFT_DEFAULTS } from "../../src/validate/drift.ts";
import { driftOptions } from "../../src/validate/drift-settings.ts";

describe("the pipeline YAML drift block", () => {
  it("defaults: share 0.5, alpha 0.05, KS statistic / JS at 0.1, 1000 rows, 100 per category, warn", () => {
    const d = parsePipelineConfig({}).drift;
    expect(d).toEqual({
      threshold: 0.5,
      alpha: 0.05,
      numeric_method: "ks_statistic",
      ks_threshold: 0.1,
      wasserstein_threshold: 0.1,
      js_threshold: 0.1,
      min_sample_size: 1000,
      min_rows_per_category: 100,
      on_drift: "warn",
    });
    expect({ numericMinDistinct: 20, ...driftOptions(d) }).toEqual(DRIFT_DEFAULTS);
  });

  it("the old keys keep working beside the new ones, and reach detectDrift's options", () => {
    const d = parsePipelineConfig({
      drift: {
        threshold: 0.3,
        alpha: 0.01,
        on_drift: "stop",
        numeric_method: "wasserstein",
        wasserstein_threshold: 0.2,
      },
    }).drift;
    expect(d).toMatchObject({ threshold: 0.3, alpha: 0.01, on_drift: "stop", js_threshold: 0.1 });
    expect(driftOptions(d)).toMatchObject({
      threshold: 0.3,
      alpha: 0.01,
      numericMethod: "wasserstein",
      wassersteinThreshold: 0.2,
      minSampleSize: 1000,
    });
  });

  it("a typo or an out-of-range value is an error naming the key", () => {
    expect(() => parsePipelineConfig({ drift: { js_treshold: 0.2 } })).toThrow(/drift: .*"js_treshold"/);
    expect(() => parsePipelineConfig({ drift: { ks_threshold: 1.5 } })).toThrow(/drift\.ks_threshold/);
    expect(() => parsePipelineConfig({ drift: { numeric_method: "psi" } })).toThrow(/drift\.numeric_method/);
    expect(() => parsePipelineConfig({ drift: { min_sample_size: 0 } })).toThrow(/drift\.min_sample_size/);
  });
});
