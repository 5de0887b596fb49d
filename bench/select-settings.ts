/**
 * Which of netsec's models and settings reach issue 15's phishing target at all (lane M4): on the
 * duplicate-aware split of each seed (as `netsec train` with `seed: <s>` makes it), every setting
 * below is scored by duplicate-aware stratified k-fold CV on the training rows (what selection sees;
 * each `--folds` value), refitted on all of them and tested once: F1 at 0.5 (as the peers) and at the
 * threshold the pipeline would choose on the out-of-fold scores (max F1). Soft votes average their
 * members' probabilities (out of fold and on the test rows), as the pipeline's soft_voting does.
 * XGBoost (hist) and LightGBM at their defaults with 100 trees run on the same rows in the same run
 * (bench/select_peers.py).
 *
 *   npx node bench/select-settings.ts [--seeds=42,0,1,2,3,4,5,6,7,8,9] [--folds=3,5]
 * Prints one JSON line per seed and writes them to bench/results/select-settings-phishing.json.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SHARED_BATCH_MIN_ROWS } from "../src/core/frame.ts";
import { closePool } from "../src/core/pool.ts";
import { duplicateAwareSplit } from "../src/datasets/split.ts";
import { createModel } from "../src/models/registry.ts";
import { threatScore } from "../src/selection/cv-task.ts";
import { stratifiedKFold } from "../src/selection/kfold.ts";
import { binaryMetrics, chooseThreshold, f1Score } from "../src/selection/metrics.ts";
import { searchCV } from "../src/selection/search.ts";
import { numericCsv, subset, type XY } from "../test/helpers/data.ts";
import { writePeerRows } from "./peer-rows.ts";

const ROOT = resolve(import.meta.dirname, "..");
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const seeds = (arg("seeds") ?? "42,0,1,2,3,4,5,6,7,8,9").split(",").map(Number);
const foldCounts = (arg("folds") ?? "3,5").split(",").map(Number);

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
  "vote hgb 31 leaves + rf sqrt": ["hgb 31 leaves lr 0.1 (scikit-learn's defaults, 100 iter)", "rf 150 sqrt"],
  "vote hgb XGBoost-like + rf sqrt + rf 0.35": [
    "hgb XGBoost-like (depth 6, lr 0.3, l2 1, min leaf 1, 100 iter)",
    "rf 150 sqrt",
    "rf 150 0.35",
  ],
};

function duplicateGroups(d: XY): { groups: Int32Array; nGroups: number } {
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

const d = numericCsv(join(MIRROR, "phishing/phisingData.csv"), "Result", "-1");
const { groups, nGroups } = duplicateGroups(d);
const out: unknown[] = [];
const load0 = loadavg()[0]!;
for (const seed of seeds) {
  const sp = duplicateAwareSplit(d.y, groups, nGroups, 0.2, seed);
  const tr = subset(d, sp.train);
  const te = subset(d, sp.test, sp.test.length >= SHARED_BATCH_MIN_ROWS);
  const trGroups = Int32Array.from(sp.train, (r) => groups[r]!);
  const names = Object.keys(SETTINGS);
  const cands = names.map((n) => ({
    ...SETTINGS[n]!,
    params: { ...SETTINGS[n]!.params, random_state: seed },
  }));
  const cv: Record<string, Record<string, { mean: number; scores: number[] }>> = {};
  const oof: Record<string, Float64Array> = {};
  for (const k of foldCounts) {
    const folds = stratifiedKFold(tr.y, k, seed, trGroups);
    const oofK: Record<string, Float64Array> = {};
    // one candidate a call: searchCV returns each model's best only
    for (const [i, c] of cands.entries()) {
      const [r] = await searchCV(tr.X, tr.y, 2, [1], [c], folds, { scoring: "f1", targetFpr: 0.01 });
      (cv[names[i]!] ??= {})[`cv${k}`] = { mean: r!.best.cv_mean, scores: r!.best.cv_scores };
      oofK[names[i]!] = r!.oof;
      if (k === foldCounts[0]) oof[names[i]!] = r!.oof;
    }
    for (const [v, members] of Object.entries(VOTES)) {
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
  for (const [v, members] of Object.entries(VOTES))
    testScore[v] = Float64Array.from(
      te.y,
      (_, i) => members.reduce((a, m) => a + testScore[m]![i]!, 0) / members.length,
    );
  const row: Record<string, unknown> = { seed, peers: peers(tr, te) };
  for (const s of Object.keys(testScore)) {
    const t = chooseThreshold(tr.y, oof[s]!, "max_f1");
    row[s] = {
      ...cv[s],
      test_f1_at_0_5: binaryMetrics(te.y, testScore[s]!, 0.5).f1,
      test_f1_at_cv_threshold: binaryMetrics(te.y, testScore[s]!, t).f1,
      cv_threshold: t,
    };
  }
  out.push(row);
  console.log(JSON.stringify(row));
}
await closePool();
writeFileSync(
  join(ROOT, "bench/results/select-settings-phishing.json"),
  `${JSON.stringify({ load_average_1min: [load0, loadavg()[0]], date: new Date().toISOString(), rows: out }, null, 1)}\n`,
);
