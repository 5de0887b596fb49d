/**
 * The pipeline's decisions through the real CLI on the phishing data: the train–CV gap gate (in the
 * configured metric), per-candidate progress, the champion comparison under a different scoring, drift
 * against the champion, validation inside `netsec train`, tampered bundles, a target the schema cannot give.
 * One NETSEC_HOME: the tests run in order and build on the champion of the first.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-gates-");
afterAll(tmp.cleanup);
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MONGODB_URI: "" };
const regDir = join(home, "registry", "netsec-phishing");

interface Registry {
  aliases: Record<string, number>;
  history: { alias: string; version: number; reason: string }[];
  versions: { version: number; score_name: string; score: number; test_data_sha256: string }[];
}
const registry = (): Registry => JSON.parse(readFileSync(join(regDir, "registry.json"), "utf8")) as Registry;
const champion = (): number | undefined => registry().aliases.champion;

type Row = Record<string, string>;
const csvRows = (path: string): Row[] => parse(readFileSync(path), { columns: true }) as Row[];

const PHISHING = readFileSync(PHISHING_CSV, "utf8").trim().split("\n");
const HEADER = PHISHING[0]!.split(",").map((h) => h.replaceAll('"', ""));

/** The first `n` phishing rows with `edit` applied to each row's values (by column name). */
function phishingFile(name: string, n: number, edit: (v: Record<string, string>, i: number) => void): string {
  const out = [PHISHING[0]!];
  PHISHING.slice(1, n + 1).forEach((line, i) => {
    const vals = line.split(",");
    const rec = Object.fromEntries(HEADER.map((h, j) => [h, vals[j]!]));
    edit(rec, i);
    out.push(HEADER.map((h) => rec[h]).join(","));
  });
  return writeFile(tmp.dir, name, `${out.join("\n")}\n`);
}

/** Average precision (scikit-learn's definition), written here independently of src/selection. */
function averagePrecision(y: number[], s: number[]): number {
  const order = s.map((_, i) => i).sort((a, b) => s[b]! - s[a]!);
  const P = y.filter((v) => v === 1).length;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (y[i] === 1) tp++;
    else fp++;
    // one point per distinct score (ties form one step)
    if (k === order.length - 1 || s[order[k + 1]!] !== s[i]) {
      const recall = tp / P;
      ap += (recall - prevRecall) * (tp / (tp + fp));
      prevRecall = recall;
    }
  }
  return ap;
}

const num = (x: string | undefined): number => Number(x);

