/**
 * The bundle step: the model bundle in model_trainer/model/ (manifest, preprocessing, model, training
 * profile, training-row digest), data_transformation/ (the fitted preprocessing and what it produced,
 * as the original's preprocessing.pkl + train.npy/test.npy but readable without pickles), the same
 * pipeline as ONNX + MLflow MLmodel verified under onnxruntime on every test row, the winner's metrics
 * on every test set by name, and the model card.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BundlePredictor, writeBundle } from "../../bundle/bundle.ts";
import type { BundleManifest } from "../../bundle/manifest.ts";
import { modelCardHtml, modelCardMarkdown } from "../../bundle/model-card.ts";
import { writeBundleOnnx } from "../../bundle/onnx/write.ts";
import { trainDigest, writeDigest } from "../../bundle/train-digest.ts";
import type { Frame } from "../../core/frame.ts";
import { collectGarbage, releaseUnreachable } from "../../core/memory.ts";
import { importanceSampleRows, importantInputs } from "../../monitor/importance.ts";
import { buildMonitorReference, writeMonitorReference } from "../../monitor/reference.ts";
import { binaryMetrics } from "../../selection/metrics.ts";
import type { DriftReport } from "../../validate/drift.ts";
import { type DataProfile, profileFrame } from "../../validate/profile.ts";
import { writeNpyBlocks, writeNpyInt64, writeNpyMatrix } from "../npy.ts";
import { scoresInBlocks } from "../row-blocks.ts";
import type { PipelineRun } from "../runner.ts";
import { codeVersion, frameSha256, metricsRecord, threatTarget } from "../train.ts";
import type { Evaluated } from "./evaluate.ts";
import type { RunData } from "./split.ts";
import type { Transformed } from "./transform.ts";
import type { Tuned } from "./tune.ts";

/**
 * What the bundle step reads of the training rows, taken when the transform step has binned them: the
 * training frame (264 MB of columns at 1 M rows, 2.6 GB at 10 M) is then freed before the fit, not
 * after the bundle.
 */
export interface TrainingRows {
  rows: number;
  sha256: string;
  /** trainDigest of the bundle's input columns. */
  digest: BigUint64Array;
  /** The reference profile (profileFrame). */
  profile: DataProfile;
  /** The rows importantInputs explains (importanceSampleRows). */
  sample: Frame;
}

export function trainingRows(run: PipelineRun, train: Frame, t: Transformed): TrainingRows {
  run.progress("transform", 0.9, `training-row digest and reference profile of ${train.nRows} rows`);
  return {
    rows: train.nRows,
    sha256: frameSha256(train),
    digest: trainDigest(train, t.transformer.inputColumns),
    profile: profileFrame(train, run.schema, run.cfg.seed),
    sample: train.take(importanceSampleRows(train.nRows)),
  };
}

