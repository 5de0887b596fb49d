/**
 * What the training steps share (steps/transform, tune, evaluate, bundle, register): the target's
 * classes and their encoding, how a model's scores are evaluated and reduced to the run's one score,
 * the training data's digest and the search's progress lines.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { decideClasses } from "../bundle/bundle.ts";
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { snakeCase } from "../models/params.ts";
import { getModelSpec } from "../models/registry.ts";
import {
  type BinaryMetrics,
  binaryMetrics,
  type MulticlassMetrics,
  multiclassMetrics,
  tprAtFpr,
} from "../selection/metrics.ts";
import type { CandidateResult, FitDone, Scoring } from "../selection/search.ts";

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
  /**
   * Search kind halving: how the model's candidates were raced (rungs, rows) and whether the time
   * budget stopped launching candidates.
   */
  search?: string;
  /**
   * A single candidate scored out of bag, CV skipped (steps/tune-oob.ts): cv_mean is its out-of-bag
   * score, train_mean the whole model's on its training rows.
   */
  out_of_bag?: true;
}

/** Test metrics plus the detection rate at the configured FPR budget (scoring tpr_at_fpr). */
export interface ScoredMetrics extends BinaryMetrics {
  target_fpr: number;
  tpr_at_target_fpr: number;
  /**
   * Macro F1 over the target's classes of the predicted class (PerClassReport.macro.f1); set when
   * the target is multiclass or the scoring is f1_macro.
   */
  f1_macro?: number;
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
    case "f1_macro":
      if (m.f1_macro === undefined) throw new TypeError("f1_macro was not computed for these metrics");
      return m.f1_macro;
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
    .filter(([k]) => k !== "random_state" && !omit.includes(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(" ") : "(defaults)";
}

/**
 * What `netsec train` predicts:
 * - binary: threat vs benign (the schema's labels.threat / labels.benign);
 * - category: the label's category from the schema's map (labels.categories; NSL-KDD: normal, dos,
 *   probe, r2l, u2r);
 * - label: the raw label values (NSL-KDD: normal and each attack name).
 * Multiclass targets still have a threat probability (Σ of the threat classes' probabilities) and a
 * threshold on it: the threat metrics, gates and champion comparison stay those of threat vs benign.
 */
export type TargetMode = "binary" | "category" | "label";

/** The classes of a target, in index order. */
export interface ClassSpace {
  mode: TargetMode;
  /** Class names (binary: "benign", "threat"; multiclass: the class values, sorted). */
  classes: string[];
  /** The label each class outputs (binary: the dataset's own benign and threat values). */
  classLabels: string[];
  classIsThreat: boolean[];
}

/** A frame's target under a ClassSpace. */
export interface EncodedTarget {
  /** Class index per row; -1 when the row's class is not one of the space's (unseen in training). */
  y: Int32Array;
  /** 1 when the row's label is a threat (the schema's threat/benign lists), whatever its class. */
  threat: Int32Array;
  /** The row's class value (category or raw label; binary: "benign" / "threat"). */
  values: string[];
}

/** Where a frame row came from, for messages (the record store keeps each row's file and row). */
export type RowOrigin = (row: number) => { file?: string; row: number };

/** Per-class test metrics of a multiclass model, with the rows whose class it never saw. */
export interface PerClassReport extends MulticlassMetrics {
  target: TargetMode;
  class_is_threat: boolean[];
  /** How the predicted class is chosen (the bundle's rule). */
  decision: string;
  rows: number;
  /**
   * Test rows whose class is not a training class (NSL-KDD's KDDTest+ holds 17 attack names that
   * KDDTrain+ lacks): no support in the table, counted on their side in the threat metrics.
   */
  unseen: {
    rows: number;
    /** Of those, rows whose label is a threat, and how many of them were flagged as threats. */
    threats: number;
    threats_flagged: number;
    /** Count per unseen class value, and what they were predicted as. */
    classes: Record<string, number>;
    predicted: Record<string, number>;
  };
}

const DECISION_RULE =
  "the threshold on P(threat) decides threat vs benign, then the most probable class of that side";

/** Each row's label (the target column's value); a missing one is DATA_INVALID naming the row. */
function labelsOf(schema: DatasetSchema, frame: Frame, origin?: RowOrigin): string[] {
  const t = frame.column(schema.target.name);
  if (t.kind !== "categorical")
    throw new NetsecError(
      "DATA_INVALID",
      `target ${schema.target.name} must be categorical in the frame`,
      {},
    );
  const out: string[] = new Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const code = t.codes[i]!;
    if (code < 0) {
      const o = origin?.(i) ?? { row: i + 1 };
      throw new NetsecError(
        "DATA_INVALID",
        `${o.file ? `${o.file}: ` : ""}row ${o.row}: the label ${schema.target.name} is missing`,
        { ...(o.file ? { file: o.file } : {}), row: o.row, column: schema.target.name },
      );
    }
    out[i] = t.categories[code]!;
  }
  return out;
}

/**
 * Each row's class value under a multiclass mode: the raw label, or its category (from the
 * schema's label → category map, or from its category column). A label the map lacks, or a row
 * whose category column is empty, is DATA_INVALID naming the row (file and row when `origin` says)
 * and the value: guessing a category would train on a class nobody chose.
 */
export function classValues(
  schema: DatasetSchema,
  frame: Frame,
  mode: Exclude<TargetMode, "binary">,
  origin?: RowOrigin,
): string[] {
  const map = schema.raw.labels.categories;
  const catColumn = schema.raw.labels.category_column;
  if (mode === "category" && !map && catColumn === undefined) throw noCategories(schema);
  const labels = labelsOf(schema, frame, origin);
  if (mode === "label") return labels;
  if (catColumn !== undefined) return categoriesOfColumn(frame, catColumn, origin);
  const out: string[] = new Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const label = labels[i]!;
    const c = map![label];
    if (c === undefined) {
      const o = origin?.(i) ?? { row: i + 1 };
      throw new NetsecError(
        "DATA_INVALID",
        `${o.file ? `${o.file}: ` : ""}row ${o.row}: label ${JSON.stringify(label)} has no category in schema ${schema.name} (labels.categories); add it to the map or train with target binary or label`,
        { ...(o.file ? { file: o.file } : {}), row: o.row, column: schema.target.name, value: label },
      );
    }
    out[i] = c;
  }
  return out;
}

