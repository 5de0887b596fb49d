/**
 * The evaluate step: the decision threshold from the winner's out-of-fold scores, the winner refitted
 * on every training row, then scored once on the untouched test split. The run record gets the winner,
 * its params, leaderboard and test metrics; model_trainer/ gets the leaderboard (JSON, CSV, HTML),
 * every candidate's CV scores, the test metrics and the ROC, precision–recall and confusion charts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scores } from "../../bundle/predictor.ts";
import { safeCsv } from "../../core/spreadsheet-safe.ts";
import { snakeKeys } from "../../models/params.ts";
import { createModel } from "../../models/registry.ts";
import { fitOnBinned } from "../../models/tree/binned-matrix.ts";
import type { BinnedFitOptions, Classifier, FitReport } from "../../models/types.ts";
import { threatScore } from "../../selection/cv-task.ts";
import { type BinaryMetrics, binaryMetrics, chooseThreshold, curve, thin } from "../../selection/metrics.ts";
import { confusionMatrixChart, lineChart, renderSvg } from "../../validate/charts.ts";
import { leaderboardCsv, leaderboardEntries, leaderboardHtml } from "../leaderboard.ts";
import type { PipelineRun } from "../runner.ts";
import { evaluateScores, metricsRecord, type PerClassReport, type ScoredMetrics } from "../train.ts";
import type { Transformed } from "./transform.ts";
import type { Tuned } from "./tune.ts";

export interface Evaluated {
  /** The winning model's name. */
  winner: string;
  /** The winner refitted on every training row. */
  model: Classifier;
  params: Record<string, unknown>;
  threshold: number;
  fitSeconds: number;
  test: ScoredMetrics;
  /**
   * The refitted model's scores of the test rows (what `test` measures): the bundle step checks the
   * ONNX export against them instead of scoring the test split again (at 1 M rows that scoring left
   * 256 MB of block matrices to the garbage collector just as the ONNX child started).
   */
  testScores: Scores;
  testAt05: BinaryMetrics;
  /** The winner's out-of-fold scores at the threshold. */
  oof: BinaryMetrics;
  curves: { roc: { fpr: number; tpr: number }[]; pr: { recall: number; precision: number }[] };
  /** Per-class test metrics: multiclass targets only (null for binary). */
  perClass: PerClassReport | null;
  /** Train minus CV score of the winner's best candidate (the max_train_cv_gap gate). */
  trainCvGap: number;
}

export interface Refitted {
  model: Classifier;
  rep: FitReport;
}

/**
 * A candidate fitted on every training row (the shared binned matrix; tree learners never decode it);
 * `outOfBag`: with its out-of-bag scores (tune-oob.ts).
 */
export async function refitOnAllRows(
  run: PipelineRun,
  t: Transformed,
  name: string,
  params: Record<string, unknown>,
  signal: AbortSignal | undefined,
  stage: "tune" | "evaluate" = "evaluate",
  outOfBag: Pick<BinnedFitOptions, "outOfBag" | "oobGroups"> = {},
): Promise<Refitted> {
  run.progress(
    stage,
    stage === "tune" ? 0 : 0.1,
    `refit: ${name} ${JSON.stringify(params)} on ${t.Xtr.nRows} rows`,
  );
  const model = createModel(name, params);
  const rep = await fitOnBinned(model, t.Xtr, t.yTrain.y, t.space.classes.length, {
    ...(run.cfg.search.threads ? { threads: run.cfg.search.threads } : {}),
    ...(signal ? { signal } : {}),
    ...outOfBag,
  });
  return { model, rep };
}

export async function evaluateStep(run: PipelineRun, t: Transformed, tuned: Tuned): Promise<Evaluated> {
  const { cfg } = run;
  const win = tuned.winner;
  const threshold =
    cfg.threshold.strategy === "fixed"
      ? cfg.threshold.value
      : chooseThreshold(t.yTrain.threat, win.oof, cfg.threshold.strategy, cfg.threshold.target_fpr);
  const { model, rep } = await (tuned.earlyRefit ??
    refitOnAllRows(run, t, win.model, win.best.params, run.signal));
  // the test rows scored a block at a time (row-major nTest × K probabilities)
  const k = t.space.classes.length;
  const nTest = t.yTest.y.length;
  const proba = new Float64Array(nTest * k);
  let from = 0;
  for (const X of t.testBlocks()) {
    proba.set(model.predictProba(X), from * k);
    from += X.nRows;
  }
  const s = threatScore(proba, nTest, k, t.threatClasses);
  const { metrics: test, perClass } = evaluateScores(
    t.yTest,
    t.space,
    { proba, threat: s },
    threshold,
    cfg.search.target_fpr,
    cfg.search.scoring === "f1_macro",
  );
  const pts = curve(t.yTest.threat, s);
  const ev: Evaluated = {
    winner: win.model,
    model,
    params: snakeKeys(model.params as Record<string, unknown>),
    threshold,
    fitSeconds: rep.fitSeconds,
    test,
    testScores: { proba, threat: s },
    testAt05: binaryMetrics(t.yTest.threat, s, 0.5),
    oof: binaryMetrics(t.yTrain.threat, win.oof, threshold),
    curves: {
      roc: thin(pts).map((p) => ({ fpr: p.fpr, tpr: p.tpr })),
      pr: thin(pts.slice(1)).map((p) => ({ recall: p.tpr, precision: p.precision })),
    },
    perClass: t.space.mode === "binary" ? null : (perClass ?? null),
    trainCvGap: win.best.train_mean - win.best.cv_mean,
  };
  const rec = run.rec;
  rec.best_model = win.model;
  run.outcome.perClass = ev.perClass;
  if (ev.perClass) rec.per_class = flatPerClass(ev.perClass);
  run.outcome.fitSeconds = ev.fitSeconds;
  run.outcome.threshold = threshold;
  rec.best_params = ev.params;
  rec.leaderboard = tuned.leaderboard as unknown as Record<string, unknown>[];
  rec.metrics = { ...metricsRecord(test), threshold };
  run.save();
  await writeTrainerReports(run, t, tuned, ev);
  return ev;
}