export async function bundleStep(
  run: PipelineRun,
  data: Omit<RunData, "train"> & { testName: string },
  trainRows: TrainingRows,
  t: Transformed,
  tuned: Tuned,
  ev: Evaluated,
  drift: DriftReport,
): Promise<BundleManifest> {
  const { cfg, schema, paths } = run;
  const { test } = data;
  const win = tuned.winner;
  const scoring = cfg.search.scoring;
  const manifest: BundleManifest = {
    format: "netsec-bundle",
    format_version: 1,
    created: new Date().toISOString(),
    code_version: codeVersion(),
    run_id: run.id,
    model: win.model,
    params: ev.params,
    dataset: schema.name,
    schema: schema.raw,
    target_mode: t.space.mode,
    classes: t.space.classes,
    class_is_threat: t.space.classIsThreat,
    class_labels: t.space.classLabels,
    input_columns: t.transformer.inputColumns,
    feature_names: t.transformer.featureNames,
    threshold: ev.threshold,
    threshold_strategy: cfg.threshold.strategy,
    metrics: {
      cv: {
        [`${scoring}_mean`]: win.best.cv_mean,
        [`${scoring}_std`]: win.best.cv_std,
        [`train_${scoring}_mean`]: win.best.train_mean,
      },
      test: metricsRecord(ev.test),
      oof: metricsRecord(ev.oof),
      ...(ev.perClass ? { test_per_class: ev.perClass.per_class } : {}),
    },
    data: {
      train_sha256: trainRows.sha256,
      test_sha256: frameSha256(test),
      train_rows: trainRows.rows,
      test_rows: test.nRows,
    },
    files: {
      preprocess: "preprocess.json",
      model: "model.json",
      reference_profile: "reference_profile.json",
      onnx: null,
    },
  };
  mkdirSync(paths.bundle, { recursive: true });
  // first, so that the binned training rows (150 MB at 1 M rows, on shared memory only the garbage
  // collector frees) are let go before the bundle is loaded and the ONNX child starts
  run.progress("bundle", 0.05, "the transformed rows as train.npy and test.npy");
  writeTransformedRows(run, t);
  t.releaseXtr(); // train.npy was its last reader
  // …and freed now: the worker threads that grew the trees on them are stopped and this thread
  // collects (without it they stayed resident to the end of the run, ONNX child included)
  await releaseUnreachable();
  manifest.train_digest = writeDigest(paths.bundle, trainRows.digest, trainRows.rows);
  const { profile } = trainRows;
  writeBundle(paths.bundle, manifest, t.transformer, ev.model, profile);
  writeTransformation(run, t);
  run.progress("bundle", 0.5, "monitoring reference");
  // the bundle as written (its predictions, and the ONNX export of the same pipeline + MLflow
  // MLmodel, verified under onnxruntime on every test row)
  const bp = new BundlePredictor(paths.bundle);
  // the reference scored traffic is monitored against: the training rows on fixed bins, the outputs
  // of the cross-validated predictions (what the model does on rows it was not fitted on)
  const names = bp.classNames;
  writeMonitorReference(
    paths.bundle,
    buildMonitorReference(
      profile,
      {
        oofThreat: win.oof,
        threshold: ev.threshold,
        classNames: Array.from(t.yTrain.y, (c) => (c >= 0 ? names[c]! : "(unseen class)")),
        source:
          "out-of-fold predictions of the training rows (threat rate, probabilities); training labels (class mix)",
      },
      importantInputs(bp, trainRows.sample),
    ),
  );
  // the monitoring reference's garbage (its predictions of the training rows) freed before the child
  collectGarbage();
  const n = test.nRows;
  // the evaluate step's scores of the test rows (the model the bundle holds), decided as the bundle
  // decides them: not scored again, which would leave a matrix per block to the garbage collector
  // just as the ONNX child starts
  const pred = bp.fromScores(ev.testScores, n);
  run.progress("bundle", 0.7, `ONNX export, checked under onnxruntime on the ${n} test rows`);
  // exported from the bundle as written, in a child process (the IR, the ONNX graph and onnxruntime's
  // session stay out of this process's memory)
  const onnx = await writeBundleOnnx(join(paths.bundle, "onnx"), {
    bundleDir: paths.bundle,
    classLabels: manifest.class_labels,
    classIsThreat: manifest.class_is_threat,
    threshold: manifest.threshold,
    dataset: schema.name,
    netsecVersion: manifest.code_version.netsec,
    verifyOn: {
      frame: test,
      inputs: bp.transformer.inputColumns,
      probabilities: pred.probability,
      labels: pred.labels,
    },
    metadata: { run_id: run.id, model: win.model, threshold: ev.threshold, dataset: schema.name },
    runId: run.id,
  });
  manifest.files.onnx = "onnx/model.onnx";
  writeFileSync(join(paths.bundle, "bundle.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  run.rec.metrics.onnx_max_abs_diff = onnx.verify?.maxAbsDiff ?? null;
  const ties = onnx.verify?.thresholdTies.length ?? 0;
  if (ties > 0)
    run.warn(
      `ONNX export: ${ties} test row(s) lie within float32 rounding just below the threshold ${ev.threshold}: onnxruntime labels them threats, the bundle (float64) does not`,
    );
  writeTestSets(run, bp, data, ev);
  const md = modelCardMarkdown(manifest, {
    leaderboard: tuned.leaderboard,
    perClass: ev.perClass,
    drift: { share_drifted: drift.share_drifted, dataset_drift: drift.dataset_drift },
  });
  writeFileSync(join(paths.bundle, "model_card.md"), md);
  writeFileSync(join(paths.bundle, "model_card.html"), modelCardHtml(md, `Model card — ${win.model}`));
  return manifest;
}

/** data_transformation/: the bundle's preprocess.json byte for byte, and the feature names. */
function writeTransformation(run: PipelineRun, t: Transformed): void {
  const { paths } = run;
  copyFileSync(join(paths.bundle, "preprocess.json"), join(paths.transformation, "preprocess.json"));
  writeFileSync(
    join(paths.transformation, "feature_names.json"),
    `${JSON.stringify(t.transformer.featureNames, null, 2)}\n`,
  );
}

/** data_transformation/: the transformed rows and targets (what the original's train.npy/test.npy held). */
function writeTransformedRows(run: PipelineRun, t: Transformed): void {
  const { paths } = run;
  writeNpyMatrix(join(paths.transformation, "train.npy"), t.Xtr);
  writeNpyBlocks(
    join(paths.transformation, "test.npy"),
    t.yTest.y.length,
    t.transformer.featureNames.length,
    t.testBlocks(),
  );
  writeNpyInt64(join(paths.transformation, "target_train.npy"), t.yTrain.y);
  writeNpyInt64(join(paths.transformation, "target_test.npy"), t.yTest.y);
  if (t.space.mode !== "binary")
    // what the multiclass targets' indices mean (-1 in target_test.npy: a class unseen in training)
    writeFileSync(
      join(paths.transformation, "target_classes.json"),
      `${JSON.stringify({ target: t.space.mode, classes: t.space.classes, class_is_threat: t.space.classIsThreat }, null, 2)}\n`,
    );
}

/** Every test set by name: the main one, then a split's also_test sets (reported, never selected on). */
function writeTestSets(
  run: PipelineRun,
  bp: BundlePredictor,
  data: { testName: string; extraTests: { name: string; frame: Frame }[] },
  ev: Evaluated,
): void {
  const metricsOf = (m: ReturnType<typeof binaryMetrics>): Record<string, number> => ({
    rows: m.confusion.tp + m.confusion.fp + m.confusion.tn + m.confusion.fn,
    ...metricsRecord(m),
  });
  const rec = run.rec;
  rec.test_sets = { [data.testName]: metricsOf(ev.test) };
  for (const x of data.extraTests) {
    const m = binaryMetrics(
      threatTarget(run.schema, x.frame),
      scoresInBlocks(bp, x.frame).threat,
      ev.threshold,
    );
    rec.test_sets[x.name] = metricsOf(m);
    run.progress("bundle", 0.9, `${x.name}: F1 ${m.f1.toFixed(4)}, ROC-AUC ${m.roc_auc.toFixed(4)}`);
  }
  writeFileSync(join(run.paths.trainer, "test_sets.json"), `${JSON.stringify(rec.test_sets, null, 2)}\n`);
}