/** The refusal of target category by a schema with neither a category map nor a category column. */
export function noCategories(schema: DatasetSchema): NetsecError {
  return new NetsecError(
    "CONFIG_INVALID",
    `target category needs a label → category map (labels.categories) in schema ${schema.name} (${schema.source}), or a category column (labels.category_column)`,
    { file: schema.source, key: "target" },
  );
}

/** Each row's value of the category column (UNSW-NB15's attack_cat); a missing one names the row. */
function categoriesOfColumn(frame: Frame, name: string, origin?: RowOrigin): string[] {
  const out: string[] = new Array(frame.nRows);
  for (let i = 0; i < frame.nRows; i++) {
    const v = frame.has(name) ? frame.value(i, name) : null;
    if (v === null) {
      const o = origin?.(i) ?? { row: i + 1 };
      throw new NetsecError(
        "DATA_INVALID",
        `${o.file ? `${o.file}: ` : ""}row ${o.row}: the category column ${name} (labels.category_column) is missing`,
        { ...(o.file ? { file: o.file } : {}), row: o.row, column: name },
      );
    }
    out[i] = String(v);
  }
  return out;
}

/**
 * The side of a class: a label's own (schema.isThreat); a category's is that of the labels the
 * schema maps to it — or, with a category column, of the labels of the training rows in it — which
 * must agree: a category holding both benign and threat labels has no side, and P(threat) could not
 * be summed from classes.
 */
