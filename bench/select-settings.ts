/**
 * Which of netsec's models and settings reach issue 15's phishing target at all (lane M4): on the
 * duplicate-aware split of each seed (as `netsec train` with `seed: <s>` makes it), every setting
 * below is scored by duplicate-aware stratified k-fold CV on the training rows (what selection sees;
 * each `--folds` value), refitted on all of them and tested once: F1 at 0.5 (as the peers) and at the
 * threshold the pipeline would choose on the out-of-fold scores (max F1). Soft votes average their
 * members' probabilities (out of fold and on the test rows), as the pipeline's soft_voting does.
 * XGBoost (hist) and LightGBM at their defaults with 100 trees run on the same rows in the same run
 * (bench/select_peers.py). Lane Q3 added: settings with min_child_weight (XGBoost's 1), the threshold of
 * the one-standard-error rule (bench/threshold-rule.ts, on the first `--folds` value's folds)
 * and accuracy at each threshold, `--match=<regex>` (the settings whose names match; votes need their
 * members) and `--dataset=nsl-kdd`: KDDTrain+ → KDDTest+ one-hot as the pipeline's transformer makes
 * it, hist_gradient_boosting on native categoricals (the pipeline's default), one split whatever the
 * seed (the seed draws the folds and the models' random_state), no peers.
 *
 *   npx node bench/select-settings.ts [--dataset=phishing] [--seeds=42,0,1,2,3,4,5,6,7,8,9] [--folds=3,5]
 *     [--match=<regex>] [--out=<file>]
 * Prints one JSON line per seed and writes them to bench/results/select-settings-<dataset>.json (or --out).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Matrix, SHARED_BATCH_MIN_ROWS } from "../src/core/frame.ts";
import { closePool } from "../src/core/pool.ts";
import { duplicateAwareSplit } from "../src/datasets/split.ts";
import { createModel } from "../src/models/registry.ts";
import { threatScore } from "../src/selection/cv-task.ts";
import { stratifiedKFold } from "../src/selection/kfold.ts";
import { binaryMetrics, chooseThreshold, f1Score } from "../src/selection/metrics.ts";
import { searchCV } from "../src/selection/search.ts";
import { numericCsv, subset, type XY } from "../test/helpers/data.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";
import { writePeerRows } from "./peer-rows.ts";
import { oneSeThreshold } from "./threshold-rule.ts";

const ROOT = resolve(import.meta.dirname, "..");
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const seeds = (arg("seeds") ?? "42,0,1,2,3,4,5,6,7,8,9").split(",").map(Number);
const foldCounts = (arg("folds") ?? "3,5").split(",").map(Number);
const dataset = arg("dataset") ?? "phishing";
const match = new RegExp(arg("match") ?? ".");

/** XGBoost's defaults in scikit-learn's names: depth-wise depth 6, no leaf cap, lr 0.3, lambda 1. */
const HGB_XGB = {
  max_iter: 100,
  max_leaf_nodes: null,
  max_depth: 6,
  learning_rate: 0.3,
  l2_regularization: 1,
  min_samples_leaf: 1,
  early_stopping: false,
};
const SETTINGS: Record<string, { model: string; params: Record<string, unknown> }> = {
  "hgb 31 leaves lr 0.1 (scikit-learn's defaults, 100 iter)": {
    model: "hist_gradient_boosting",
    params: { max_iter: 100, early_stopping: false },
  },
  "hgb XGBoost-like (depth 6, lr 0.3, l2 1, min leaf 1, 100 iter)": {
    model: "hist_gradient_boosting",
    params: HGB_XGB,
  },
  "hgb XGBoost-like, early-stopped (max 500 iter)": {
    model: "hist_gradient_boosting",
    params: { ...HGB_XGB, max_iter: 500, early_stopping: true, n_iter_no_change: 10 },
  },
  "hgb depth 6, lr 0.1, l2 1, min leaf 1, 300 iter": {
    model: "hist_gradient_boosting",
    params: { ...HGB_XGB, learning_rate: 0.1, max_iter: 300 },
  },
  "hgb XGBoost-like, min_child_weight 1 (100 iter)": {
    model: "hist_gradient_boosting",
    params: { ...HGB_XGB, min_child_weight: 1 },
  },
  "hgb XGBoost-like, min_child_weight 1, early-stopped (max 500 iter)": {
    model: "hist_gradient_boosting",
    params: { ...HGB_XGB, min_child_weight: 1, max_iter: 500, early_stopping: true, n_iter_no_change: 10 },
  },
  "hgb depth 6, lr 0.1, l2 1, min_child_weight 1, 300 iter": {
    model: "hist_gradient_boosting",
    params: { ...HGB_XGB, min_child_weight: 1, learning_rate: 0.1, max_iter: 300 },
  },
  "rf 150 sqrt": { model: "random_forest", params: { n_estimators: 150 } },
  "rf 150 log2": { model: "random_forest", params: { n_estimators: 150, max_features: "log2" } },
  "rf 150 0.35": { model: "random_forest", params: { n_estimators: 150, max_features: 0.35 } },
  "rf 150 0.5": { model: "random_forest", params: { n_estimators: 150, max_features: 0.5 } },
  "rf 150 sqrt entropy": { model: "random_forest", params: { n_estimators: 150, criterion: "entropy" } },
};
const VOTES: Record<string, string[]> = {
  "vote hgb XGBoost-like + rf sqrt": [
    "hgb XGBoost-like (depth 6, lr 0.3, l2 1, min leaf 1, 100 iter)",
    "rf 150 sqrt",
  ],
  "vote hgb XGBoost-like min_child_weight 1 + rf sqrt": [
    "hgb XGBoost-like, min_child_weight 1 (100 iter)",
    "rf 150 sqrt",
  ],
  "vote hgb 31 leaves + rf sqrt": ["hgb 31 leaves lr 0.1 (scikit-learn's defaults, 100 iter)", "rf 150 sqrt"],
  "vote hgb XGBoost-like + rf sqrt + rf 0.35": [
    "hgb XGBoost-like (depth 6, lr 0.3, l2 1, min leaf 1, 100 iter)",
    "rf 150 sqrt",
    "rf 150 0.35",
  ],
};

