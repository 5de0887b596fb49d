/**
 * The drift step: this run's data against the champion's training profile when there is a champion
 * (new training data vs what it learnt from), else the test split against the training split. The
 * report goes to data_validation/drift_report/; dataset drift warns (drift.on_drift warn, the default)
 * or stops the run (stop).
 */

import { BundlePredictor } from "../../bundle/bundle.ts";
import type { ModelVersion } from "../../bundle/registry.ts";
import type { Frame } from "../../core/frame.ts";
import { type DriftReport, detectDrift } from "../../validate/drift.ts";
import { driftOptions } from "../../validate/drift-settings.ts";
import type { DataProfile } from "../../validate/profile.ts";
import { writeDriftReports } from "../../validate/report/index.ts";
import { type PipelineRun, RunStopped } from "../runner.ts";

/** The registered model this run competes with: its name, and its champion version when it has one. */
export interface Champion {
  modelName: string;
  version: ModelVersion | null;
  /** The champion version's bundle folder. */
  dir: string | null;
}

export async function driftStep(
  run: PipelineRun,
  champion: Champion,
  train: Frame,
  test: Frame,
): Promise<DriftReport> {
  const { cfg, schema } = run;
  const champ = champion.version;
  let reference: DataProfile | Frame = train;
  let what = "the training split of this run";
  if (champ && champion.dir) {
    try {
      reference = new BundlePredictor(champion.dir).referenceProfile;
      what = `champion ${champion.modelName} v${champ.version}`;
    } catch {
      run.warn(
        "the champion's reference profile could not be read; drift measured against this run's training split",
      );
    }
  }
  const current = champ ? train : test;
  const r = detectDrift(reference, current, schema, driftOptions(cfg.drift));
  await writeDriftReports(
    r,
    run.paths.driftReport,
    `Drift report — ${schema.name}: ${champ ? "new training data" : "test split"} vs ${what}`,
  );
  return r;
}

/** Dataset drift: the run stops (on_drift stop) or goes on with a warning (warn). */
export function judgeDrift(run: PipelineRun, drift: DriftReport): void {
  if (!drift.dataset_drift) return;
  const msg = `dataset drift: ${drift.drifted_columns.length} of ${Object.keys(drift.columns).length} columns drifted (threshold ${run.cfg.drift.threshold})`;
  if (run.cfg.drift.on_drift === "stop") throw new RunStopped(msg);
  run.warn(msg);
}