function classSide(
  schema: DatasetSchema,
  mode: Exclude<TargetMode, "binary">,
  value: string,
  rowLabels: ReadonlyMap<string, ReadonlySet<string>>,
): boolean {
  if (mode === "label") return schema.isThreat(value);
  const labels =
    schema.raw.labels.category_column !== undefined
      ? [...(rowLabels.get(value) ?? [])]
      : Object.entries(schema.raw.labels.categories ?? {})
          .filter(([, c]) => c === value)
          .map(([l]) => l);
  const threat = labels.filter((l) => schema.isThreat(l));
  const benign = labels.filter((l) => !schema.isThreat(l));
  if (threat.length && benign.length)
    throw new NetsecError(
      "SCHEMA_INVALID",
      `schema ${schema.name}: category ${JSON.stringify(value)} holds benign label ${JSON.stringify(benign[0])} and threat label ${JSON.stringify(threat[0])}; target category needs every category on one side`,
      { file: schema.source, value },
    );
  return threat.length > 0;
}

/**
 * The classes of a target from the training rows: binary as binaryTarget; multiclass: the distinct
 * class values, sorted (code-unit order, as scikit-learn's LabelEncoder), each marked threat or
 * benign. Both sides must be present: P(threat), the threshold and the threat metrics need them.
 */
