/**
 * The pipeline issue's quality reference, over several splits instead of one: for each seed, the whole
 * default pipeline (`netsec train --config` with `dataset: phishing` and `seed: <s>`, which sets the
 * duplicate-aware train/test split, the CV folds and the models' seeds) and then scikit-learn's
 * RandomForestClassifier(n_estimators=100) on the same train/test rows (the run's ingested snapshots),
 * over random_state 0–9 (bench/sklearn_rf_reference.py). One split's test F1 moves by about ±0.005 with
 * the split and the forest's seed; a paired comparison over splits says whether the pipeline's winner
 * is at least as good as the reference, not only on one draw.
 *
 * Usage: npx node bench/pipeline-seeds.ts [--dataset=phishing] [--seeds=0,1,2,3,4,5,6,7,8,9]
 *   [--time-budget=<s>] [--pair-no-ensemble] [--write]
 * --time-budget sets search.time_budget_s (one no run reaches, e.g. 100000, races every candidate
 * whatever the machine's load); --pair-no-ensemble also runs each seed with search.ensemble_k 0 and
 * reports both winners (with a budget no run reaches, the two runs differ only by the soft vote);
 * its raw results go to bench/results/pipeline-seeds-<dataset>-ensemble.json.
 * Needs NETSEC_DATASET_MIRROR (or network) and the project's venv (scripts/python-env).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RfReference, rfReference } from "./rf-reference.ts";

const ROOT = resolve(import.meta.dirname, "..");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const dataset = arg("dataset") ?? "phishing";
const seeds = (arg("seeds") ?? "0,1,2,3,4,5,6,7,8,9").split(",").map(Number);
const timeBudget = arg("time-budget");
const pairNoEnsemble = process.argv.includes("--pair-no-ensemble");

interface Row {
  seed: number;
  /** Why the run was recorded as failed (a gate), else null: its test metrics are still the winner's. */
  failure: string | null;
  winner: string;
  f1: number;
  /** With --pair-no-ensemble: the same seed's run with search.ensemble_k 0. */
  noEnsemble?: { winner: string; f1: number };
  rf: RfReference;
}

interface TrainSummary {
  winner: string;
  test: Record<string, number>;
  artifacts: string;
  failure?: string | null;
}

/** `netsec train --config` on a config of these lines (a gate-stopped run still reports its metrics). */
function train(home: string, config: string): TrainSummary {
  const cfg = join(home, "pipeline.yaml");
  writeFileSync(cfg, config);
  let out: string;
  try {
    out = execFileSync(
      process.execPath,
      [join(ROOT, "src/cli/main.ts"), "train", "--config", cfg, "--json"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NETSEC_HOME: home,
          NETSEC_STORE_URI: "",
          NETSEC_LOG_LEVEL: "warn",
          MLFLOW_TRACKING_URI: "",
        },
        encoding: "utf8",
        maxBuffer: 1 << 26,
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? "");
    if (!out.trim()) throw e;
  }
  return JSON.parse(out.trim().split("\n").at(-1)!) as TrainSummary;
}

