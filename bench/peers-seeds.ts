/**
 * Issue 15's peers on the splits bench/pipeline-seeds.ts trains on: for each seed, the train/test rows
 * of `netsec train` with `seed: <s>` (the duplicate-aware split; a logistic regression with fixed
 * params, so the run is quick: only its ingested snapshots are read), then XGBoost (hist) and
 * LightGBM at 100 trees, their other settings default, on those rows (bench/boosting_peers_split.py),
 * test F1 at 0.5. Set beside pipeline-seeds' champion F1 of the same seed, the paired difference
 * says whether the champion matches the peers over splits, not only on seed 42's.
 *
 * Usage: npx node bench/peers-seeds.ts [--seeds=0,1,2,3,4,5,6,7,8,9,42]
 * Prints one JSON line per seed and writes them to bench/results/peers-seeds-phishing.json.
 * Phishing only (numeric features). Needs NETSEC_DATASET_MIRROR (or network) and the project's venv.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SKLEARN_TARGET } from "./rf-reference.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PYTHON = join(ROOT, ".venv/bin/python");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const seeds = (arg("seeds") ?? "0,1,2,3,4,5,6,7,8,9,42").split(",").map(Number);
const { target, normal } = SKLEARN_TARGET.phishing!;

const rows: Record<string, number>[] = [];
for (const seed of seeds) {
  const home = mkdtempSync(join(tmpdir(), "netsec-bench-peers-seeds-"));
  try {
    const cfg = join(home, "pipeline.yaml");
    writeFileSync(
      cfg,
      `dataset: phishing\nseed: ${seed}\nmodels: [logistic_regression]\nsearch:\n  kind: none\n`,
    );
    const out = execFileSync(
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
    const { artifacts } = JSON.parse(out.trim().split("\n").at(-1)!) as { artifacts: string };
    const f1 = JSON.parse(
      execFileSync(
        PYTHON,
        [
          join(ROOT, "bench/boosting_peers_split.py"),
          join(artifacts, "data_ingestion/ingested/train.parquet"),
          join(artifacts, "data_ingestion/ingested/test.parquet"),
          target,
          normal,
        ],
        { encoding: "utf8" },
      ),
    ) as Record<string, number>;
    rows.push({ seed, ...f1 });
    console.log(JSON.stringify(rows.at(-1)));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
writeFileSync(join(ROOT, "bench/results/peers-seeds-phishing.json"), `${JSON.stringify(rows, null, 2)}\n`);