/** The per-class table as flat numbers for the run record and MLflow (see RunRecord.per_class). */
function flatPerClass(pc: PerClassReport): Record<string, number> {
  const out: Record<string, number> = { accuracy: pc.accuracy };
  for (const [c, r] of Object.entries(pc.per_class))
    for (const [k, v] of Object.entries(r)) if (typeof v === "number") out[`${c}.${k}`] = v;
  for (const avg of ["macro", "weighted"] as const)
    for (const [k, v] of Object.entries(pc[avg])) out[`${avg}.${k}`] = v;
  return out;
}

/** model_trainer/: leaderboard, CV scores, test metrics and charts. */
async function writeTrainerReports(
  run: PipelineRun,
  t: Transformed,
  tuned: Tuned,
  ev: Evaluated,
): Promise<void> {
  const { cfg, schema, paths } = run;
  const winner = tuned.winner.model;
  writeFileSync(join(paths.trainer, "leaderboard.json"), `${JSON.stringify(tuned.leaderboard, null, 2)}\n`);
  const board = leaderboardEntries(tuned.leaderboard, tuned.searches);
  writeFileSync(join(paths.trainer, "leaderboard.csv"), leaderboardCsv(board));
  writeFileSync(
    join(paths.trainer, "leaderboard.html"),
    leaderboardHtml(board, {
      title: `Leaderboard — ${schema.name}, run ${run.id}`,
      scoring: cfg.search.scoring,
      folds: cfg.search.cv,
    }),
  );
  writeFileSync(
    join(paths.trainer, "cv_scores.csv"),
    safeCsv(
      tuned.searches.flatMap((s) =>
        s.candidates.map((c) => [
          c.model,
          JSON.stringify(c.params),
          c.scoring,
          c.cv_mean,
          c.cv_std,
          c.train_mean,
          c.fit_seconds,
          ...c.cv_scores,
        ]),
      ),
      [
        "model",
        "params",
        "scoring",
        "cv_mean",
        "cv_std",
        "train_mean",
        "fit_seconds",
        // a single candidate scored out of bag (tune-oob.ts) has that one score, no folds
        ...(tuned.leaderboard[0]?.out_of_bag
          ? ["out_of_bag"]
          : Array.from({ length: cfg.search.cv }, (_, i) => `fold_${i + 1}`)),
      ],
    ),
  );
  writeFileSync(
    join(paths.trainer, "test_metrics.json"),
    `${JSON.stringify({ threshold: ev.threshold, test: ev.test, test_at_0_5: ev.testAt05, oof: ev.oof, ...(ev.perClass ? { per_class: ev.perClass } : {}) }, null, 2)}\n`,
  );
  writeFileSync(
    join(paths.trainer, "roc.svg"),
    await renderSvg(
      lineChart([{ name: winner, points: ev.curves.roc.map((p) => ({ x: p.fpr, y: p.tpr })) }], {
        title: `ROC — test split (AUC ${ev.test.roc_auc.toFixed(4)})`,
        xTitle: "false positive rate",
        yTitle: "true positive rate",
        diagonal: true,
      }),
    ),
  );
  writeFileSync(
    join(paths.trainer, "pr.svg"),
    await renderSvg(
      lineChart([{ name: winner, points: ev.curves.pr.map((p) => ({ x: p.recall, y: p.precision })) }], {
        title: `Precision–recall — test split (AP ${ev.test.pr_auc.toFixed(4)})`,
        xTitle: "recall",
        yTitle: "precision",
      }),
    ),
  );
  writeFileSync(join(paths.trainer, "confusion_matrix.svg"), await renderSvg(confusionChart(winner, t, ev)));
}

/**
 * The test split's confusion matrix: binary 2×2 in the dataset's own label values (the role spelt
 * out when the value does not say it: phishing's are "1" and "-1"); multiclass K×K over the classes,
 * plus a row for test labels unseen in training when there are any.
 */
function confusionChart(winner: string, t: Transformed, ev: Evaluated) {
  const title = `Confusion matrix — ${winner}, test split, threshold ${ev.threshold.toFixed(4)}`;
  const pc = ev.perClass;
  if (!pc) {
    const [benignLabel, threatLabel] = t.space.classLabels;
    const named = (label: string | undefined, role: string): string =>
      label === undefined || label === role ? role : `${label} (${role})`;
    return confusionMatrixChart(
      ev.test.confusion,
      { threat: named(threatLabel, "threat"), benign: named(benignLabel, "benign") },
      { title },
    );
  }
  const names = pc.classes.map((c, k) => `${c} (${pc.class_is_threat[k] ? "threat" : "benign"})`);
  const unseen = pc.unseen.rows
    ? [
        {
          name: `unseen in training (${Object.keys(pc.unseen.classes).length} labels)`,
          counts: pc.classes.map((c) => pc.unseen.predicted[c] ?? 0),
        },
      ]
    : [];
  return confusionMatrixChart({ classes: names, counts: pc.confusion, extraRows: unseen }, { title });
}
