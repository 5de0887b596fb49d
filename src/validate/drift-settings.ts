/**
 * The drift settings a user can set — the `drift:` block of the pipeline YAML and the drift flags of
 * `netsec validate` — with their defaults, and their translation to `detectDrift`'s options. One zod
 * schema for both, so a YAML key and its flag mean the same and are checked the same way.
 * The methods and why these defaults: README "Drift" and `src/validate/drift.ts`.
 */
import { z } from "zod";
import type { DriftOptions } from "./drift.ts";

export const NUMERIC_DRIFT_METHODS = ["ks_statistic", "wasserstein"] as const;

export const DriftSettingsSchema = z
  .object({
    /** Share of drifted columns that means dataset drift. */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Small samples: p-value (KS or χ²) below which a column has drifted. */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Large samples, numeric columns: the effect size that decides. */
    numeric_method: z.enum(NUMERIC_DRIFT_METHODS).default("ks_statistic"),
    /** KS statistic D (largest gap between the two ECDFs, in [0, 1]) at or above which a column drifted. */
    ks_threshold: z.number().gt(0).max(1).default(0.1),
    /** Wasserstein distance in reference standard deviations at or above which a column drifted. */
    wasserstein_threshold: z.number().gt(0).default(0.1),
    /** Jensen–Shannon distance (base 2, in [0, 1]) at or above which a categorical column drifted. */
    js_threshold: z.number().gt(0).max(1).default(0.1),
    /** Fewest non-missing values in each sample for an effect size to decide (else the p-value test). */
    min_sample_size: z.number().int().min(1).default(1000),
    /** Categorical columns: also at least this many values per category in each sample. */
    min_rows_per_category: z.number().int().min(0).default(100),
  })
  .strict();

export type DriftSettings = z.infer<typeof DriftSettingsSchema>;

export function driftOptions(s: DriftSettings): Required<Omit<DriftOptions, "numericMinDistinct">> {
  return {
    threshold: s.threshold,
    alpha: s.alpha,
    numericMethod: s.numeric_method,
    ksThreshold: s.ks_threshold,
    wassersteinThreshold: s.wasserstein_threshold,
    jsThreshold: s.js_threshold,
    minSampleSize: s.min_sample_size,
    minRowsPerCategory: s.min_rows_per_category,
  };
}