const rows: Row[] = [];
for (const seed of seeds) {
  const home = mkdtempSync(join(tmpdir(), `netsec-bench-seeds-${dataset}-`));
  try {
    const search = timeBudget ? `search:\n  time_budget_s: ${timeBudget}\n` : "";
    process.stderr.write(`seed ${seed}: netsec train --config (dataset ${dataset}, seed ${seed})…\n`);
    const r = train(home, `dataset: ${dataset}\nseed: ${seed}\n${search}`);
    let noEnsemble: Row["noEnsemble"];
    if (pairNoEnsemble) {
      const home2 = mkdtempSync(join(tmpdir(), `netsec-bench-seeds-${dataset}-`));
      try {
        const q = train(
          home2,
          `dataset: ${dataset}\nseed: ${seed}\nsearch:\n  ensemble_k: 0\n${search ? `  time_budget_s: ${timeBudget}\n` : ""}`,
        );
        noEnsemble = { winner: q.winner, f1: q.test.f1! };
        process.stderr.write(
          `  without the ensemble: winner ${q.winner}, test F1 ${q.test.f1!.toFixed(4)}\n`,
        );
      } finally {
        rmSync(home2, { recursive: true, force: true });
      }
    }
    process.stderr.write(
      `  winner ${r.winner}, test F1 ${r.test.f1!.toFixed(4)}; scikit-learn RF(100) x 10 seeds…\n`,
    );
    const rf = rfReference(r.artifacts, dataset);
    rows.push({
      seed,
      winner: r.winner,
      f1: r.test.f1!,
      ...(noEnsemble ? { noEnsemble } : {}),
      rf,
      failure: r.failure ?? null,
    });
    process.stderr.write(
      `  RF(100) mean ${rf.mean.toFixed(4)} (${rf.min.toFixed(4)}–${rf.max.toFixed(4)})\n`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const diffs = rows.map((r) => r.f1 - r.rf.mean);
const d = mean(diffs);
const sd = Math.sqrt(diffs.reduce((a, x) => a + (x - d) ** 2, 0) / Math.max(1, diffs.length - 1));
const above = rows.filter((r) => r.f1 >= r.rf.mean).length;
// share of the reference's individual forests (10 per split) the pipeline's winner matches or beats
const beaten = rows.reduce((a, r) => a + r.rf.f1.filter((x) => r.f1 >= x).length, 0);
const total = rows.reduce((a, r) => a + r.rf.f1.length, 0);
const lines = [
  `<!-- seeds:start -->`,
  `### The pipeline's winner vs scikit-learn RandomForest(100), over ${rows.length} splits (${dataset})`,
  "",
  `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores. Command: \`npx node bench/pipeline-seeds.ts ${process.argv.slice(2).join(" ")}\`. Per seed: \`netsec train\` with \`seed: <s>\` (the duplicate-aware split, the CV folds and the models' seeds), its winner's test F1 (threshold chosen on cross-validated predictions); scikit-learn RandomForestClassifier(100) on the same train/test rows at random_state 0–9, F1 at 0.5.`,
  "",
  `| seed | netsec winner | netsec test F1 |${pairNoEnsemble ? " without the ensemble: winner | test F1 |" : ""} RF(100) mean | RF(100) min–max | difference |`,
  `|---:|---|---:|${pairNoEnsemble ? "---|---:|" : ""}---:|---|---:|`,
  ...rows.map(
    (r) =>
      `| ${r.seed} | ${r.winner}${r.failure ? " (run stopped by a gate)" : ""} | ${r.f1.toFixed(4)} |${r.noEnsemble ? ` ${r.noEnsemble.winner} | ${r.noEnsemble.f1.toFixed(4)} |` : ""} ${r.rf.mean.toFixed(4)} | ${r.rf.min.toFixed(4)}–${r.rf.max.toFixed(4)} | ${(r.f1 - r.rf.mean >= 0 ? "+" : "") + (r.f1 - r.rf.mean).toFixed(4)} |`,
  ),
  "",
  `Mean difference ${(d >= 0 ? "+" : "") + d.toFixed(4)} (standard deviation ${sd.toFixed(4)} over ${rows.length} splits); the winner is at or above the reference's mean on ${above} of ${rows.length} splits and at or above ${beaten} of its ${total} individual forests. Highest netsec test F1: ${Math.max(...rows.map((r) => r.f1)).toFixed(4)}; highest single reference forest: ${Math.max(...rows.flatMap((r) => r.rf.f1)).toFixed(4)}.`,
  ...(pairNoEnsemble
    ? [
        `With the ensemble: mean test F1 ${mean(rows.map((r) => r.f1)).toFixed(4)}, the soft vote chosen on ${rows.filter((r) => r.winner === "soft_voting").length} of ${rows.length} splits; without: ${mean(rows.map((r) => r.noEnsemble!.f1)).toFixed(4)}; paired difference ${mean(rows.map((r) => r.f1 - r.noEnsemble!.f1)).toFixed(4)}.`,
      ]
    : []),
  `<!-- seeds:end -->`,
];
const block = lines.join("\n");
console.log(block);
writeFileSync(
  join(ROOT, `bench/results/pipeline-seeds-${dataset}${pairNoEnsemble ? "-ensemble" : ""}.json`),
  `${JSON.stringify(rows, null, 2)}\n`,
);
if (process.argv.includes("--write")) {
  const path = join(ROOT, "BENCHMARKS.md");
  const md = readFileSync(path, "utf8");
  const re = /<!-- seeds:start -->[\s\S]*?<!-- seeds:end -->/;
  writeFileSync(
    path,
    re.test(md)
      ? md.replace(re, block)
      : md.replace("<!-- pipeline:end -->", `<!-- pipeline:end -->\n\n${block}`),
  );
}