export function classSpace(
  schema: DatasetSchema,
  train: Frame,
  mode: TargetMode,
  origin?: RowOrigin,
): ClassSpace {
  if (mode === "binary")
    return {
      mode,
      classes: ["benign", "threat"],
      classLabels: binaryClassLabels(schema),
      classIsThreat: [false, true],
    };
  const perRow = classValues(schema, train, mode, origin);
  const values = [...new Set(perRow)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // the labels seen with each class value (a category column's side comes from its rows)
  const rowLabels = new Map<string, Set<string>>();
  if (mode === "category" && schema.raw.labels.category_column !== undefined) {
    const labels = labelsOf(schema, train, origin);
    for (let i = 0; i < perRow.length; i++) {
      let set = rowLabels.get(perRow[i]!);
      if (!set) rowLabels.set(perRow[i]!, (set = new Set()));
      set.add(labels[i]!);
    }
  }
  const isThreat = values.map((v) => classSide(schema, mode, v, rowLabels));
  if (!isThreat.includes(true) || !isThreat.includes(false))
    throw new NetsecError(
      "DATA_INVALID",
      `target ${mode}: the training rows hold only ${isThreat.includes(true) ? "threat" : "benign"} classes (${values.join(", ")}); the threat probability and its threshold need a benign and a threat class`,
      { column: schema.target.name },
    );
  return { mode, classes: values, classLabels: [...values], classIsThreat: isThreat };
}

/** A frame's target under a class space (rows of a class the space lacks get -1, see EncodedTarget). */
export function encodeTarget(
  schema: DatasetSchema,
  frame: Frame,
  space: ClassSpace,
  origin?: RowOrigin,
): EncodedTarget {
  const threat = threatTarget(schema, frame, origin);
  if (space.mode === "binary")
    return { y: threat, threat, values: Array.from(threat, (t) => (t ? "threat" : "benign")) };
  const values = classValues(schema, frame, space.mode, origin);
  const index = new Map(space.classes.map((c, i) => [c, i]));
  return { y: Int32Array.from(values, (v) => index.get(v) ?? -1), threat, values };
}

/** 1 where the row's label is a threat (the schema's lists), for any target. */
export function threatTarget(schema: DatasetSchema, frame: Frame, origin?: RowOrigin): Int32Array {
  return Int32Array.from(labelsOf(schema, frame, origin), (l) => (schema.isThreat(l) ? 1 : 0));
}

/**
 * A model's scores on a labelled frame evaluated under its class space: the threat metrics (at the
 * model's threshold; TPR at `targetFpr`) and, for multiclass targets (or when `withClasses`), the
 * per-class report of the classes the model outputs (decideClasses). f1_macro is the report's macro
 * F1. Used for the winner's test split and to re-score a champion.
 */
export function evaluateScores(
  target: EncodedTarget,
  space: ClassSpace,
  scores: { proba: Float64Array; threat: Float64Array },
  threshold: number,
  targetFpr: number,
  withClasses = false,
): { metrics: ScoredMetrics; perClass: PerClassReport | null } {
  const metrics = scoredMetrics(target.threat, scores.threat, threshold, targetFpr);
  if (space.mode === "binary" && !withClasses) return { metrics, perClass: null };
  const n = target.y.length;
  const pred = decideClasses(scores.proba, scores.threat, n, space.classIsThreat, threshold);
  const unseen: PerClassReport["unseen"] = {
    rows: 0,
    threats: 0,
    threats_flagged: 0,
    classes: {},
    predicted: {},
  };
  for (let i = 0; i < n; i++) {
    if (target.y[i]! >= 0) continue;
    unseen.rows++;
    const v = target.values[i]!;
    const p = space.classes[pred[i]!]!;
    unseen.classes[v] = (unseen.classes[v] ?? 0) + 1;
    unseen.predicted[p] = (unseen.predicted[p] ?? 0) + 1;
    if (target.threat[i]) {
      unseen.threats++;
      if (space.classIsThreat[pred[i]!]) unseen.threats_flagged++;
    }
  }
  const report: PerClassReport = {
    target: space.mode,
    class_is_threat: [...space.classIsThreat],
    decision: DECISION_RULE,
    rows: n,
    ...multiclassMetrics(target.y, pred, space.classes),
    unseen,
  };
  return { metrics: { ...metrics, f1_macro: report.macro.f1 }, perClass: report };
}

/** Binary target: 1 = threat. Also the label values to output per class. */
export function binaryTarget(
  schema: DatasetSchema,
  frame: Frame,
): { y: Int32Array; classLabels: [string, string] } {
  return { y: threatTarget(schema, frame), classLabels: binaryClassLabels(schema) };
}

/**
 * The labels a binary model outputs for benign and threat: the dataset's own value when one side has
 * a single one (phishing: "1" and "-1"), else "benign" / "threat" (or "attack").
 */
function binaryClassLabels(schema: DatasetSchema): [string, string] {
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
  return [benignLabel, threatLabel];
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

/**
 * The reported threat metrics (bundle manifest, run record, test sets) as a plain record, plus
 * f1_macro when it was computed (multiclass targets, scoring f1_macro).
 */
export function metricsRecord(m: BinaryMetrics & { f1_macro?: number }): Record<string, number> {
  return {
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    roc_auc: m.roc_auc,
    pr_auc: m.pr_auc,
    tpr_at_fpr_1pct: m.tpr_at_fpr_1pct,
    tpr_at_fpr_01pct: m.tpr_at_fpr_01pct,
    ...(m.f1_macro !== undefined ? { f1_macro: m.f1_macro } : {}),
  };
}

const f4 = (v: number): string => v.toFixed(4);

/** One line per completed fit: `fit 3/28 model params → scoring per candidate: fold scores (mean)`. */
export function fitLine(scoring: Scoring, out: (line: string) => void): (e: FitDone) => void {
  return (e) => {
    const shared = e.candidates.length > 1;
    // a shared fit: the params once without the staged one (n_estimators, or max_iter), then each
    // candidate's value of it and scores
    const stage = snakeCase(getModelSpec(e.model).stageParam ?? "nEstimators");
    const head = `fit ${e.done}/${e.total} ${e.model} ${compactParams(e.candidates[0]!.params, shared ? [stage] : [])}`;
    const scores = e.candidates.map(
      (c) =>
        `${shared ? `${stage}=${String(c.params[stage] ?? "default")}: ` : ""}${c.cv_scores.map(f4).join(" ")} (mean ${f4(c.cv_mean)})`,
    );
    out(`${head} → ${scoring} ${scores.join("; ")}`);
  };
}

/** After a model's search: its best candidate. */
export function bestLine(
  scoring: Scoring,
  out: (line: string) => void,
): (e: { model: string; best: CandidateResult; candidates: number }) => void {
  return (e) =>
    out(
      `best ${e.model} (${e.candidates} candidate${e.candidates === 1 ? "" : "s"}): ${compactParams(e.best.params)} → CV ${scoring} ${f4(e.best.cv_mean)} ± ${f4(e.best.cv_std)}, train ${f4(e.best.train_mean)}`,
    );
}
