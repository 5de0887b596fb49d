/**
 * Train and evaluate: the engine's end-to-end path (used by `netsec train` and the pipeline).
 *   transform (fit on train only) → candidates × folds CV on the worker pool → winner by mean CV score
 *   → decision threshold from the winner's out-of-fold probabilities → refit on all training rows
 *   → one evaluation on the untouched test set → bundle.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeBundle } from "../bundle/bundle.ts";
import type { BundleManifest } from "../bundle/manifest.ts";
import { NetsecError } from "../core/errors.ts";
import type { Frame, Matrix } from "../core/frame.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { duplicateGroupsOfFrame } from "../datasets/split.ts";
import { camelCase } from "../models/params.ts";
import { createModel, getModelSpec } from "../models/registry.ts";
import { ColumnTransformer, type ImputeStrategy } from "../preprocess/column-transformer.ts";
import { threatScore } from "../selection/cv-task.ts";
import { stratifiedKFold } from "../selection/kfold.ts";
import {
  type BinaryMetrics,
  binaryMetrics,
  chooseThreshold,
  curve,
  thin,
  tprAtFpr,
} from "../selection/metrics.ts";
import {
  type CandidateResult,
  expandGrid,
  type FitDone,
  type ModelSearchResult,
  planSearch,
  type Scoring,
  sampleGrid,
  searchCV,
} from "../selection/search.ts";
import { profileFrame } from "../validate/profile.ts";

export interface ModelRequest {
  name: string;
  /** Fixed hyperparameters (no search when `search` is "none"). */
  params?: Record<string, unknown>;
  /** Grid replacing the model's default grid. */
  grid?: Record<string, unknown[]>;
}

