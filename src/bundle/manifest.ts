/**
 * netsec's own model bundle format (a directory):
 *
 *   bundle.json              manifest (this schema): format + version, model, params, labels, threat
 *                            class, threshold, metrics, dataset schema (embedded), data hashes, code version
 *   preprocess.json          fitted column transformer state (imputer, scaler, one-hot)
 *   model.json               fitted classifier state (SerializedModel)
 *   reference_profile.json   training-data profile: the drift reference for data scored later
 *   monitor_reference.json   the training rows on fixed bins + the outputs' reference, for monitoring
 *                            scored traffic (src/monitor/reference.ts; absent in older bundles)
 *   train_rows.bin           digest of the training rows' feature vectors (train-digest.ts), so a
 *                            later run re-scoring this model leaves out rows it was trained on
 *   onnx/                    the same pipeline as ONNX + MLflow MLmodel (onnx flavor), requirements
 *   model_card.md / .html    human-readable card
 *
 * Loading parses JSON and validates it with zod; nothing in a bundle is ever executed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import { DatasetSchema, SchemaFileSchema } from "../datasets/schema.ts";

export const BUNDLE_FORMAT = "netsec-bundle";
export const BUNDLE_VERSION = 1;

const metricsSchema = z.record(z.string(), z.number().nullable());

export const ManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  format_version: z.literal(BUNDLE_VERSION),
  created: z.string(),
  /** netsec version and git commit that produced the bundle. */
  code_version: z.object({ netsec: z.string(), git_commit: z.string().nullable() }),
  run_id: z.string(),
  model: z.string(),
  params: z.record(z.string(), z.unknown()),
  dataset: z.string(),
  schema: SchemaFileSchema,
  /**
   * binary | category | label (what the classes are: threat vs benign, the schema's label
   * categories, or the raw labels). Every mode has a threat probability (Σ P of the threat classes).
   */
  target_mode: z.enum(["binary", "category", "label"]),
  /** Class index → class name (binary: ["benign", "threat"] mapped to dataset labels below). */
  classes: z.array(z.string()).min(2),
  /** For each class: is it a threat? */
  class_is_threat: z.array(z.boolean()),
  /** Label values to output per class (the dataset's own values, e.g. "-1"/"1"). */
  class_labels: z.array(z.string()),
  /** Raw feature columns the bundle expects (schema feature names, in order). */
  input_columns: z.array(z.string()),
  /** Names of the transformed features the classifier sees. */
  feature_names: z.array(z.string()),
  /** Decision threshold on the threat probability, chosen on cross-validated predictions. */
  threshold: z.number().min(0).max(1),
  threshold_strategy: z.string(),
  metrics: z.object({
    cv: metricsSchema,
    test: metricsSchema,
    oof: metricsSchema.optional(),
    /** Multiclass targets: precision, recall, F1 and support per class on the test split. */
    test_per_class: z
      .record(
        z.string(),
        z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() }),
      )
      .optional(),
  }),
  /** SHA-256 of the training and test data snapshots. */
  data: z.object({
    train_sha256: z.string(),
    test_sha256: z.string(),
    train_rows: z.number(),
    test_rows: z.number(),
  }),
  /**
   * The training rows' digest (train-digest.ts): sorted distinct 64-bit hashes of the raw input feature
   * vectors in `file`. Absent in bundles made before it existed (their training rows cannot be told).
   */
  train_digest: z
    .object({ file: z.literal("train_rows.bin"), rows: z.number().int(), distinct: z.number().int() })
    .optional(),
  files: z.object({
    preprocess: z.literal("preprocess.json"),
    model: z.literal("model.json"),
    reference_profile: z.literal("reference_profile.json"),
    onnx: z.string().nullable(),
  }),
});

export type BundleManifest = z.infer<typeof ManifestSchema>;

/**
 * The dataset schema embedded in a bundle's bundle.json, validated as BundlePredictor validates it,
 * without loading the model (the ONNX engine's schema; monitoring's, which needs no trees).
 */
export function bundleSchema(dir: string): DatasetSchema {
  const file = join(dir, "bundle.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `model bundle file ${file} is not valid JSON: ${(e as Error).message}`,
      {
        file,
      },
    );
  }
  const r = ManifestSchema.safeParse(raw);
  if (!r.success) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${file}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      { file },
    );
  }
  // same source label as BundlePredictor, so schema errors read the same on both engines
  return new DatasetSchema(r.data.schema, `${dir}/bundle.json#schema`);
}
