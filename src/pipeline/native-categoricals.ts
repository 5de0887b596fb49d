/**
 * The pipeline's default for hist_gradient_boosting's `categorical_features`: the schema's categorical
 * columns (as the transformer fitted them), so the model splits their one-hot blocks as category sets
 * (native categorical splits) instead of one column at a time. Columns with more categories than the
 * model's max_bins (255 unless search.params sets it) stay one-hot. A categorical_features the user
 * sets in search.params (null for none) is kept as it is.
 */
import { MAX_BINS } from "../models/tree/binning.ts";
import type { ColumnTransformer } from "../preprocess/column-transformer.ts";

const MODEL = "hist_gradient_boosting";

/** `params` (search.params) with the default categorical_features of hist_gradient_boosting added. */
export function withNativeCategoricals(
  models: readonly string[],
  params: Record<string, Record<string, unknown>>,
  transformer: ColumnTransformer,
): Record<string, Record<string, unknown>> {
  if (!models.includes(MODEL)) return params;
  const own = params[MODEL] ?? {};
  if ("categorical_features" in own || "categoricalFeatures" in own) return params;
  const maxBins = Number(own.max_bins ?? own.maxBins ?? MAX_BINS);
  const names = (transformer.state?.categorical ?? [])
    .filter((c) => c.categories.length <= maxBins)
    .map((c) => c.name);
  if (names.length === 0) return params;
  return { ...params, [MODEL]: { ...own, categorical_features: names } };
}