export interface TrainOptions {
  schema: DatasetSchema;
  train: Frame;
  test: Frame;
  models: ModelRequest[];
  search: "grid" | "random" | "none";
  nIter?: number;
  cv: number;
  seed: number;
  scoring: Scoring;
  targetFpr: number;
  imputer: ImputeStrategy;
  knnNeighbors?: number;
  threshold: { strategy: "max_f1" | "target_fpr" | "fixed"; targetFpr: number; value: number };
  threads?: number;
  runId: string;
  bundleDir: string;
  onProgress?: (msg: string, done?: number, total?: number) => void;
  /**
   * Lines worth keeping on a terminal while the search runs (not transient status): one per completed
   * fit (model, params, fold scores of every candidate it scored) and one per model's best candidate.
   */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface LeaderboardRow {
  model: string;
  params: Record<string, unknown>;
  /** The metric of cv_mean, cv_std and train_mean: the search's scoring. */
  scoring: Scoring;
  cv_mean: number;
  cv_std: number;
  /** Mean over CV folds of the score on each fold's training rows, in `scoring` (like cv_mean). */
  train_mean: number;
  candidates: number;
}

/** Test metrics plus the detection rate at the configured FPR budget (scoring tpr_at_fpr). */
export interface ScoredMetrics extends BinaryMetrics {
  target_fpr: number;
  tpr_at_target_fpr: number;
}

/** binaryMetrics at `threshold`, plus the TPR at `targetFpr` (BinaryMetrics has only 1% and 0.1%). */
export function scoredMetrics(
  y: ArrayLike<number>,
  s: ArrayLike<number>,
  threshold: number,
  targetFpr: number,
): ScoredMetrics {
  return {
    ...binaryMetrics(y, s, threshold),
    target_fpr: targetFpr,
    tpr_at_target_fpr: tprAtFpr(y, s, targetFpr),
  };
}

/**
 * The value of the run's scoring on a test set: the one number the min_score gate and the champion
 * comparison use. F1 and accuracy are at the model's decision threshold; tpr_at_fpr at the configured
 * FPR budget (metrics.target_fpr), not a fixed 1%.
 */
export function scoreOf(m: ScoredMetrics, scoring: Scoring): number {
  switch (scoring) {
    case "roc_auc":
      return m.roc_auc;
    case "pr_auc":
      return m.pr_auc;
    case "tpr_at_fpr":
      return m.tpr_at_target_fpr;
    case "accuracy":
      return m.accuracy;
    default:
      return m.f1;
  }
}

/**
 * The registry's score_name for a scoring: tpr_at_fpr carries its budget (tpr_at_fpr@0.01), because
 * scores at different budgets are different metrics and must not be compared as stored.
 */
export function scoreName(scoring: Scoring, targetFpr: number): string {
  return scoring === "tpr_at_fpr" ? `tpr_at_fpr@${targetFpr}` : scoring;
}

/** Hyperparameters as `key=value` pairs for a progress line (the seed is the run's, left out). */
function compactParams(p: Record<string, unknown>, omit: readonly string[] = []): string {
  const parts = Object.entries(p)
    .filter(([k]) => k !== "randomState" && !omit.includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(" ") : "(defaults)";
}

export interface TrainResult {
  winner: string;
  params: Record<string, unknown>;
  leaderboard: LeaderboardRow[];
  searches: ModelSearchResult[];
  threshold: number;
  fitSeconds: number;
  test: ScoredMetrics;
  testAt05: BinaryMetrics;
  oof: BinaryMetrics;
  curves: { roc: { fpr: number; tpr: number }[]; pr: { recall: number; precision: number }[] };
  manifest: BundleManifest;
  bundleDir: string;
  trainCvGap: number;
  /**
   * What the fitted transformer produced and the binary targets (1 = threat) the winner was fitted and
   * tested on, for the run's data_transformation/ artifacts.
   */
  transformed: { train: Matrix; test: Matrix; yTrain: Int32Array; yTest: Int32Array };
}

/** Binary target: 1 = threat. Also the label values to output per class. */
export function binaryTarget(
  schema: DatasetSchema,
  frame: Frame,
): { y: Int32Array; classLabels: [string, string] } {
  const t = frame.column(schema.target.name);
  if (t.kind !== "categorical")
    throw new NetsecError(
      "DATA_INVALID",
      `target ${schema.target.name} must be categorical in the frame`,
      {},
    );
  const y = new Int32Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const code = t.codes[i]!;
    if (code < 0)
      throw new NetsecError("DATA_INVALID", `row ${i + 1}: the label ${schema.target.name} is missing`, {
        row: i + 1,
        column: schema.target.name,
      });
    y[i] = schema.isThreat(t.categories[code]!) ? 1 : 0;
  }
  const threatVals = schema.raw.labels.threat?.map(String);
  const benignVals = schema.raw.labels.benign?.map(String);
  const all = (schema.target.values ?? []).map(String);
  const threatLabel =
    threatVals?.length === 1
      ? threatVals[0]!
      : threatVals
        ? "threat"
        : all.filter((v) => !benignVals!.includes(v)).length === 1
          ? all.find((v) => !benignVals!.includes(v))!
          : "attack";
  const benignLabel =
    benignVals?.length === 1
      ? benignVals[0]!
      : benignVals
        ? "benign"
        : all.filter((v) => !threatVals!.includes(v)).length === 1
          ? all.find((v) => !threatVals!.includes(v))!
          : "benign";
  return { y, classLabels: [benignLabel, threatLabel] };
}

export function frameSha256(frame: Frame): string {
  const h = createHash("sha256");
  for (const c of frame.columns) {
    h.update(c.name);
    if (c.kind === "numeric")
      h.update(new Uint8Array(c.values.buffer, c.values.byteOffset, c.values.byteLength));
    else {
      h.update(new Uint8Array(c.codes.buffer, c.codes.byteOffset, c.codes.byteLength));
      h.update(c.categories.join("\u0000"));
    }
  }
  return h.digest("hex");
}

export function codeVersion(): { netsec: string; git_commit: string | null } {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  let commit: string | null = null;
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: new URL("../..", import.meta.url).pathname,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    commit = null;
  }
  return { netsec: pkg.version, git_commit: commit };
}

