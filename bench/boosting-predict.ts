/**
 * Predict throughput of hist_gradient_boosting beside XGBoost and LightGBM, on the same rows: netsec
 * fits 100 iterations of 31 leaves (lr 0.1, 255 bins, no early stopping) and times predictProba on the
 * test rows; then bench/boosting_predict.py reads the very same matrices (written to a temporary
 * directory) and times each library's predict_proba, with its defaults at 100 trees on 2 threads. The
 * netsec side runs first and alone, so the two never compete for the cores.
 *
 *   node bench/boosting-predict.ts [--datasets=phishing,nsl-kdd]
 *
 * Throughput: rows / the fastest of repeated calls over at least 1 s (and 5 calls), the rule
 * bench/engine.ts and its Python side use; and rows per CPU-second (the process's CPU time, all its
 * threads, of the call that took least): on a machine busy with other work, wall-clock figures
 * measure the other work, CPU time much less so (OpenMP threads are told not to spin, so XGBoost's
 * and LightGBM's waits are not counted as work). Rows are phishing's stratified 80/20 split (seed 42) and
 * NSL-KDD's KDDTrain+ → KDDTest+, categoricals one-hot, as bench/engine.ts builds them; the test
 * matrix is in shared memory, as bundles build a batch to score.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Matrix, SHARED_BATCH_MIN_ROWS } from "../src/core/frame.ts";
import { closePool } from "../src/core/pool.ts";
import { stratifiedSplit } from "../src/datasets/split.ts";
import { createModel } from "../src/models/registry.ts";
import { threatScore } from "../src/selection/cv-task.ts";
import { binaryMetrics } from "../src/selection/metrics.ts";
import { numericCsv, subset } from "../test/helpers/data.ts";
import { ISSUE_HGB_PARAMS } from "./hgb-issue-params.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";

const ROOT = resolve(import.meta.dirname, "..");
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const PY = join(ROOT, ".venv/bin/python");
const PARAMS = ISSUE_HGB_PARAMS;

interface Split {
  Xtr: Matrix;
  ytr: Int32Array;
  Xte: Matrix;
  yte: Int32Array;
}

interface Side {
  predict_rows_per_s: number;
  predict_rows_per_cpu_s: number;
  f1: number;
}

function phishing(): Split {
  const d = numericCsv(join(MIRROR, "phishing/phisingData.csv"), "Result", "-1");
  const sp = stratifiedSplit(d.y, 0.2, 42);
  const tr = subset(d, sp.train);
  const te = subset(d, sp.test, sp.test.length >= SHARED_BATCH_MIN_ROWS);
  return { Xtr: tr.X, ytr: tr.y, Xte: te.X, yte: te.y };
}

async function nslKdd(): Promise<Split> {
  const { Xtr, ytr, Xte, yte } = await loadNslKddOneHot();
  return { Xtr, ytr, Xte, yte };
}

/** rows / the fastest of repeated calls of f over at least 1 s and 5 calls, by wall clock and CPU time. */
function throughput(rows: number, f: () => void): { wall: number; cpu: number } {
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  const until = performance.now() + 1000;
  for (let i = 0; i < 5 || performance.now() < until; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    wall = Math.min(wall, performance.now() - t);
    const d = process.cpuUsage(c);
    cpu = Math.min(cpu, (d.user + d.system) / 1000);
  }
  return { wall: rows / (wall / 1000), cpu: rows / (cpu / 1000) };
}

async function ours(d: Split): Promise<Side> {
  const m = createModel("hist_gradient_boosting", PARAMS);
  await m.fit(d.Xtr, d.ytr, 2);
  let s: Float64Array = new Float64Array(0);
  const t = throughput(d.Xte.nRows, () => {
    s = threatScore(m.predictProba(d.Xte), d.Xte.nRows, 2, [1]);
  });
  return { predict_rows_per_s: t.wall, predict_rows_per_cpu_s: t.cpu, f1: binaryMetrics(d.yte, s, 0.5).f1 };
}

/** A matrix as row-major float64 (the layout numpy reads with fromfile + reshape). */
function rowMajor(X: Matrix): Buffer {
  const out = new Float64Array(X.nRows * X.nCols);
  for (let c = 0; c < X.nCols; c++)
    for (let r = 0; r < X.nRows; r++) out[r * X.nCols + c] = X.data[c * X.nRows + r]!;
  return Buffer.from(out.buffer);
}

function peers(d: Split): Record<string, Side> {
  const dir = mkdtempSync(join(tmpdir(), "netsec-bench-boosting-"));
  try {
    writeFileSync(join(dir, "Xtr.f64"), rowMajor(d.Xtr));
    writeFileSync(join(dir, "Xte.f64"), rowMajor(d.Xte));
    writeFileSync(join(dir, "ytr.i32"), Buffer.from(d.ytr.buffer, d.ytr.byteOffset, d.ytr.byteLength));
    writeFileSync(join(dir, "yte.i32"), Buffer.from(d.yte.buffer, d.yte.byteOffset, d.yte.byteLength));
    const out = execFileSync(PY, [join(ROOT, "bench/boosting_predict.py"), dir, String(d.Xtr.nCols)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, OMP_WAIT_POLICY: "PASSIVE" },
    });
    return JSON.parse(out) as Record<string, Side>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith("--datasets="))?.slice("--datasets=".length);
  const datasets = (only ? only.split(",") : ["phishing", "nsl-kdd"]).filter(Boolean);
  const rows: string[] = [];
  for (const ds of datasets) {
    const d = ds === "phishing" ? phishing() : await nslKdd();
    const mine = await ours(d);
    const them = peers(d);
    const xgb = them.xgboost!;
    const num = (v: number): string => Math.round(v).toLocaleString("en");
    const line = (name: string, s: Side): string =>
      `| ${ds} | ${name} | ${d.Xte.nRows} | ${num(s.predict_rows_per_s)} | ${(s.predict_rows_per_s / xgb.predict_rows_per_s).toFixed(2)}× | ${num(s.predict_rows_per_cpu_s)} | ${(s.predict_rows_per_cpu_s / xgb.predict_rows_per_cpu_s).toFixed(2)}× | ${s.f1.toFixed(4)} |`;
    rows.push(line("netsec hist_gradient_boosting", mine));
    for (const [name, s] of Object.entries(them)) rows.push(line(name, s));
  }
  process.stdout.write(
    [
      "| dataset | model | test rows | predict rows/s | vs XGBoost | rows per CPU-s | vs XGBoost | F1 |",
      "|---|---|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
  await closePool();
}

await main();
