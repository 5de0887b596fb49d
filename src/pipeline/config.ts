/**
 * The pipeline YAML: sources, split, validation and drift thresholds, transform, models, search,
 * threshold selection, gates and tracking. Every key has a documented default; unknown keys are errors
 * naming the key (a typo must not silently fall back to a default).
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import { MODEL_NAMES } from "../models/types.ts";
import { PRESET_ENSEMBLE_K, PRESET_KIND, PRESET_MODELS, SEARCH_PRESETS } from "../selection/presets.ts";
import { DriftSettingsSchema } from "../validate/drift-settings.ts";
import { ValidationThresholdsSchema } from "../validate/validate.ts";

const modelName = z.enum(MODEL_NAMES as unknown as [string, ...string[]]);

export const PipelineConfigSchema = z
  .object({
    /** Registry dataset name (its schema and files). */
    dataset: z.string().default("phishing"),
    /** A schema file instead of a registry dataset. */
    schema: z.string().optional(),
    source: z
      .object({
        /** store: records already ingested; dataset: the registry files (ingested first); file: the files below; mongodb: a collection (ingested first, then trained on). */
        kind: z.enum(["dataset", "file", "store", "mongodb"]).default("dataset"),
        /** Registry split name (dataset kind); default: the dataset's default_split. */
        split: z.string().optional(),
        /** Training data files (file kind). */
        files: z.array(z.string()).default([]),
        /** Test data files: a predefined split (file kind). */
        test_files: z.array(z.string()).default([]),
        /** mongodb kind: each key defaults to MONGODB_URI, MONGODB_DB, MONGODB_COLLECTION. */
        mongodb: z
          .object({
            uri: z.string().optional(),
            db: z.string().optional(),
            collection: z.string().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ kind: "dataset", files: [], test_files: [] }),
    /**
     * What the classifier predicts: `binary` threat vs benign; `category` the schema's label →
     * category map (labels.categories; NSL-KDD normal/dos/probe/r2l/u2r); `label` the raw labels.
     * Multiclass models still decide threat vs benign by the threshold on P(threat) (Σ of the threat
     * classes): threat metrics, gates and the champion comparison are unchanged; per-class metrics are
     * added.
     */
    target: z.enum(["binary", "category", "label"]).default("binary"),
    split: z
      .object({
        /** auto = predefined when test files exist, time when the schema names a timestamp, duplicate-aware when rows repeat, else stratified. */
        kind: z.enum(["auto", "stratified", "duplicate_aware", "time", "predefined"]).default("auto"),
        test_size: z.number().gt(0).lt(1).default(0.2),
      })
      .strict()
      .default({ kind: "auto", test_size: 0.2 }),
    validation: z
      .object({
        thresholds: ValidationThresholdsSchema.default(ValidationThresholdsSchema.parse({})),
        /** stop: a failed validation ends the run (recorded as failed); warn: go on. */
        on_fail: z.enum(["stop", "warn"]).default("stop"),
      })
      .strict()
      .default({ thresholds: ValidationThresholdsSchema.parse({}), on_fail: "stop" }),
    /** Drift rules (src/validate/drift-settings.ts) and what dataset drift does. */
    drift: DriftSettingsSchema.extend({
      /** What dataset drift does: warn (default) or stop the run. */
      on_drift: z.enum(["warn", "stop"]).default("warn"),
    })
      .strict()
      .default(() => ({ ...DriftSettingsSchema.parse({}), on_drift: "warn" as const })),
    transform: z
      .object({
        /** Numeric imputer: median, most_frequent, or knn (k = knn_neighbors, as the original project). */
        imputer: z.enum(["median", "most_frequent", "knn"]).default("knn"),
        knn_neighbors: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ imputer: "knn", knn_neighbors: 3 }),
    /** Models to train and compare (default: the search preset's models, see search.preset). */
    models: z.array(modelName).min(1).optional(),
    search: z
      .object({
        /**
         * What `models` and `kind` default to. default: hist_gradient_boosting, random_forest and
         * logistic_regression by successive halving within time_budget_s; original: the original
         * project's five models and grids (grid search), exactly as before.
         */
        preset: z.enum(SEARCH_PRESETS).default("default"),
        /**
         * Default: the preset's kind when `models` is not given, else grid. halving (the default
         * preset's): random candidates from documented ranges (src/selection/spaces.ts)
         * raced on growing row samples, the best third promoted; grid (the original project's grids by
         * default); random (n_iter samples of the grids); none (fixed params).
         */
        kind: z.enum(["halving", "grid", "random", "none"]).optional(),
        /**
         * kind halving: seconds after which no new candidate is launched (candidates already launched
         * are still promoted and scored on all rows, so the search ends somewhat later).
         */
        time_budget_s: z.number().gt(0).default(30),
        cv: z.number().int().min(2).max(20).default(3),
        /**
         * With a single candidate (one model, one param set) there is nothing to select: a model
         * that scores its training rows out of bag (random_forest with bootstrap) is fitted once and
         * those scores stand in for the out-of-fold ones, no CV (the leaderboard row says so). true:
         * run the CV folds anyway. Other models always run them (their out-of-fold scores choose the
         * threshold).
         */
        force_cv: z.boolean().default(false),
        /**
         * Soft voting: the best candidates of the 2..ensemble_k best models (by CV) averaged, kept
         * when the average beats the best single model on CV (src/selection/ensemble.ts). 0 or 1: no
         * ensemble. Default: the preset's when `models` is not given (default 3, original 0), else 0.
         */
        ensemble_k: z.number().int().min(0).max(10).optional(),
        n_iter: z.number().int().min(1).default(20),
        /** The threat decision's f1 (default), roc_auc, pr_auc, tpr_at_fpr, accuracy; or f1_macro over the target's classes. */
        scoring: z.enum(["f1", "roc_auc", "pr_auc", "tpr_at_fpr", "accuracy", "f1_macro"]).default("f1"),
        /** FPR budget for scoring tpr_at_fpr. */
        target_fpr: z.number().gt(0).lt(1).default(0.01),
        /** Per-model grids replacing the defaults (snake_case names as scikit-learn). */
        grids: z.record(z.string(), z.record(z.string(), z.array(z.unknown()).min(1))).default({}),
        /** Per-model fixed hyperparameters (applied under every candidate). */
        params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
        /** Worker threads (default: all cores). */
        threads: z.number().int().min(1).optional(),
      })
      .strict()
      .default({
        preset: "default",
        time_budget_s: 30,
        cv: 3,
        force_cv: false,
        n_iter: 20,
        scoring: "f1",
        target_fpr: 0.01,
        grids: {},
        params: {},
      }),
    threshold: z
      .object({
        /** max_f1: the threshold maximising cross-validated F1; target_fpr: the one meeting the FPR budget. */
        strategy: z.enum(["max_f1", "target_fpr", "fixed"]).default("max_f1"),
        target_fpr: z.number().gt(0).lt(1).default(0.01),
        value: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .default({ strategy: "max_f1", target_fpr: 0.01, value: 0.5 }),
    gates: z
      .object({
        /** Minimum test score (the scoring metric) for the model to be registered. */
        min_score: z.number().min(0).max(1).default(0.6),
        /** Maximum gap between mean train score and mean CV score of the winner. */
        max_train_cv_gap: z.number().min(0).max(1).default(0.05),
      })
      .strict()
      .default({ min_score: 0.6, max_train_cv_gap: 0.05 }),
    /** Seed for splits, CV, models. */
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(42),
    /** Registered model name (local registry and MLflow); default netsec-<dataset>. */
    model_name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional(),
  })
  .strict()
  // no models named: the preset's, searched the preset's way (and its ensemble); models named: their
  // grids (as before presets), no ensemble, unless search.kind / search.ensemble_k say otherwise
  .transform((c) => ({
    ...c,
    models: c.models ?? [...PRESET_MODELS[c.search.preset]],
    search: {
      ...c.search,
      kind: c.search.kind ?? (c.models ? ("grid" as const) : PRESET_KIND[c.search.preset]),
      ensemble_k: c.search.ensemble_k ?? (c.models ? 0 : PRESET_ENSEMBLE_K[c.search.preset]),
    },
  }))
  // per-model settings for a model the run does not train would be ignored: refuse them, naming the key
  .superRefine((c, ctx) => {
    // halving draws from the documented ranges: grids would be ignored
    if (c.search.kind === "halving" && Object.keys(c.search.grids).length > 0)
      ctx.addIssue({
        code: "custom",
        path: ["search", "grids"],
        message: `grids apply to search.kind grid or random, not halving (the ${c.search.preset} preset's kind); set search.kind: grid or search.preset: original`,
      });
    for (const key of ["grids", "params"] as const) {
      for (const m of Object.keys(c.search[key])) {
        if (!(MODEL_NAMES as readonly string[]).includes(m))
          ctx.addIssue({
            code: "custom",
            path: ["search", key, m],
            message: `not a model name (one of ${MODEL_NAMES.join(", ")})`,
          });
        else if (!c.models.includes(m))
          ctx.addIssue({
            code: "custom",
            path: ["search", key, m],
            message: `${m} is not in models (${c.models.join(", ")}), so these settings would be ignored`,
          });
      }
    }
  });

export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

/** Parse a pipeline config object; every problem listed with its key path. */
export function parsePipelineConfig(raw: unknown, source = "(config)"): PipelineConfig {
  const r = PipelineConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const path = i.path.join(".") || "(root)";
      const keys =
        "keys" in i && Array.isArray(i.keys)
          ? ` ${(i.keys as string[]).map((k) => JSON.stringify(k)).join(", ")}`
          : "";
      return `${path}: ${i.message}${keys}`;
    });
    throw new NetsecError("CONFIG_INVALID", `${source}: ${problems.join("; ")}`, { file: source, problems });
  }
  return r.data;
}

export function loadPipelineConfig(path: string): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new NetsecError("FILE_UNREADABLE", `cannot read pipeline config ${path}: ${(e as Error).message}`, {
      file: path,
    });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new NetsecError("CONFIG_INVALID", `${path} is not valid YAML: ${(e as Error).message}`, {
      file: path,
    });
  }
  return parsePipelineConfig(raw, path);
}
