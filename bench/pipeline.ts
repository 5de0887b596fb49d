/**
 * The whole pipeline, side by side with the original project's approach, in one run on one machine:
 * `netsec train --dataset <name> --preset <p>` for each search preset (ingest, validate, drift, the
 * search — the default preset's time-budgeted successive halving, or the original's five grids with
 * 3-fold CV —, refit, test evaluation, bundle, verified ONNX export, registry) and then scikit-learn's
 * GridSearchCV over the original grids (bench/sklearn_pipeline.py: KNNImputer(3) + one-hot, n_jobs=2) on
 * the same train/test rows (netsec's ingested snapshots). Wall time and peak RSS of each side.
 *
 * Usage: npx node bench/pipeline.ts [--datasets=phishing,nsl-kdd] [--presets=default,original]
 *   [--time-budget=<s>] [--sklearn-timeout=<s>] [--no-sklearn] [--write]
 * A preset may carry `:no-ensemble` (e.g. --presets=default,default:no-ensemble): that run adds
 * `--no-ensemble`, so the default preset with and without its soft vote compare side by side.
 * --time-budget passes `--time-budget` to every netsec run (a budget long enough for every candidate
 * takes the machine's load out of which candidates are raced).
 * --no-sklearn skips GridSearchCV and the RandomForest reference (NSL-KDD's GridSearchCV takes over
 * 25 minutes of both cores). Needs NETSEC_DATASET_MIRROR (or network) and the project's venv
 * (scripts/python-env).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { rfReference, SKLEARN_TARGET } from "./rf-reference.ts";
import { timed } from "./timed.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PYTHON = join(ROOT, ".venv/bin/python");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const datasets = (arg("datasets") ?? "phishing,nsl-kdd").split(",");
const sklearnTimeout = Number(arg("sklearn-timeout") ?? 4 * 3600);
const presets = (arg("presets") ?? "default,original").split(",");
const withSklearn = !process.argv.includes("--no-sklearn");
const timeBudget = arg("time-budget");

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "—");

interface Row {
  dataset: string;
  netsec: {
    preset: string;
    seconds: number;
    peakRssMb: number;
    winner: string;
    f1: number;
    roc_auc: number;
    accuracy: number;
    candidates: number;
    testSets: Record<string, Record<string, number>>;
  }[];
  sklearn: {
    seconds: number;
    peakRssMb: number;
    workerRssMb: number;
    winner: string;
    f1: number;
    roc_auc: number;
    accuracy: number;
    timedOut: boolean;
  } | null;
  /** scikit-learn RandomForestClassifier(100) on the same rows, test F1 over random_state 0..9. */
  rf100: { mean: number; min: number; max: number } | null;
}