describe("netsec train: gates, champion comparison, drift and validation", { timeout: 240_000 }, () => {
  let first: Record<string, unknown>;

  it("the first run registers the champion (scored on f1)", () => {
    const r = runCli(
      ["train", "--dataset", "phishing", "--models", "logistic_regression,decision_tree", "--json"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    first = r.json!;
    expect(first).toMatchObject({ status: "FINISHED", champion: true, registry: { version: 1 } });
    expect(registry().versions[0]).toMatchObject({ score_name: "f1" });
    // a first run has no champion: drift is this run's test split vs its training split
    const html = readFileSync(
      join(String(first.artifacts), "data_validation/drift_report/drift.html"),
      "utf8",
    );
    expect(html).toContain("test split vs the training split of this run");
  });

  it("a tiny max_train_cv_gap fails the run naming the metric; FAILED in runs list, champion unchanged", () => {
    const cfg = writeFile(
      tmp.dir,
      "gap.yaml",
      "dataset: phishing\nmodels: [decision_tree]\ngates: { max_train_cv_gap: 0.0001 }\n",
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ status: "FAILED", champion: false, registry: null });
    const failure = String(r.json!.failure);
    const m =
      /^gate: train–CV gap (\d\.\d{4}) in f1 \(decision_tree: train f1 (\d\.\d{4}) vs CV f1 (\d\.\d{4})\) exceeds max_train_cv_gap 0\.0001$/.exec(
        failure,
      );
    expect(m, failure).not.toBeNull();
    expect(Math.abs(num(m![2]) - num(m![3]) - num(m![1]))).toBeLessThanOrEqual(1.5e-4);
    expect(r.stderr).toContain(`run FAILED: ${failure} — the champion is unchanged`);
    const runs = runCli(["runs", "list", "--json"], env).json!.runs as Record<string, unknown>[];
    expect(runs[0]).toMatchObject({ id: r.json!.run_id, status: "FAILED", failure });
    expect(champion()).toBe(1);
    expect(registry().versions).toHaveLength(1);
  });

  it("scoring roc_auc: the gap is roc_auc on both sides (leaderboard, cv_scores, bundle) and progress shows each fit", () => {
    const cfg = writeFile(
      tmp.dir,
      "gap-auc.yaml",
      [
        "dataset: phishing",
        "models: [logistic_regression, decision_tree, random_forest]",
        "search: { scoring: roc_auc, grids: { random_forest: { n_estimators: [4, 8] } } }",
        "gates: { max_train_cv_gap: 0.0001 }",
      ].join("\n"),
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    const j = r.json!;
    const a = String(j.artifacts);
    const lb = JSON.parse(readFileSync(join(a, "model_trainer/leaderboard.json"), "utf8")) as {
      model: string;
      scoring: string;
      cv_mean: number;
      train_mean: number;
    }[];
    const w = lb[0]!;
    expect(lb.every((x) => x.scoring === "roc_auc")).toBe(true);
    expect(String(j.failure)).toBe(
      `gate: train–CV gap ${(w.train_mean - w.cv_mean).toFixed(4)} in roc_auc (${w.model}: train roc_auc ${w.train_mean.toFixed(4)} vs CV roc_auc ${w.cv_mean.toFixed(4)}) exceeds max_train_cv_gap 0.0001`,
    );
    const manifest = JSON.parse(readFileSync(join(a, "model_trainer/model/bundle.json"), "utf8"));
    expect(manifest.metrics.cv).toEqual({
      roc_auc_mean: w.cv_mean,
      roc_auc_std: expect.any(Number),
      train_roc_auc_mean: w.train_mean,
    });
    const cv = csvRows(join(a, "model_trainer/cv_scores.csv"));
    expect(cv).toHaveLength(6);
    expect(cv.every((c) => c.scoring === "roc_auc")).toBe(true);
    // on its own training rows a model ranks at least about as well as on held-out rows; a train score in
    // another metric (F1 at 0.5, as before) falls below the CV ROC-AUC here (logistic regression)
    for (const c of cv) expect(num(c.train_mean)).toBeGreaterThanOrEqual(num(c.cv_mean) - 0.05);

    // progress on stderr: one line per completed fit with every candidate's fold scores, then each best
    const fold = (c: Row): string =>
      `${[c.fold_1, c.fold_2, c.fold_3].map((x) => num(x).toFixed(4)).join(" ")} (mean ${num(c.cv_mean).toFixed(4)})`;
    const rf = cv.filter((c) => c.model === "random_forest");
    const [rf4, rf8] = [4, 8].map((n) => rf.find((c) => JSON.parse(c.params!).n_estimators === n)!);
    expect(r.stderr).toMatch(
      new RegExp(
        `\\[train\\] fit [1-5]/5 random_forest \\(defaults\\) → roc_auc n_estimators=4: ${fold(rf4!).replace(/[()]/g, "\\$&")}; n_estimators=8: ${fold(rf8!).replace(/[()]/g, "\\$&")}\\n`,
      ),
    );
    for (const c of cv.filter((x) => x.model === "decision_tree"))
      expect(r.stderr).toContain(
        `decision_tree criterion=${JSON.parse(c.params!).criterion} → roc_auc ${fold(c)}`,
      );
    expect(r.stderr.match(/\[train\] fit \d\/5 /g)).toHaveLength(5); // 6 candidates, 5 fits (one shared)
    // ties go to the first in grid order
    const bestRf = num(rf4!.cv_mean) >= num(rf8!.cv_mean) ? rf4! : rf8!;
    expect(r.stderr).toContain(
      `[train] best random_forest (2 candidates): n_estimators=${JSON.parse(bestRf.params!).n_estimators} → CV roc_auc ${num(bestRf.cv_mean).toFixed(4)}`,
    );
    expect(r.stderr).toContain("[train] best logistic_regression (1 candidate): (defaults) → CV roc_auc");
    expect(r.stdout.trim().split("\n")).toHaveLength(1); // --json: stdout is the JSON line only
    expect(champion()).toBe(1);
  });

  it("scoring pr_auc against an f1 champion: the champion is re-scored with pr_auc on the same test split", () => {
    const r = runCli(
      ["train", "--dataset", "phishing", "--models", "logistic_regression", "--scoring", "pr_auc", "--json"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = r.json!;
    expect(j.registry).toMatchObject({ version: 2 });
    const reg = registry();
    expect(reg.versions[1]).toMatchObject({
      score_name: "pr_auc",
      test_data_sha256: reg.versions[0]!.test_data_sha256,
    });
    const reason = j.champion
      ? reg.history.at(-1)!.reason
      : String((j.warnings as string[]).find((x) => x.startsWith("not promoted: "))).slice(14);
    const m =
      /^pr_auc (\d\.\d{4}) vs champion v1 pr_auc (\d\.\d{4}), re-scored on this run's test split \(0 of \d+ test rows were in champion v1's training data\) \(registered: f1 \d\.\d{4} on the same test data\)$/.exec(
        reason,
      );
    expect(m, reason).not.toBeNull();
    const mine = (j.test as { pr_auc: number }).pr_auc;
    expect(num(m![1])).toBeCloseTo(mine, 4);
    // the champion re-scored independently: its probabilities on this run's test split, AP computed here
    const out = join(tmp.dir, "champ-scored.csv");
    const testCsv = join(String(j.artifacts), "data_ingestion/ingested/test.parquet");
    const p = runCli(
      ["predict", "--model", join(regDir, "versions", "1"), "--input", testCsv, "--output", out],
      env,
    );
    expect(p.code, p.stderr).toBe(0);
    const scored = csvRows(out);
    expect(scored).toHaveLength((j.test_sets as Record<string, { rows: number }>).test!.rows);
    const champAp = averagePrecision(
      scored.map((x) => (x.Result === "-1" ? 1 : 0)),
      scored.map((x) => num(x.probability)),
    );
    expect(num(m![2])).toBeCloseTo(champAp, 3);
    expect(j.champion).toBe(mine > champAp);
    expect(champion()).toBe(j.champion ? 2 : 1);
    // drift of a run with a champion: this run's training data against the champion's reference profile
    const html = readFileSync(join(String(j.artifacts), "data_validation/drift_report/drift.html"), "utf8");
    expect(html).toContain("new training data vs champion netsec-phishing v1");
  });

  it("validation inside netsec train: on_fail stop fails naming column and value; warn goes on with the warning", () => {
    const bad = phishingFile("out-of-schema.csv", 3000, (v, i) => {
      if (i % 100 === 7) v.URL_Length = "7";
    });
    const before = champion();
    const stop = writeFile(
      tmp.dir,
      "val-stop.yaml",
      `dataset: phishing\nsource: { kind: file, files: [${JSON.stringify(bad)}] }\nmodels: [logistic_regression]\n`,
    );
    const r = runCli(["train", "--config", stop, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ status: "FAILED", champion: false });
    expect(String(r.json!.failure)).toMatch(
      /^validation failed: column URL_Length: 30 value\(s\) not one of -1, 0, 1 .*, e\.g\. 7 at row 8 of .*out-of-schema\.csv/,
    );
    expect(champion()).toBe(before);
    const warn = writeFile(
      tmp.dir,
      "val-warn.yaml",
      `dataset: phishing\nsource: { kind: file, files: [${JSON.stringify(bad)}] }\nmodels: [logistic_regression]\nvalidation: { on_fail: warn }\ngates: { max_train_cv_gap: 1 }\n`,
    );
    const w = runCli(["train", "--config", warn, "--json"], env);
    expect(w.code, w.stderr).toBe(0);
    expect(w.json!.status).toBe("FINISHED");
    expect(
      (w.json!.warnings as string[]).some((x) => /^validation failed: column URL_Length: 30 value/.test(x)),
    ).toBe(true);
    expect(w.stderr).toMatch(/warning: validation failed: column URL_Length/);
  });

  // phishing features flipped (-1 ↔ 1) on every column whose allowed values allow it: valid, but drifted
  const flipped = (): string =>
    phishingFile("flipped.csv", 3000, (v) => {
      for (const h of HEADER) if (h !== "Redirect" && h !== "Result") v[h] = String(-Number(v[h]) || 0);
    });

  it("drift against the champion with on_drift: stop fails the run with the reason; the champion is unchanged", () => {
    const before = champion();
    const cfg = writeFile(
      tmp.dir,
      "drift-stop.yaml",
      `dataset: phishing\nsource: { kind: file, files: [${JSON.stringify(flipped())}] }\nmodels: [logistic_regression]\ndrift: { on_drift: stop }\n`,
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ status: "FAILED", champion: false, registry: null });
    expect(String(r.json!.failure)).toMatch(/^dataset drift: \d+ of 30 columns drifted \(threshold 0\.5\)$/);
    const html = readFileSync(
      join(String(r.json!.artifacts), "data_validation/drift_report/drift.html"),
      "utf8",
    );
    expect(html).toContain(`new training data vs champion netsec-phishing v${before}`);
    expect(champion()).toBe(before);
    const runs = runCli(["runs", "list", "--json"], env).json!.runs as Record<string, unknown>[];
    expect(runs[0]).toMatchObject({ id: r.json!.run_id, status: "FAILED" });
  });

  it("with on_drift: warn the same data trains, with the drift warning", () => {
    const cfg = writeFile(
      tmp.dir,
      "drift-warn.yaml",
      `dataset: phishing\nsource: { kind: file, files: [${JSON.stringify(flipped())}] }\nmodels: [logistic_regression]\ndrift: { on_drift: warn }\ngates: { max_train_cv_gap: 1 }\n`,
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.status).toBe("FINISHED");
    expect(
      (r.json!.warnings as string[]).some((x) => /^dataset drift: \d+ of 30 columns drifted/.test(x)),
    ).toBe(true);
  });

  it("target category on a schema without a category map fails before reading data, naming the map", () => {
    const before = champion();
    const n = (runCli(["runs", "list", "--json"], env).json!.runs as unknown[]).length;
    const cfg = writeFile(tmp.dir, "target.yaml", "dataset: phishing\ntarget: category\n");
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json!.error).toMatchObject({ code: "CONFIG_INVALID", details: { key: "target" } });
    expect(r.stderr).toMatch(
      /error \[CONFIG_INVALID\]: target category needs a label → category map \(labels\.categories\) in schema phishing \(.*datasets\/phishing\.yaml\)/,
    );
    const runs = runCli(["runs", "list", "--json"], env).json!.runs as { status: string; steps?: object }[];
    // recorded as a failed run that never reached ingest; the champion is untouched
    expect(runs).toHaveLength(n + 1);
    expect(runs[0]).toMatchObject({ status: "FAILED" });
    expect(champion()).toBe(before);
  });

  it("source.kind mongodb without a URI (config or MONGODB_URI) is refused naming both", () => {
    const cfg = writeFile(tmp.dir, "mongo.yaml", "dataset: phishing\nsource: { kind: mongodb }\n");
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CONFIG_INVALID.*source\.mongodb\.uri in the pipeline config or MONGODB_URI/);
  });

  it("an FPR budget no threshold can meet fails the run, naming it; the champion is unchanged", () => {
    const before = champion();
    // a single deep tree's out-of-fold scores are mostly 0 and 1: benign rows share the top score 1
    const cfg = writeFile(
      tmp.dir,
      "fpr-budget.yaml",
      "dataset: phishing\nmodels: [decision_tree]\nthreshold: { strategy: target_fpr, target_fpr: 0.000001 }\n",
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /GATE_FAILED.*threshold: no decision threshold keeps the false-positive rate within 0\.000001: the highest score \(1\) alone is given to \d+ of \d+ benign rows/,
    );
    const last = (
      runCli(["runs", "list", "--json"], env).json!.runs as { status: string; failure: string }[]
    )[0]!;
    expect(last.status).toBe("FAILED");
    expect(last.failure).toMatch(/no decision threshold keeps the false-positive rate within 0\.000001/);
    expect(champion()).toBe(before);
  });

  it("a champion whose bundle no longer loads is replaced by the next run, with a warning", () => {
    const before = champion()!;
    const dir = join(regDir, "versions", String(before));
    const modelJson = readFileSync(join(dir, "model.json"), "utf8");
    writeFileSync(join(dir, "model.json"), "{ not json");
    try {
      // accuracy: not the champion's registered metric, so the champion must be loaded and re-scored
      const cfg = writeFile(
        tmp.dir,
        "broken-champion.yaml",
        "dataset: phishing\nmodels: [logistic_regression]\nsearch: { scoring: accuracy }\n",
      );
      const r = runCli(["train", "--config", cfg, "--json"], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ status: "FINISHED", champion: true });
      const warnings = r.json!.warnings as string[];
      expect(warnings.join("\n")).toMatch(
        new RegExp(`champion v${before} is replaced: the champion's bundle does not load`),
      );
      expect(champion()).toBe((r.json!.registry as { version: number }).version);
    } finally {
      writeFileSync(join(dir, "model.json"), modelJson);
    }
  });
});