/** The reported binary metrics (bundle manifest, run record, test sets) as a plain record. */
export function metricsRecord(m: BinaryMetrics): Record<string, number> {
  return {
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    roc_auc: m.roc_auc,
    pr_auc: m.pr_auc,
    tpr_at_fpr_1pct: m.tpr_at_fpr_1pct,
    tpr_at_fpr_01pct: m.tpr_at_fpr_01pct,
  };
}

export async function trainAndEvaluate(o: TrainOptions): Promise<TrainResult> {
  const { schema } = o;
  const say = o.onProgress ?? (() => {});
  const { y: ytr, classLabels } = binaryTarget(schema, o.train);
  const { y: yte } = binaryTarget(schema, o.test);
  const numeric = schema.features.filter((c) => c.type !== "categorical").map((c) => c.name);
  const categorical = schema.features.filter((c) => c.type === "categorical").map((c) => c.name);
  say("transform: fitting imputer, scaler and one-hot encoder on the training rows");
  const transformer = new ColumnTransformer().fit(o.train, {
    numeric,
    categorical,
    imputer: o.imputer,
    knnNeighbors: o.knnNeighbors ?? 3,
    scale: true,
    seed: o.seed,
  });
  const Xtr = transformer.transform(o.train, true);
  const Xte = transformer.transform(o.test);
  // duplicate-aware folds: identical feature vectors never straddle train and validation
  const { groups, nGroups } = duplicateGroupsOfFrame(o.train, schema.featureNames);
  const folds = stratifiedKFold(ytr, o.cv, o.seed, nGroups < o.train.nRows ? groups : undefined);
  const candidates = o.models.flatMap((m) => {
    const spec = getModelSpec(m.name);
    const fixed = Object.fromEntries(Object.entries(m.params ?? {}).map(([k, v]) => [camelCase(k), v]));
    if (!("randomState" in fixed) && "randomState" in (spec.paramSchema.parse({}) as object))
      fixed.randomState = o.seed;
    if (o.search === "none") return [{ model: m.name, params: fixed }];
    const grid = m.grid ?? spec.defaultGrid;
    const list =
      o.search === "random" ? sampleGrid(grid, o.nIter ?? 20, o.seed, fixed) : expandGrid(grid, fixed);
    return list.map((params) => ({ model: m.name, params }));
  });
  // validate every candidate's params before spending any time
  for (const c of candidates) createModel(c.model, c.params);
  const fits = planSearch(candidates).fits.length;
  const total = fits * folds.length;
  say(
    `search: ${candidates.length} candidate(s) x ${folds.length} folds` +
      (fits < candidates.length
        ? ` in ${total} fits (candidates that differ only in n_estimators share one fit, scored at each n)`
        : ` = ${total} fits`),
    0,
    total,
  );
  const searches = await searchCV(Xtr, ytr, 2, [1], candidates, folds, {
    scoring: o.scoring,
    targetFpr: o.targetFpr,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    onProgress: (d, t) => say("search", d, t),
    ...(o.onLine ? { onFit: fitLine(o.scoring, o.onLine), onModelDone: bestLine(o.scoring, o.onLine) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const leaderboard: LeaderboardRow[] = searches
    .map((s) => ({
      model: s.model,
      params: s.best.params,
      scoring: o.scoring,
      cv_mean: s.best.cv_mean,
      cv_std: s.best.cv_std,
      train_mean: s.best.train_mean,
      candidates: s.candidates.length,
    }))
    .sort((a, b) => b.cv_mean - a.cv_mean);
  const win = searches.find((s) => s.model === leaderboard[0]!.model)!;
  const threshold =
    o.threshold.strategy === "fixed"
      ? o.threshold.value
      : chooseThreshold(ytr, win.oof, o.threshold.strategy, o.threshold.targetFpr);
  say(`refit: ${win.model} ${JSON.stringify(win.best.params)} on ${o.train.nRows} rows`);
  const model = createModel(win.model, win.best.params);
  const rep = await model.fit(Xtr, ytr, 2, {
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const s = threatScore(model.predictProba(Xte), Xte.nRows, 2, [1]);
  const test = scoredMetrics(yte, s, threshold, o.targetFpr);
  const testAt05 = binaryMetrics(yte, s, 0.5);
  const oof = binaryMetrics(ytr, win.oof, threshold);
  const pts = curve(yte, s);
  const curves = {
    roc: thin(pts).map((p) => ({ fpr: p.fpr, tpr: p.tpr })),
    pr: thin(pts.slice(1)).map((p) => ({ recall: p.tpr, precision: p.precision })),
  };
  const manifest: BundleManifest = {
    format: "netsec-bundle",
    format_version: 1,
    created: new Date().toISOString(),
    code_version: codeVersion(),
    run_id: o.runId,
    model: win.model,
    params: model.params as Record<string, unknown>,
    dataset: schema.name,
    schema: schema.raw,
    target_mode: "binary",
    classes: ["benign", "threat"],
    class_is_threat: [false, true],
    class_labels: classLabels,
    input_columns: transformer.inputColumns,
    feature_names: transformer.featureNames,
    threshold,
    threshold_strategy: o.threshold.strategy,
    metrics: {
      cv: {
        [`${o.scoring}_mean`]: win.best.cv_mean,
        [`${o.scoring}_std`]: win.best.cv_std,
        [`train_${o.scoring}_mean`]: win.best.train_mean,
      },
      test: metricsRecord(test),
      oof: metricsRecord(oof),
    },
    data: {
      train_sha256: frameSha256(o.train),
      test_sha256: frameSha256(o.test),
      train_rows: o.train.nRows,
      test_rows: o.test.nRows,
    },
    files: {
      preprocess: "preprocess.json",
      model: "model.json",
      reference_profile: "reference_profile.json",
      onnx: null,
    },
  };
  writeBundle(o.bundleDir, manifest, transformer, model, profileFrame(o.train, schema, o.seed));
  return {
    winner: win.model,
    params: model.params as Record<string, unknown>,
    leaderboard,
    searches,
    threshold,
    fitSeconds: rep.fitSeconds,
    test,
    testAt05,
    oof,
    curves,
    manifest,
    bundleDir: o.bundleDir,
    trainCvGap: win.best.train_mean - win.best.cv_mean,
    transformed: { train: Xtr, test: Xte, yTrain: ytr, yTest: yte },
  };
}

const f4 = (v: number): string => v.toFixed(4);

/** One line per completed fit: `fit 3/28 model params → scoring per candidate: fold scores (mean)`. */
function fitLine(scoring: Scoring, out: (line: string) => void): (e: FitDone) => void {
  return (e) => {
    const shared = e.candidates.length > 1;
    // a shared fit: the params once without n_estimators, then each candidate's n_estimators and scores
    const head = `fit ${e.done}/${e.total} ${e.model} ${compactParams(e.candidates[0]!.params, shared ? ["nEstimators"] : [])}`;
    const scores = e.candidates.map(
      (c) =>
        `${shared ? `nEstimators=${String(c.params.nEstimators ?? "default")}: ` : ""}${c.cv_scores.map(f4).join(" ")} (mean ${f4(c.cv_mean)})`,
    );
    out(`${head} → ${scoring} ${scores.join("; ")}`);
  };
}

/** After a model's search: its best candidate. */
function bestLine(
  scoring: Scoring,
  out: (line: string) => void,
): (e: { model: string; best: CandidateResult; candidates: number }) => void {
  return (e) =>
    out(
      `best ${e.model} (${e.candidates} candidate${e.candidates === 1 ? "" : "s"}): ${compactParams(e.best.params)} → CV ${scoring} ${f4(e.best.cv_mean)} ± ${f4(e.best.cv_std)}, train ${f4(e.best.train_mean)}`,
    );
}