async function one(dataset: string): Promise<Row> {
  // a home per preset: each run ingests into an empty store and registers its first model, alike
  const homes: string[] = [];
  try {
    const sides: Row["netsec"] = [];
    let artifacts = "";
    for (const side of presets) {
      const [preset, variant] = side.split(":") as [string, string | undefined];
      const flags = [
        ...(variant === "no-ensemble" ? ["--no-ensemble"] : []),
        ...(timeBudget ? ["--time-budget", timeBudget] : []),
      ];
      const home = mkdtempSync(join(tmpdir(), `netsec-bench-pipeline-${dataset}-${preset}-`));
      homes.push(home);
      const env = {
        ...process.env,
        NETSEC_HOME: home,
        NETSEC_STORE_URI: "",
        NETSEC_LOG_LEVEL: "warn",
        MLFLOW_TRACKING_URI: "",
      };
      const label = [preset, ...flags].join(" ");
      console.error(`${dataset}: netsec train --dataset ${dataset} --preset ${label} (the whole pipeline)…`);
      const ours = await timed(
        process.execPath,
        [
          join(ROOT, "src/cli/main.ts"),
          "train",
          "--dataset",
          dataset,
          "--preset",
          preset,
          ...flags,
          "--json",
        ],
        env,
        6 * 3600,
      );
      if (ours.code !== 0) throw new Error(`netsec train --preset ${preset} failed (exit ${ours.code})`);
      const r = JSON.parse(ours.stdout.trim().split("\n").at(-1)!) as {
        winner: string;
        test: Record<string, number>;
        artifacts: string;
        leaderboard: { model: string; candidates: number }[];
        test_sets: Record<string, Record<string, number>> | null;
      };
      artifacts ||= r.artifacts;
      sides.push({
        preset: label,
        seconds: ours.seconds,
        peakRssMb: ours.peakRssMb,
        winner: r.winner,
        f1: r.test.f1!,
        roc_auc: r.test.roc_auc!,
        accuracy: r.test.accuracy!,
        // candidates launched (halving: each model's first rung); a soft vote's row counts the
        // ensembles tried on the searched candidates' out-of-fold scores, no fits
        candidates: r.leaderboard.reduce((a, x) => a + (x.model === "soft_voting" ? 0 : x.candidates), 0),
        testSets: r.test_sets ?? {},
      });
    }
    if (!withSklearn) return { dataset, netsec: sides, sklearn: null, rf100: null };
    const schema = SKLEARN_TARGET[dataset]!;
    console.error(`${dataset}: scikit-learn GridSearchCV over the original grids on the same rows…`);
    const sk = await timed(
      PYTHON,
      [
        join(ROOT, "bench/sklearn_pipeline.py"),
        join(artifacts, "data_ingestion/ingested/train.parquet"),
        join(artifacts, "data_ingestion/ingested/test.parquet"),
        schema.target,
        schema.normal,
      ],
      process.env,
      sklearnTimeout,
    );
    // the pipeline issue's reference: RandomForestClassifier(100) on the same rows, over ten seeds
    const rf = rfReference(artifacts, dataset);
    const s = sk.timedOut
      ? null
      : (JSON.parse(sk.stdout.trim().split("\n").at(-1)!) as {
          winner: string;
          test: Record<string, number>;
          peak_rss_mb: number;
          peak_rss_largest_worker_mb: number;
        });
    return {
      dataset,
      netsec: sides,
      sklearn: {
        seconds: sk.seconds,
        peakRssMb: s?.peak_rss_mb ?? Number.NaN,
        workerRssMb: s?.peak_rss_largest_worker_mb ?? Number.NaN,
        winner: s?.winner ?? "—",
        f1: s?.test.f1 ?? Number.NaN,
        roc_auc: s?.test.roc_auc ?? Number.NaN,
        accuracy: s?.test.accuracy ?? Number.NaN,
        timedOut: sk.timedOut,
      },
      rf100: rf,
    };
  } finally {
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const d of datasets) {
    const row = await one(d);
    rows.push(row);
    console.error(JSON.stringify(row));
  }
  const sklearnVersion = execFileSync(PYTHON, ["-c", "import sklearn; print(sklearn.__version__)"], {
    encoding: "utf8",
  }).trim();
  const table = [
    "| dataset | side | wall s | peak RSS MB | candidates × folds | winner (by CV F1) | test accuracy | test F1 | test ROC-AUC |",
    "|---|---|---:|---:|---|---|---:|---:|---:|",
  ];
  for (const r of rows) {
    for (const n of r.netsec)
      table.push(
        `| ${r.dataset} | netsec --preset ${n.preset} (whole pipeline) | ${fmt(n.seconds)} | ${fmt(n.peakRssMb, 0)} | ${n.candidates} × 3 | ${n.winner} | ${fmt(n.accuracy, 4)} | ${fmt(n.f1, 4)} | ${fmt(n.roc_auc, 4)} |`,
      );
    const sk = r.sklearn;
    if (sk)
      table.push(
        `| ${r.dataset} | scikit-learn GridSearchCV (n_jobs=2) | ${sk.timedOut ? `> ${sklearnTimeout} (stopped)` : fmt(sk.seconds)} | ${fmt(sk.peakRssMb, 0)} + ${fmt(sk.workerRssMb, 0)} per worker | 147 × 3 | ${sk.winner} | ${fmt(sk.accuracy, 4)} | ${fmt(sk.f1, 4)} | ${fmt(sk.roc_auc, 4)} |`,
      );
  }
  const ratios = rows
    .filter((r) => r.sklearn)
    .flatMap((r) =>
      r.netsec.map(
        (n) =>
          `${r.dataset} --preset ${n.preset}: wall time ratio netsec/scikit-learn ${r.sklearn!.timedOut ? `< ${fmt(n.seconds / sklearnTimeout, 2)}` : fmt(n.seconds / r.sklearn!.seconds, 2)}×`,
      ),
    )
    .join("; ");
  const reference = rows
    .filter((r) => r.rf100)
    .map(
      (r) =>
        `${r.dataset}: scikit-learn RandomForestClassifier(n_estimators=100) on the same rows, random_state 0–9: test F1 mean ${fmt(r.rf100!.mean, 4)} (${fmt(r.rf100!.min, 4)}–${fmt(r.rf100!.max, 4)}); netsec's pipeline winners ${r.netsec.map((n) => `${fmt(n.f1, 4)} (${n.preset})`).join(", ")}.`,
    )
    .join("\n");
  const extra = rows
    .flatMap((r) => r.netsec.map((n) => ({ dataset: r.dataset, n })))
    .filter(({ n }) => Object.keys(n.testSets).length > 1)
    .map(
      ({ dataset, n }) =>
        `${dataset} --preset ${n.preset}, the winner on every test set: ${Object.entries(n.testSets)
          .map(
            ([name, m]) =>
              `${name} (${m.rows} rows): accuracy ${fmt(m.accuracy!, 4)}, F1 ${fmt(m.f1!, 4)}, ROC-AUC ${fmt(m.roc_auc!, 4)}, TPR at 1% FPR ${fmt(m.tpr_at_fpr_1pct!, 4)}`,
          )
          .join("; ")}.`,
    )
    .join("\n");
  const body = `<!-- pipeline:start -->
## Whole pipeline (both search presets) vs the original's approach

${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model}). Command: \`npx node bench/pipeline.ts ${process.argv.slice(2).join(" ")}\`.
netsec: \`netsec train --dataset <name> --preset <p>\` — every step (ingest into the DuckDB store, validation, drift
report, the search on 2 worker threads — preset default: successive halving of hist_gradient_boosting, random_forest
and logistic_regression candidates within its 30 s time budget (candidates × folds: the first rung's launched
candidates); preset original: the five grids with 3-fold CV —, refit, test evaluation, bundle, ONNX export verified
under onnxruntime, registry). scikit-learn ${sklearnVersion}: KNNImputer(3) (+ one-hot), GridSearchCV over the same grids
(3-fold, F1, n_jobs=2), the best by CV refitted and tested — on the same train/test rows, in the same run.
Peak RSS: /usr/bin/time's maximum resident set of the netsec process (worker threads included); for
scikit-learn, the main process plus the largest joblib worker (2 run at once).

${table.join("\n")}

${ratios}.
${reference}
${extra}
<!-- pipeline:end -->`;
  console.log(body);
  if (process.argv.includes("--write")) {
    const p = join(ROOT, "BENCHMARKS.md");
    let doc = readFileSync(p, "utf8");
    doc = doc.includes("<!-- pipeline:start -->")
      ? doc.replace(/<!-- pipeline:start -->[\s\S]*<!-- pipeline:end -->/, body)
      : `${doc.trimEnd()}\n\n${body}\n`;
    writeFileSync(p, doc);
  }
}

await main();
