/**
 * The data path at traffic volumes (issue 14), side by side in one run: a file shaped like NSL-KDD made
 * from KDDTrain+ repeated `--copies` times (8 → 1,007,784 rows, 43 columns, headerless text; copy k adds k
 * to `src_bytes`, so no row repeats and every copy is a distinct observation), then
 *   1. `netsec ingest --file big.txt --schema datasets/nsl-kdd.yaml` into a fresh record store,
 *   2. `netsec train --schema … --data big.txt --models random_forest --params '{"n_estimators":100}'`
 *      (ingest step, validation, drift, split, transform, RF(100), test evaluation, bundle, ONNX),
 *   3. pandas + scikit-learn doing the same learning work (bench/sklearn_scale.py: read, one-hot,
 *      stratified 80/20 split, RandomForestClassifier(100, n_jobs=2) fit, predict the test split),
 * each under /usr/bin/time (wall seconds, CPU seconds, peak RSS of the whole process and its threads).
 * The train command scores its single candidate out of bag (no CV); `--force-cv` adds the same
 * command with `--force-cv` (3 CV folds beside the refit) for comparison.
 *
 * Usage: npx node bench/scale.ts [--copies=8] [--only=ingest,train,sklearn] [--force-cv] [--keep] [--write]
 * The file is made once under $NETSEC_BENCH_DIR (default: the OS temp dir) and reused.
 * Needs NETSEC_DATASET_MIRROR (or network, for NSL_KDD.zip) and the project's venv (scripts/python-env).
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openStream } from "../src/datasets/readers.ts";
import { fetchDataset, getDataset } from "../src/datasets/registry.ts";
import { loadSchemaFile } from "../src/datasets/schema.ts";
import { timed } from "./timed.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PYTHON = join(ROOT, ".venv/bin/python");
const SCHEMA = join(ROOT, "datasets/nsl-kdd.yaml");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const copies = Number(arg("copies") ?? 8);
const only = new Set((arg("only") ?? "ingest,train,sklearn").split(","));
const SRC_BYTES = 4; // 0-based column of src_bytes in the NSL-KDD text format

/** KDDTrain+.txt's lines, from the verified NSL_KDD.zip (cache → mirror → canonical URL). */
async function kddTrainLines(home: string): Promise<string[]> {
  const [file] = await fetchDataset(
    getDataset("nsl-kdd", home),
    { home, mirror: process.env.NETSEC_DATASET_MIRROR },
    ["KDDTrain+.txt"],
  );
  const parts: Buffer[] = [];
  for await (const chunk of await openStream(file!.ref)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString("utf8").trim().split(/\r?\n/);
}

/** The scale file: `copies` × KDDTrain+, copy k with src_bytes + k. Made once and reused. */
async function scaleFile(dir: string, home: string): Promise<string> {
  const path = join(dir, `nsl-kdd-x${copies}.txt`);
  if (existsSync(path)) return path;
  const lines = await kddTrainLines(home);
  const tmp = `${path}.part`;
  const out = createWriteStream(tmp);
  for (let k = 0; k < copies; k++) {
    for (const line of lines) {
      const cells = line.split(",");
      cells[SRC_BYTES] = String(Number(cells[SRC_BYTES]) + k);
      if (!out.write(`${cells.join(",")}\n`)) await once(out, "drain");
    }
  }
  out.end();
  await once(out, "finish");
  renameSync(tmp, path);
  return path;
}

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : "—");

