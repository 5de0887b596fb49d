/**
 * The record store as a user relies on it, through the real CLI: a file ingested under two datasets is
 * whole in both; a dataset registered with a schema alone (no files, no splits) trains on its stored
 * records; an ingest killed mid-way (kill -9 while DuckDB writes its one transaction) leaves no
 * partial rows, is reported by `validate` until the same ingest is run again, and that re-run gives
 * exact counts.
 */
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-store-trust-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "", MLFLOW_TRACKING_URI: "" };

/** The phishing schema's columns and labels under another name, with no files and no splits. */
function schemaLike(name: string): string {
  const text = readFileSync(join(ROOT, "datasets", "phishing.yaml"), "utf8");
  const head = text.slice(0, text.indexOf("\nfiles:"));
  const path = join(tmp.dir, `${name}.yaml`);
  writeFileSync(path, `${head.replace(/^name: phishing$/m, `name: ${name}`)}\n`);
  return path;
}

describe("record store identity and completeness (CLI, DuckDB)", () => {
  it("the same file under two schemas gives both datasets their full counts; re-ingest adds nothing", () => {
    const a = runCli(["ingest", "--dataset", "phishing", "--file", PHISHING_CSV, "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json).toMatchObject({ added: 11055, total: 11055 });
    const schema = schemaLike("phishcopy");
    const b = runCli(["ingest", "--schema", schema, "--file", PHISHING_CSV, "--json"], env);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json).toMatchObject({ dataset: "phishcopy", added: 11055, total: 11055 });
    const again = runCli(["ingest", "--dataset", "phishcopy", "--file", PHISHING_CSV, "--json"], env);
    expect(again.json).toMatchObject({ added: 0, total: 11055 });
    const first = runCli(["ingest", "--dataset", "phishing", "--file", PHISHING_CSV, "--json"], env);
    expect(first.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("train --dataset <schema without files or splits> trains on its stored records", () => {
    const r = runCli(
      [
        "train",
        "--dataset",
        "phishcopy",
        "--models",
        "random_forest",
        "--params",
        '{"n_estimators":10}',
        "--json",
      ],
      env,
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.json).toMatchObject({ status: "FINISHED" });
    const run = runCli(["runs", "show", String(r.json!.run_id), "--json"], env).json!.run as {
      sources: { rows: number; role: string }[];
    };
    expect(run.sources).toEqual([expect.objectContaining({ rows: 11055, role: "train" })]);
  });

  it("train --dataset <schema without files or splits, nothing stored> says what to pass", () => {
    // a schema dropped into $NETSEC_HOME/datasets/ is known by name
    copyFileSync(schemaLike("phishempty"), join(env.NETSEC_HOME, "datasets", "phishempty.yaml"));
    const r = runCli(["train", "--dataset", "phishempty", "--models", "random_forest", "--json"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain("netsec ingest --dataset phishempty --file <data file>");
    expect(r.stderr + r.stdout).not.toContain("split undefined");
  });

  it("validate reports an ingest killed mid-way until the same ingest completes it", async () => {
    // ten copies of phishing (110,550 rows): the ingest is killed once it has started writing
    const lines = readFileSync(PHISHING_CSV, "utf8").trimEnd().split("\n");
    const big = join(tmp.dir, "phishing-x10.csv");
    writeFileSync(
      big,
      `${[lines[0], ...Array.from({ length: 10 }, () => lines.slice(1)).flat()].join("\n")}\n`,
    );
    const args = ["ingest", "--dataset", "phishing", "--file", big];
    const child = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const killed = await new Promise<boolean>((resolve) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        if (/writing about \d+ rows to the store/.test(err) && child.exitCode === null) {
          child.kill("SIGKILL");
        }
      });
      child.on("exit", (_code, signal) => resolve(signal === "SIGKILL"));
    });
    expect(killed, err).toBe(true);
    const thresholds = ["--thresholds", '{"max_duplicate_rate":1}'];
    const v = runCli(["validate", "--dataset", "phishing", ...thresholds, "--json"], env);
    expect(v.code, v.stdout).toBe(1);
    expect(v.json).toMatchObject({ passed: false });
    const issue = (v.json!.issues as { check: string; message: string }[]).find(
      (i) => i.check === "incomplete_source",
    );
    // one transaction: nothing of the killed ingest is stored
    expect(issue?.message).toMatch(/phishing-x10\.csv.*did not finish: 0 of 110550 rows stored/);
    // the same ingest again completes it, and validate passes
    const done = runCli([...args, "--json"], env);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json).toMatchObject({ total: 11055 + 110550 });
    const ok = runCli(["validate", "--dataset", "phishing", ...thresholds, "--json"], env);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.json).toMatchObject({ passed: true, rows: 11055 + 110550 });
  });
});