function duplicateGroups(d: { X: Matrix }): { groups: Int32Array; nGroups: number } {
  const n = d.X.nRows;
  const ids = new Map<string, number>();
  const groups = new Int32Array(n);
  const row = new Array<number>(d.X.nCols);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d.X.nCols; c++) row[c] = d.X.data[c * n + r]!;
    const k = row.join(",");
    let g = ids.get(k);
    if (g === undefined) ids.set(k, (g = ids.size));
    groups[r] = g;
  }
  return { groups, nGroups: ids.size };
}

function peers(tr: XY, te: XY): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), "netsec-bench-select-"));
  try {
    writePeerRows(dir, tr, te);
    return JSON.parse(
      execFileSync(join(ROOT, ".venv/bin/python"), [join(ROOT, "bench/select_peers.py"), dir], {
        encoding: "utf8",
      }),
    ) as Record<string, number>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One seed's train/test rows, their duplicate groups, and the HGB params the pipeline adds. */
interface Split {
  tr: XY;
  te: XY;
  trGroups: Int32Array;
  hgbExtra: Record<string, unknown>;
}

async function nslKdd(): Promise<Split> {
  const { Xtr, ytr, Xte, yte, categorical } = await loadNslKddOneHot();
  const tr = { X: Xtr, y: ytr };
  const te = { X: Xte, y: yte };
  const { groups, nGroups } = duplicateGroups(tr);
  return {
    tr,
    te,
    trGroups: nGroups < tr.X.nRows ? groups : new Int32Array(0),
    hgbExtra: { categorical_features: categorical },
  };
}

const d =
  dataset === "phishing" ? numericCsv(join(MIRROR, "phishing/phisingData.csv"), "Result", "-1") : null;
const dGroups = d ? duplicateGroups(d) : null;
const kdd = dataset === "nsl-kdd" ? await nslKdd() : null;
function splitOf(seed: number): Split {
  if (kdd) return kdd;
  const sp = duplicateAwareSplit(d!.y, dGroups!.groups, dGroups!.nGroups, 0.2, seed);
  return {
    tr: subset(d!, sp.train),
    te: subset(d!, sp.test, sp.test.length >= SHARED_BATCH_MIN_ROWS),
    trGroups: Int32Array.from(sp.train, (r) => dGroups!.groups[r]!),
    hgbExtra: {},
  };
}
const out: unknown[] = [];
const load0 = loadavg()[0]!;
for (const seed of seeds) {
  const { tr, te, trGroups, hgbExtra } = splitOf(seed);
  const names = Object.keys(SETTINGS).filter((n) => match.test(n));
  const votes = Object.entries(VOTES).filter(([v, m]) => match.test(v) && m.every((x) => names.includes(x)));
  const cands = names.map((n) => ({
    ...SETTINGS[n]!,
    params: {
      ...SETTINGS[n]!.params,
      ...(SETTINGS[n]!.model === "hist_gradient_boosting" ? hgbExtra : {}),
      random_state: seed,
    },
  }));
  const cv: Record<string, Record<string, { mean: number; scores: number[] }>> = {};
  const oof: Record<string, Float64Array> = {};
  let ruleFolds: ReturnType<typeof stratifiedKFold> = [];
  for (const k of foldCounts) {
    const folds = stratifiedKFold(tr.y, k, seed, trGroups.length ? trGroups : undefined);
    if (k === foldCounts[0]) ruleFolds = folds;
    const oofK: Record<string, Float64Array> = {};
    // one candidate a call: searchCV returns each model's best only
    for (const [i, c] of cands.entries()) {
      const [r] = await searchCV(tr.X, tr.y, 2, [1], [c], folds, { scoring: "f1", targetFpr: 0.01 });
      (cv[names[i]!] ??= {})[`cv${k}`] = { mean: r!.best.cv_mean, scores: r!.best.cv_scores };
      oofK[names[i]!] = r!.oof;
      if (k === foldCounts[0]) oof[names[i]!] = r!.oof;
    }
    for (const [v, members] of votes) {
      // the vote's CV: its members' out-of-fold scores at this k averaged, scored fold by fold
      const mo = members.map((m) => oofK[m]!);
      const avg = Float64Array.from(tr.y, (_, i) => mo.reduce((a, o) => a + o[i]!, 0) / mo.length);
      const scores = folds.map((f) =>
        f1Score(
          Int32Array.from(f.test, (r) => tr.y[r]!),
          Float64Array.from(f.test, (r) => avg[r]!),
        ),
      );
      (cv[v] ??= {})[`cv${k}`] = { mean: scores.reduce((a, b) => a + b, 0) / k, scores };
      if (k === foldCounts[0]) oof[v] = avg;
    }
  }
  const testScore: Record<string, Float64Array> = {};
  for (const [i, c] of cands.entries()) {
    const m = createModel(c.model, c.params);
    await m.fit(tr.X, tr.y, 2, { threads: 2 });
    testScore[names[i]!] = threatScore(m.predictProba(te.X), te.X.nRows, 2, [1]);
  }
  for (const [v, members] of votes)
    testScore[v] = Float64Array.from(
      te.y,
      (_, i) => members.reduce((a, m) => a + testScore[m]![i]!, 0) / members.length,
    );
  const row: Record<string, unknown> = { seed, ...(d ? { peers: peers(tr, te) } : {}) };
  for (const s of Object.keys(testScore)) {
    const t = chooseThreshold(tr.y, oof[s]!, "max_f1");
    const rule = oneSeThreshold(tr.y, oof[s]!, ruleFolds, t);
    const at = (x: number) => binaryMetrics(te.y, testScore[s]!, x);
    row[s] = {
      ...cv[s],
      test_f1_at_0_5: at(0.5).f1,
      test_f1_at_cv_threshold: at(t).f1,
      test_f1_at_rule_threshold: at(rule.threshold).f1,
      test_accuracy_at_0_5: at(0.5).accuracy,
      test_accuracy_at_cv_threshold: at(t).accuracy,
      test_accuracy_at_rule_threshold: at(rule.threshold).accuracy,
      cv_threshold: t,
      rule,
    };
  }
  out.push(row);
  console.log(JSON.stringify(row));
}
await closePool();
writeFileSync(
  arg("out") ?? join(ROOT, `bench/results/select-settings-${dataset}.json`),
  `${JSON.stringify({ load_average_1min: [load0, loadavg()[0]], date: new Date().toISOString(), rows: out }, null, 1)}\n`,
);
