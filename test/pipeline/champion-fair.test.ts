/**
 * A fair champion comparison: a run on another split re-scores the champion without the rows the
 * champion was trained on (its bundle's training-row digest), and says how many it left out; with too
 * few rows left it decides on its own gates; an old bundle without a digest still compares, saying
 * that its training rows could not be excluded. The excluded count is checked against the runs' own
 * train/test CSVs, compared as text.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MIN_FAIR_ROWS } from "../../src/pipeline/steps/register.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir } from "../helpers/env.ts";
import { parquetRows } from "../helpers/parquet.ts";

const tmp = tempDir("netsec-fair-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "", MLFLOW_TRACKING_URI: "" };
const rf = ["--models", "random_forest", "--params", '{"n_estimators":15}', "--json"];

interface Comparison {
  champion_version: number;
  test_rows: number;
  excluded_rows: number | null;
  compared_rows: number;
  score: number | null;
  champion_score: number | null;
  note: string;
}

// the gates are not under test here: a small forest's train–CV gap must not fail a run
const config = join(tmp.dir, "pipeline.yaml");
writeFileSync(config, "dataset: phishing\ngates:\n  min_score: 0.5\n  max_train_cv_gap: 1\n");

function train(args: string[]): Record<string, unknown> {
  const r = runCli(["train", "--config", config, ...args, ...rf], env);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r.json!;
}

/** The feature vectors (every column but the label) of a run's ingested split, as text. */
async function vectors(artifacts: string, part: "train" | "test"): Promise<string[]> {
  const rows = await parquetRows(join(artifacts, "data_ingestion", "ingested", `${part}.parquet`));
  return rows.map((r) =>
    Object.entries(r)
      .filter(([k]) => k !== "Result")
      .map(([, v]) => v)
      .join(","),
  );
}

function runJson(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(env.NETSEC_HOME, "runs", id, "run.json"), "utf8"));
}

describe("champion comparison without the champion's training rows", () => {
  let first: Record<string, unknown>;

  it("two runs on different splits of phishing: the champion is re-scored on the rows it never saw", async () => {
    first = train(["--dataset", "phishing", "--seed", "1"]);
    expect(first.champion).toBe(true);
    expect(first.champion_comparison).toBeNull();
    const second = train(["--dataset", "phishing", "--seed", "2"]);
    const cmp = second.champion_comparison as Comparison;
    // independently: test rows of run 2 whose feature vector is among run 1's training rows
    const seen = new Set(await vectors(first.artifacts as string, "train"));
    const test2 = await vectors(second.artifacts as string, "test");
    const inTrain = test2.filter((v) => seen.has(v)).length;
    expect(inTrain).toBeGreaterThan(0);
    expect(cmp).toMatchObject({
      champion_version: 1,
      test_rows: test2.length,
      excluded_rows: inTrain,
      compared_rows: test2.length - inTrain,
    });
    expect(cmp.score).toEqual(expect.any(Number));
    expect(cmp.champion_score).toEqual(expect.any(Number));
    expect(cmp.note).toContain(`${inTrain} of ${test2.length} test rows were in champion v1's training data`);
    // in run.json, and in the champion decision (registry history or the not-promoted warning)
    expect(runJson(second.run_id as string).champion_comparison).toEqual(cmp);
    const registry = JSON.parse(
      readFileSync(join(env.NETSEC_HOME, "registry", "netsec-phishing", "registry.json"), "utf8"),
    ) as { history: { version: number; reason: string }[] };
    const decision = second.champion
      ? registry.history.at(-1)!.reason
      : (second.warnings as string[]).find((w) => w.startsWith("not promoted"))!;
    expect(decision).toContain(`${inTrain} of ${test2.length} test rows were in champion v1's training data`);
  });

  it("with fewer than the minimum rows left, the run decides on its own gates and says so", async () => {
    // a predefined test set made only of rows the current champion was trained on
    const reg = JSON.parse(
      readFileSync(join(env.NETSEC_HOME, "registry", "netsec-phishing", "registry.json"), "utf8"),
    ) as { aliases: { champion: number }; versions: { version: number; run_id: string }[] };
    const champRun = reg.versions.find((v) => v.version === reg.aliases.champion)!.run_id;
    const snapshot = await parquetRows(
      join(env.NETSEC_HOME, "artifacts", champRun, "data_ingestion", "ingested", "train.parquet"),
    );
    const trainCsv = [
      Object.keys(snapshot[0]!).join(","),
      ...snapshot.map((r) => Object.values(r).join(",")),
    ];
    const threats = trainCsv.slice(1).filter((l) => l.endsWith(",-1"));
    const benign = trainCsv.slice(1).filter((l) => l.endsWith(",1"));
    const testFile = join(tmp.dir, "seen.csv");
    writeFileSync(testFile, `${[trainCsv[0], ...threats.slice(0, 20), ...benign.slice(0, 20)].join("\n")}\n`);
    const third = train(["--dataset", "phishing", "--data", PHISHING_CSV, "--test-data", testFile]);
    const cmp = third.champion_comparison as Comparison;
    expect(cmp).toMatchObject({
      test_rows: 40,
      excluded_rows: 40,
      compared_rows: 0,
      score: null,
      champion_score: null,
    });
    expect(cmp.note).toContain(
      `fewer than ${MIN_FAIR_ROWS}, too few for a fair comparison: decided on this run's own gates`,
    );
    expect(third.champion).toBe(true);
  });

  it("a champion bundle without a digest (made before) is still compared, saying its rows could not be excluded", () => {
    const reg = JSON.parse(
      readFileSync(join(env.NETSEC_HOME, "registry", "netsec-phishing", "registry.json"), "utf8"),
    ) as { aliases: { champion: number } };
    const dir = join(
      env.NETSEC_HOME,
      "registry",
      "netsec-phishing",
      "versions",
      String(reg.aliases.champion),
    );
    const manifest = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8"));
    delete manifest.train_digest;
    writeFileSync(join(dir, "bundle.json"), JSON.stringify(manifest));
    rmSync(join(dir, "train_rows.bin"));
    const fourth = train(["--dataset", "phishing", "--seed", "4"]);
    const cmp = fourth.champion_comparison as Comparison;
    expect(cmp.excluded_rows).toBeNull();
    expect(cmp.compared_rows).toBe(cmp.test_rows);
    expect(cmp.champion_score).toEqual(expect.any(Number));
    expect(cmp.note).toContain(
      "predates training-row digests, so the rows it was trained on could not be excluded",
    );
  });
});