describe("a tampered bundle is refused by netsec predict, naming the file; nothing is run", () => {
  const input = writeFile(tmp.dir, "few.csv", `${PHISHING.slice(0, 21).join("\n")}\n`);
  const tamper = (name: string, file: string, edit: (o: Record<string, unknown>) => void): string => {
    const dir = join(tmp.dir, name);
    cpSync(join(regDir, "versions", "1"), dir, { recursive: true });
    const p = join(dir, file);
    const o = JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
    edit(o);
    writeFileSync(p, JSON.stringify(o));
    return dir;
  };
  it.each([
    [
      "an unknown format version",
      "bundle.json",
      (o: Record<string, unknown>) => void (o.format_version = 99),
    ],
    [
      "a threshold of the wrong type",
      "bundle.json",
      (o: Record<string, unknown>) => void (o.threshold = "0.5"),
    ],
    [
      "model.json naming an unknown model type",
      "model.json",
      (o: Record<string, unknown>) => void (o.model = "evil"),
    ],
  ])("%s", (name, file, edit) => {
    expect(existsSync(join(regDir, "versions", "1", "bundle.json"))).toBe(true);
    const dir = tamper(name.replaceAll(" ", "-"), file, edit);
    const out = join(tmp.dir, `${name.replaceAll(" ", "-")}.csv`);
    const r = runCli(["predict", "--model", dir, "--input", input, "--output", out, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error [BUNDLE_INVALID]: `);
    expect(r.stderr).toContain(join(dir, file));
    expect(r.json).toMatchObject({ ok: false, error: { code: "BUNDLE_INVALID" } });
    expect(existsSync(out)).toBe(false);
  });
});

describe("settings the run could not honour are refused, not ignored", () => {
  const home = join(tmp.dir, "home-refused");
  const run = (name: string, yaml: string) =>
    runCli(["train", "--config", writeFile(tmp.dir, name, yaml), "--json"], {
      NETSEC_HOME: home,
      NETSEC_STORE_URI: "",
    });

  it("grids or params for a misspelt model, or for a model the run does not train", () => {
    const a = run(
      "grid-typo.yaml",
      "dataset: phishing\nsearch: { grids: { random_forst: { n_estimators: [4] } } }\n",
    );
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/CONFIG_INVALID.*search\.grids\.random_forst: not a model name/);
    const b = run(
      "params-not-trained.yaml",
      "dataset: phishing\nmodels: [logistic_regression]\nsearch: { params: { random_forest: { n_estimators: 5 } } }\n",
    );
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      /search\.params\.random_forest: random_forest is not in models \(logistic_regression\)/,
    );
  });

  it("split.kind time without a timestamp column, predefined without test files", () => {
    const t = run("time.yaml", "dataset: phishing\nmodels: [logistic_regression]\nsplit: { kind: time }\n");
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(
      /CONFIG_INVALID.*split\.kind time needs a timestamp column, and the phishing schema names none/,
    );
    const p = run(
      "predefined.yaml",
      "dataset: phishing\nmodels: [logistic_regression]\nsplit: { kind: predefined }\n",
    );
    expect(p.code).toBe(1);
    expect(p.stderr).toMatch(/CONFIG_INVALID.*split\.kind predefined needs test files/);
    // both recorded as failed runs with the reason; no model registered
    const runs = runCli(["runs", "list", "--json"], { NETSEC_HOME: home }).json!.runs as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(["FAILED", "FAILED"]);
    expect(existsSync(join(home, "registry"))).toBe(false);
  });
});

describe("MLflow refusing the credentials during netsec train", () => {
  it("the run finishes locally, pending with the reason named, and no secret is printed or kept", async () => {
    // a stand-in tracking server in a process of its own (runCli blocks this one): 401 to everything
    const server = spawn(
      process.execPath,
      [
        "-e",
        `require("node:http").createServer((q, s) => { s.writeHead(401, { "content-type": "application/json" }); s.end('{"error_code":"UNAUTHENTICATED","message":"bad credentials"}'); }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const port = await new Promise<string>((resolve, reject) => {
        server.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
        server.once("exit", (c) => reject(new Error(`stand-in server exited with ${c}`)));
      });
      const home = join(tmp.dir, "home-mlflow-401");
      const secret = "s3cr3t-pa55word";
      const r = runCli(["train", "--dataset", "phishing", "--models", "logistic_regression", "--json"], {
        NETSEC_HOME: home,
        NETSEC_STORE_URI: "",
        MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}`,
        MLFLOW_TRACKING_USERNAME: "alice",
        MLFLOW_TRACKING_PASSWORD: secret,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({
        status: "FINISHED",
        champion: true,
        mlflow: { status: "pending", error_kind: "auth" },
      });
      const warnings = (r.json!.warnings as string[]).join("\n");
      expect(warnings).toMatch(/MLflow credentials rejected by http:\/\/127\.0\.0\.1:\d+ \(HTTP 401\)/);
      expect(warnings).toMatch(/fix the credentials, then `netsec runs sync [^`]+` uploads it/);
      expect(r.stderr).toContain("MLflow refused the credentials");
      const runs = readdirSync(join(home, "runs"));
      const kept = runs.map((id) => readFileSync(join(home, "runs", id, "run.json"), "utf8")).join("");
      expect(runs).toHaveLength(1);
      for (const text of [r.stdout, r.stderr, kept]) expect(text).not.toContain(secret);
    } finally {
      server.kill();
    }
  });
});
