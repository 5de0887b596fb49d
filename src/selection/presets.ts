/**
 * Search presets: what a run trains and how it searches when the config names no models and no
 * search kind. `original` is the original project's five models and grids (grid search, as before);
 * `default` adds hist_gradient_boosting and races random candidates from documented ranges by
 * successive halving within a time budget (halving.ts, spaces.ts), then tries a soft vote of its
 * best models (ensemble.ts).
 */
import { DEFAULT_MODEL_NAMES, type ModelName } from "../models/types.ts";

export const SEARCH_PRESETS = ["default", "original"] as const;
export type SearchPreset = (typeof SEARCH_PRESETS)[number];

export type SearchKind = "halving" | "grid" | "random" | "none";

export const PRESET_MODELS: Record<SearchPreset, readonly ModelName[]> = {
  // gradient_boosting (exact, one thread per fit), adaboost and decision_tree never beat these on CV
  // in the measurements of BENCHMARKS.md; hist_gradient_boosting covers boosting much faster
  default: ["hist_gradient_boosting", "random_forest", "logistic_regression"],
  original: DEFAULT_MODEL_NAMES,
};

export const PRESET_KIND: Record<SearchPreset, SearchKind> = {
  default: "halving",
  original: "grid",
};

/**
 * search.ensemble_k when the config gives none: the most members of a soft-voting ensemble tried on
 * CV (0 = none). The original preset stays the original project's selection.
 */
export const PRESET_ENSEMBLE_K: Record<SearchPreset, number> = {
  default: 3,
  original: 0,
};