async function main(): Promise<void> {
  const benchDir = process.env.NETSEC_BENCH_DIR ?? tmpdir();
  const home = mkdtempSync(join(tmpdir(), "netsec-bench-scale-"));
  const env = {
    ...process.env,
    NETSEC_HOME: home,
    NETSEC_STORE_URI: "",
    NETSEC_LOG_LEVEL: "warn",
    MLFLOW_TRACKING_URI: "",
  };
  const rows: string[] = [];
  try {
    const file = await scaleFile(benchDir, home);
    const nRows = copies * 125_973;
    const mb = statSync(file).size / 1e6;
    console.error(`scale file: ${file} (${nRows.toLocaleString("en")} rows, ${fmt(mb, 0)} MB)`);
    // as `npx netsec` runs it (bin/netsec.js: with the compile cache on)
    const cli = [join(ROOT, "bin/netsec.js")];
    if (only.has("ingest")) {
      console.error("netsec ingest…");
      const r = await timed(
        process.execPath,
        [...cli, "ingest", "--file", file, "--schema", SCHEMA, "--json"],
        env,
        3600,
      );
      if (r.code !== 0) throw new Error(`netsec ingest failed (exit ${r.code})`);
      rows.push(
        `| \`netsec ingest --file big.txt --schema nsl-kdd.yaml\` | ${fmt(r.seconds)} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMb, 0)} | |`,
      );
    }
    const trainRuns: [string, string[]][] = [];
    if (only.has("train")) trainRuns.push(["", []]);
    if (process.argv.includes("--force-cv")) trainRuns.push([" --force-cv", ["--force-cv"]]);
    for (const [label, extra] of trainRuns) {
      console.error(`netsec train (RF(100), fixed params${label})…`);
      const r = await timed(
        process.execPath,
        [
          ...cli,
          "train",
          "--schema",
          SCHEMA,
          "--data",
          file,
          "--models",
          "random_forest",
          "--params",
          '{"n_estimators":100}',
          "--json",
          ...extra,
        ],
        env,
        4 * 3600,
      );
      if (r.code !== 0) throw new Error(`netsec train${label} failed (exit ${r.code})`);
      const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { run_id: string; test: { f1: number } };
      // the run record's step timings (seconds)
      const show = spawnSync(process.execPath, [...cli, "runs", "show", j.run_id, "--json"], {
        env,
        encoding: "utf8",
      });
      const run = (
        JSON.parse(show.stdout.trim().split("\n").at(-1)!) as { run: { steps: Record<string, number> } }
      ).run;
      const steps = Object.entries(run.steps)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", ");
      rows.push(
        `| \`netsec train … --models random_forest --params '{"n_estimators":100}'${label}\` | ${fmt(r.seconds)} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMb, 0)} | F1 ${fmt(j.test.f1, 4)}; ${steps} |`,
      );
    }
    if (only.has("sklearn")) {
      console.error("pandas + scikit-learn…");
      const schema = loadSchemaFile(SCHEMA);
      const r = await timed(
        PYTHON,
        [
          join(ROOT, "bench/sklearn_scale.py"),
          file,
          schema.columnNames.join(","),
          schema.target.name,
          "normal",
        ],
        process.env,
        4 * 3600,
      );
      if (r.code !== 0) throw new Error(`sklearn_scale.py failed (exit ${r.code})`);
      const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        test_f1: number;
        steps: Record<string, number>;
      };
      const steps = Object.entries(j.steps)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", ");
      rows.push(
        `| pandas + scikit-learn (read, one-hot, RF(100) n_jobs=2, predict) | ${fmt(r.seconds)} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMb, 0)} | F1 ${fmt(j.test_f1, 4)}; ${steps} |`,
      );
    }
    const table = [
      `${copies} × KDDTrain+ = ${nRows.toLocaleString("en")} rows, ${fmt(mb, 0)} MB (\`npx node bench/scale.ts --copies=${copies}\`)`,
      "",
      "| step | wall s | CPU s | peak RSS MB | notes |",
      "|---|---:|---:|---:|---|",
      ...rows,
    ].join("\n");
    console.log(table);
    if (process.argv.includes("--write")) writeSection(`### ${fmt(nRows / 1e6, 2)} M rows`, table);
    if (!process.argv.includes("--keep")) rmSync(file, { force: true });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Replace (or append) one subsection of BENCHMARKS.md's "The data path at traffic volumes" section. */
function writeSection(heading: string, body: string): void {
  const path = join(ROOT, "BENCHMARKS.md");
  let md = readFileSync(path, "utf8");
  const top = "## The data path at traffic volumes";
  if (!md.includes(top)) md = `${md.trimEnd()}\n\n${top}\n`;
  const start = md.indexOf(heading, md.indexOf(top));
  const text = `${heading}\n${body}\n`;
  if (start < 0) md = `${md.trimEnd()}\n\n${text}`;
  else {
    const next = md.indexOf("\n#", start + heading.length);
    md = md.slice(0, start) + text + (next < 0 ? "" : md.slice(next + 1));
  }
  writeFileSync(path, md);
}

await main();
