/**
 * The pipeline issue's quality reference, shared by bench/pipeline.ts and bench/pipeline-seeds.ts:
 * scikit-learn's RandomForestClassifier(n_estimators=100) on a netsec run's ingested train/test
 * snapshots, over random_state 0–9 (bench/sklearn_rf_reference.py), test F1 at 0.5.
 */
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const PYTHON = join(ROOT, ".venv/bin/python");

/** Per dataset: the target column and its normal (non-threat) labels, as the Python scripts take them. */
export const SKLEARN_TARGET: Record<string, { target: string; normal: string }> = {
  phishing: { target: "Result", normal: "1" },
  "nsl-kdd": { target: "label", normal: "normal" },
};

export interface RfReference {
  f1: number[];
  mean: number;
  min: number;
  max: number;
}

/** RandomForest(100) over ten seeds on the run whose artifacts folder is `artifacts`. */
export function rfReference(artifacts: string, dataset: string): RfReference {
  const s = SKLEARN_TARGET[dataset]!;
  return JSON.parse(
    execFileSync(
      PYTHON,
      [
        join(ROOT, "bench/sklearn_rf_reference.py"),
        join(artifacts, "data_ingestion/ingested/train.parquet"),
        join(artifacts, "data_ingestion/ingested/test.parquet"),
        s.target,
        s.normal,
      ],
      { encoding: "utf8" },
    ),
  ) as RfReference;
}
