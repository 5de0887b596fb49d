/**
 * The artifacts folder of one pipeline run, laid out like the original project's but complete:
 *
 *   artifacts/<run id>/
 *     data_ingestion/feature_store/<dataset>.parquet  the snapshot the run trained and tested on
 *     data_ingestion/ingested/{train,test}.parquet     the split (typed columns)
 *     data_validation/                              validation.json, problems.csv
 *     data_validation/drift_report/                 report.yaml (original layout), drift.json, drift.html
 *     data_transformation/                          preprocess.json (the bundle's), feature_names.json,
 *                                                   {train,test}.npy (transformed features, float64, rows ×
 *                                                   features), target_{train,test}.npy (int64, 1 = threat)
 *     model_trainer/                                leaderboard.{json,csv,html}, cv_scores.csv, test_metrics.json,
 *                                                   test_sets.json, roc.svg, pr.svg, confusion_matrix.svg,
 *                                                   model/ (the bundle, with reference_profile.json)
 *     run.json                                      summary
 *
 * A run that stops before training (validation, drift) has only the folders written up to that step;
 * a failed gate comes after evaluation, so its model_trainer/ and data_transformation/ are complete.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export interface RunPaths {
  root: string;
  featureStore: string;
  ingested: string;
  validation: string;
  driftReport: string;
  transformation: string;
  trainer: string;
  bundle: string;
}

export function runPaths(home: string, runId: string): RunPaths {
  if (!/^[A-Za-z0-9_-]+$/.test(runId)) throw new RangeError(`invalid run id ${JSON.stringify(runId)}`);
  const root = join(home, "artifacts", runId);
  return {
    root,
    featureStore: join(root, "data_ingestion", "feature_store"),
    ingested: join(root, "data_ingestion", "ingested"),
    validation: join(root, "data_validation"),
    driftReport: join(root, "data_validation", "drift_report"),
    transformation: join(root, "data_transformation"),
    trainer: join(root, "model_trainer"),
    bundle: join(root, "model_trainer", "model"),
  };
}

export function makeRunDirs(p: RunPaths): void {
  for (const d of [p.featureStore, p.ingested, p.validation, p.driftReport, p.transformation, p.trainer]) {
    mkdirSync(d, { recursive: true });
  }
}

/**
 * A sortable, unique run id: UTC time to the millisecond + random suffix (runs started in the same
 * second, as a failed config check and the next run can be, still list newest first).
 */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace("T", "-").replace(".", "-").replace("Z", "");
  return `${t}-${Math.random().toString(36).slice(2, 8)}`;
}
