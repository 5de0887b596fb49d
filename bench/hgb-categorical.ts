/**
 * Native categorical splits vs one-hot (issue 15) on NSL-KDD (KDDTrain+ → KDDTest+; protocol_type,
 * service and flag, 3 / 70 / 11 categories), hist_gradient_boosting at the issue's settings (100
 * iterations, 31 leaves, learning rate 0.1, 255 bins, no early stopping), threat = positive class,
 * threshold 0.5:
 * - netsec one-hot: `categorical_features: null` on the transformer's 122 columns;
 * - netsec native: `categorical_features: ["protocol_type", "service", "flag"]` on the same matrix (the
 *   pipeline's default: the model reads each one-hot block back as one category feature);
 * - scikit-learn's HistGradientBoostingClassifier (2 threads) on the same rows both ways: the one-hot
 *   matrix, and the 38 numeric columns plus the three category codes with categorical_features.
 * Each netsec fit runs twice (alternating one-hot and native), the faster kept; predict throughput is
 * the fastest of repeated predictProba calls over the test rows for at least 1 s.
 *
 *   npx node bench/hgb-categorical.ts [--no-sklearn]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Matrix } from "../src/core/frame.ts";
import { treeMatrix } from "../src/models/hgb/categorical-inputs.ts";
import type { HistGradientBoostingClassifier } from "../src/models/hist-gradient-boosting.ts";
import { createModel } from "../src/models/registry.ts";
import { threatScore } from "../src/selection/cv-task.ts";
import { binaryMetrics } from "../src/selection/metrics.ts";
import { ISSUE_HGB_PARAMS } from "./hgb-issue-params.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PARAMS = ISSUE_HGB_PARAMS;

const { Xtr, ytr, Xte, yte, categorical } = await loadNslKddOneHot();

interface Row {
  fit_s: number;
  predict_rows_s: number;
  accuracy: number;
  f1: number;
  roc_auc: number;
  category_splits?: number;
}

async function fitModel(cf: string[] | null): Promise<{ m: HistGradientBoostingClassifier; s: number }> {
  const m = createModel("hist_gradient_boosting", {
    ...PARAMS,
    categorical_features: cf,
  }) as HistGradientBoostingClassifier;
  const t0 = performance.now();
  await m.fit(Xtr, ytr, 2);
  return { m, s: (performance.now() - t0) / 1000 };
}

function score(m: HistGradientBoostingClassifier, fitS: number): Row {
  let best = Number.POSITIVE_INFINITY;
  let sc: Float64Array = new Float64Array(0);
  const until = performance.now() + 1000;
  for (let i = 0; i < 3 || performance.now() < until; i++) {
    const t0 = performance.now();
    sc = threatScore(m.predictProba(Xte), Xte.nRows, 2, [1]);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  const met = binaryMetrics(yte, sc, 0.5);
  let splits = 0;
  for (const tr of m.trees) for (const c of tr.categorical?.node ?? []) if (c >= 0) splits++;
  return {
    fit_s: fitS,
    predict_rows_s: Xte.nRows / best,
    accuracy: met.accuracy,
    f1: met.f1,
    roc_auc: met.roc_auc,
    category_splits: splits,
  };
}

const load = loadavg()[0]!;
const fits: Record<string, { m: HistGradientBoostingClassifier; s: number }> = {};
for (let round = 0; round < 2; round++)
  for (const [name, cf] of [
    ["one-hot", null],
    ["native", categorical],
  ] as const) {
    const f = await fitModel(cf as string[] | null);
    process.stderr.write(`  netsec ${name}: fit ${f.s.toFixed(2)} s\n`);
    if (!fits[name] || f.s < fits[name].s) fits[name] = f;
  }
const out: Record<string, Row> = {};
for (const name of ["one-hot", "native"]) out[`netsec ${name}`] = score(fits[name]!.m, fits[name]!.s);

if (!process.argv.includes("--no-sklearn")) {
  const native = fits.native!.m;
  const dir = mkdtempSync(join(tmpdir(), "netsec-hgbcat-"));
  try {
    const put = (name: string, a: Float64Array | Int32Array) =>
      writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    const codes = (X: Matrix) => treeMatrix(native.inputs, X);
    const Ttr = codes(Xtr);
    put("Xtr.f64", Xtr.data);
    put("Xte.f64", Xte.data);
    put("Ttr.f64", Ttr.data);
    put("Tte.f64", codes(Xte).data);
    put("ytr.i32", ytr);
    put("yte.i32", yte);
    const py = `
import json, sys, time, numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
d = sys.argv[1]; ntr, nte, p, q = ${Xtr.nRows}, ${Xte.nRows}, ${Xtr.nCols}, ${Ttr.nCols}
ld = lambda n, r, c: np.fromfile(f"{d}/{n}", dtype=np.float64).reshape(c, r).T.copy()
ytr = np.fromfile(f"{d}/ytr.i32", dtype=np.int32); yte = np.fromfile(f"{d}/yte.i32", dtype=np.int32)
out = {}
for name, Xa, Xb, cf in (("one-hot", ld("Xtr.f64", ntr, p), ld("Xte.f64", nte, p), None),
                         ("native", ld("Ttr.f64", ntr, q), ld("Tte.f64", nte, q), list(range(q - 3, q)))):
    m = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=31, learning_rate=0.1, max_bins=255,
        early_stopping=False, random_state=0, categorical_features=cf)
    t = time.perf_counter(); m.fit(Xa, ytr); fs = time.perf_counter() - t
    best = 1e9; t_end = time.perf_counter() + 1
    i = 0
    while i < 3 or time.perf_counter() < t_end:
        t = time.perf_counter(); pr = m.predict_proba(Xb)[:, 1]; best = min(best, time.perf_counter() - t); i += 1
    out["scikit-learn " + name] = {"fit_s": fs, "predict_rows_s": nte / best, "accuracy": accuracy_score(yte, pr >= 0.5),
        "f1": f1_score(yte, pr >= 0.5), "roc_auc": roc_auc_score(yte, pr)}
print(json.dumps(out))
`;
    const res = execFileSync(join(ROOT, ".venv/bin/python"), ["-c", py, dir], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: "2" },
    });
    Object.assign(out, JSON.parse(res));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.stdout.write(
  `NSL-KDD KDDTrain+ → KDDTest+, ${Xtr.nCols} one-hot features; load average before: ${load.toFixed(2)}\n\n` +
    "| | fit s | predict rows/s | accuracy | F1 | ROC-AUC | category splits |\n|---|---|---|---|---|---|---|\n",
);
for (const [name, r] of Object.entries(out))
  process.stdout.write(
    `| ${name} | ${r.fit_s.toFixed(2)} | ${Math.round(r.predict_rows_s / 1000).toLocaleString("en")} k | ${r.accuracy.toFixed(4)} | ${r.f1.toFixed(4)} | ${r.roc_auc.toFixed(4)} | ${r.category_splits ?? ""} |\n`,
  );
