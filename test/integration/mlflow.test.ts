/**
 * Experiment tracking against a real `mlflow server` (the project's venv, SQLite backend,
 * --serve-artifacts, 127.0.0.1), checked through MLflow's own REST API and Python client:
 * - a pipeline run becomes one parent run with one nested run per candidate, params, metrics, the
 *   reports and the model folder as artifacts, a registered model version and the alias `champion`;
 *   `mlflow.pyfunc.load_model("models:/<name>@champion")` predicts what `netsec predict` predicts;
 * - the server killed in the middle of a run loses nothing: the run finishes locally, pending, and
 *   `netsec runs sync` completes it once the server is back, without a duplicate run.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, ROOT, tempDir, writeFile } from "../helpers/env.ts";
import { parquetToCsv } from "../helpers/parquet.ts";

const URI = process.env.NETSEC_TEST_MLFLOW_TRACKING_URI;
const PYTHON = join(ROOT, ".venv/bin/python");
const MLFLOW = join(ROOT, ".venv/bin/mlflow");
if (!URI && process.env.NETSEC_TEST_MLFLOW !== "0")
  throw new Error("NETSEC_TEST_MLFLOW_TRACKING_URI is not set: the global set-up should have started mlflow");

const tmp = tempDir("netsec-mlflow-it-");
afterAll(tmp.cleanup);
const suffix = Math.random().toString(36).slice(2, 10);

// biome-ignore lint/suspicious/noExplicitAny: MLflow's REST responses, checked field by field below
type Json = Record<string, any>;

async function rest(base: string, method: "GET" | "POST", path: string, body?: unknown): Promise<Json> {
  const go = () =>
    fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  // the server closes idle keep-alive connections (uvicorn: after 5 s); a reused one fails once
  const res = await go().catch(() => go());
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Json) : {};
}

async function experimentId(base: string, name: string): Promise<string> {
  const r = await rest(
    base,
    "GET",
    `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
  );
  return r.experiment.experiment_id as string;
}

async function searchRuns(base: string, exp: string, filter: string): Promise<Json[]> {
  const r = await rest(base, "POST", "/api/2.0/mlflow/runs/search", {
    experiment_ids: [exp],
    filter,
    max_results: 1000,
  });
  return (r.runs as Json[] | undefined) ?? [];
}

const kv = (list: { key: string; value: unknown }[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((x) => [x.key, x.value]));

async function listArtifacts(base: string, runId: string, path = ""): Promise<string[]> {
  const r = await rest(
    base,
    "GET",
    `/api/2.0/mlflow/artifacts/list?run_id=${runId}${path ? `&path=${encodeURIComponent(path)}` : ""}`,
  );
  return ((r.files as { path: string }[] | undefined) ?? []).map((f) => f.path);
}

function pipelineConfig(modelName: string, models: string[]): string {
  return writeFile(
    tmp.dir,
    `pipeline-${modelName}.yaml`,
    `dataset: phishing\nmodel_name: ${modelName}\nmodels: [${models.join(", ")}]\n`,
  );
}

describe.skipIf(!URI)("MLflow tracking (real mlflow server)", () => {
  const exp = `netsec-it-${suffix}`;
  const modelName = `netsec-phishing-it-${suffix}`;
  const env = {
    NETSEC_HOME: join(tmp.dir, "home"),
    NETSEC_STORE_URI: "",
    MLFLOW_TRACKING_URI: URI,
    MLFLOW_EXPERIMENT_NAME: exp,
  };
  let res: Json;

  beforeAll(() => {
    const r = runCli(
      ["train", "--config", pipelineConfig(modelName, ["decision_tree", "logistic_regression"]), "--json"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    res = r.json!;
  }, 300_000);

  it("one parent run per pipeline run, with params, test metrics and the threshold", async () => {
    expect(res.mlflow).toMatchObject({ status: "synced", error: null });
    expect(typeof res.mlflow_run_id).toBe("string");
    const id = await experimentId(URI!, exp);
    expect(res.mlflow.experiment_id).toBe(id);
    const parents = await searchRuns(URI!, id, `tags.\`netsec.run_id\` = '${res.run_id}'`);
    expect(parents).toHaveLength(1);
    const p = parents[0]!;
    expect(p.info.run_id).toBe(res.mlflow_run_id);
    expect(p.info.status).toBe("FINISHED");
    const params = kv(p.data.params);
    expect(params.best_model).toBe(res.winner);
    expect(params["config.dataset"]).toBe("phishing");
    expect(params["config.model_name"]).toBe(modelName);
    const metrics = kv(p.data.metrics);
    for (const k of [
      "accuracy",
      "precision",
      "recall",
      "f1",
      "roc_auc",
      "pr_auc",
      "tpr_at_fpr_1pct",
      "threshold",
    ])
      expect(metrics[`test_${k}`], k).toBeCloseTo(res.test[k], 12);
    const tags = kv(p.data.tags);
    expect(tags["netsec.status"]).toBe("FINISHED");
    expect(tags["netsec.champion"]).toBe("true");
    expect(tags["mlflow.runName"]).toBe(`phishing-${res.run_id}`);
  });

  it("one nested run per candidate with its params, CV mean/std and fit time", async () => {
    const id = await experimentId(URI!, exp);
    const children = await searchRuns(URI!, id, `tags.mlflow.parentRunId = '${res.mlflow_run_id}'`);
    const cv = parse(readFileSync(join(res.artifacts, "model_trainer/cv_scores.csv")), {
      columns: true,
    }) as Record<string, string>[];
    expect(cv.length).toBe(4); // decision tree: 3 criteria; logistic regression: defaults
    expect(children).toHaveLength(cv.length);
    for (const c of children) {
      expect(c.info.status).toBe("FINISHED");
      const m = kv(c.data.metrics);
      for (const k of ["cv_mean", "cv_std", "fit_seconds", "cv_fold_1", "cv_fold_2", "cv_fold_3"])
        expect(typeof m[k], k).toBe("number");
    }
    // the winner's candidate carries the leaderboard's CV mean and its best params
    const lb = res.leaderboard[0] as { model: string; cv_mean: number; params: Record<string, unknown> };
    const win = children.filter((c) => kv(c.data.params).model === lb.model);
    const best = Math.max(...win.map((c) => kv(c.data.metrics).cv_mean as number));
    expect(best).toBeCloseTo(lb.cv_mean, 12);
    const dtCriteria = children
      .filter((c) => kv(c.data.params).model === "decision_tree")
      .map((c) => kv(c.data.params).criterion)
      .sort();
    expect(dtCriteria).toEqual(["entropy", "gini", "log_loss"]);
    // the selected candidate, and only it, is tagged and carries the test metrics and the threshold
    const selected = children.filter((c) => kv(c.data.tags)["netsec.winner"] === "true");
    expect(selected).toHaveLength(1);
    const sm = kv(selected[0]!.data.metrics);
    expect(kv(selected[0]!.data.params).model).toBe(res.winner);
    expect(sm.cv_mean).toBeCloseTo(lb.cv_mean, 12);
    expect(sm.test_f1).toBeCloseTo(res.test.f1, 12);
    expect(sm.test_threshold).toBeCloseTo(res.test.threshold, 12);
    for (const c of children.filter((x) => x !== selected[0]))
      expect(kv(c.data.metrics).test_f1).toBeUndefined();
  });

  it("the reports, the trainer outputs, the MLflow model and the bundle are artifacts", async () => {
    const top = await listArtifacts(URI!, res.mlflow_run_id);
    expect(top.sort()).toEqual(["data_validation", "model", "model_trainer", "netsec_bundle"]);
    expect((await listArtifacts(URI!, res.mlflow_run_id, "model")).sort()).toEqual([
      "model/MLmodel",
      "model/conda.yaml",
      "model/model.onnx",
      "model/python_env.yaml",
      "model/requirements.txt",
    ]);
    const drift = await listArtifacts(URI!, res.mlflow_run_id, "data_validation/drift_report");
    for (const f of ["report.yaml", "drift.json", "drift.html"])
      expect(drift).toContain(`data_validation/drift_report/${f}`);
    const trainer = await listArtifacts(URI!, res.mlflow_run_id, "model_trainer");
    for (const f of ["leaderboard.json", "cv_scores.csv", "test_metrics.json", "roc.svg", "pr.svg"])
      expect(trainer).toContain(`model_trainer/${f}`);
    // byte for byte what the run wrote locally
    const got = await fetch(
      `${URI}/get-artifact?path=${encodeURIComponent("model/model.onnx")}&run_uuid=${res.mlflow_run_id}`,
    );
    expect(got.status).toBe(200);
    const local = readFileSync(join(res.bundle, "onnx/model.onnx"));
    expect(Buffer.from(await got.arrayBuffer()).equals(local)).toBe(true);
  });

  it("registers a model version from the run and points the alias champion at it", async () => {
    const r = await rest(
      URI!,
      "GET",
      `/api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(modelName)}&alias=champion`,
    );
    expect(r.model_version).toMatchObject({
      name: modelName,
      version: "1",
      run_id: res.mlflow_run_id,
      status: "READY",
    });
    expect(r.model_version.source).toMatch(/\/model$/);
    expect(res.mlflow.model_version).toBe("1");
  });

  it("mlflow.pyfunc.load_model('models:/<name>@champion') predicts what `netsec predict` predicts", async () => {
    // the run's test split (Parquet) as CSV, for the Python script
    const input = await parquetToCsv(
      join(res.artifacts, "data_ingestion/ingested/test.parquet"),
      join(tmp.dir, "binary-test.csv"),
    );
    const { stdout } = await promisify(execFile)(
      PYTHON,
      [join(ROOT, "test/integration/mlflow_champion.py"), `models:/${modelName}@champion`, input],
      { env: { ...process.env, MLFLOW_TRACKING_URI: URI }, maxBuffer: 64 << 20, timeout: 180_000 },
    );
    const py = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      probability: number[];
      label: string[];
      run_id: string;
    };
    expect(py.run_id).toBe(res.mlflow_run_id);
    const out = join(tmp.dir, "netsec-predict.csv");
    const r = runCli(["predict", "--model", "champion", "--input", input, "--output", out, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(py.probability.length);
    expect(rows.length).toBeGreaterThan(2000);
    let maxDiff = 0;
    let labelMismatches = 0;
    rows.forEach((row, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(Number(row.probability) - py.probability[i]!));
      if (row.prediction !== py.label[i]) labelMismatches++;
    });
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    expect(labelMismatches).toBe(0);
  }, 240_000);

  it("runs sync of an already synced run duplicates nothing", async () => {
    const r = runCli(["runs", "sync", res.run_id, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ synced: 1, pending: 0 });
    const id = await experimentId(URI!, exp);
    expect(await searchRuns(URI!, id, `tags.\`netsec.run_id\` = '${res.run_id}'`)).toHaveLength(1);
    expect(await searchRuns(URI!, id, `tags.mlflow.parentRunId = '${res.mlflow_run_id}'`)).toHaveLength(4);
    const hist = await rest(
      URI!,
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${res.mlflow_run_id}&metric_key=test_f1`,
    );
    expect(hist.metrics).toHaveLength(1);
    const versions = await rest(
      URI!,
      "GET",
      `/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${modelName}'`)}`,
    );
    expect(versions.model_versions).toHaveLength(1);
  });

  it("a multiclass run (NSL-KDD categories) logs its per-class table; pyfunc labels rows as netsec does", async () => {
    const kdd = join(MIRROR, "nsl-kdd");
    const test = writeFile(
      tmp.dir,
      "kdd-test-quarter.txt",
      `${readFileSync(join(kdd, "KDDTest+.txt"), "utf8")
        .trim()
        .split("\n")
        .filter((_, i) => i % 4 === 0)
        .join("\n")}\n`,
    );
    const mcName = `netsec-nsl-kdd-category-it-${suffix}`;
    const cfg = writeFile(
      tmp.dir,
      "multiclass.yaml",
      [
        "dataset: nsl-kdd",
        "target: category",
        `model_name: ${mcName}`,
        `source: { kind: file, files: [${JSON.stringify(join(kdd, "KDDTrain+_20Percent.txt"))}], test_files: [${JSON.stringify(test)}] }`,
        "models: [logistic_regression]",
      ].join("\n"),
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const mc = r.json!;
    expect(mc.mlflow).toMatchObject({ status: "synced" });
    const pc = mc.per_class as {
      accuracy: number;
      per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
      macro: { f1: number };
    };
    const run = (await rest(URI!, "GET", `/api/2.0/mlflow/runs/get?run_id=${mc.mlflow_run_id}`)).run as Json;
    const m = kv(run.data.metrics);
    expect(Object.keys(pc.per_class).sort()).toEqual(["dos", "normal", "probe", "r2l", "u2r"]);
    for (const [c, row] of Object.entries(pc.per_class))
      for (const k of ["precision", "recall", "f1", "support"] as const)
        expect(m[`test_class.${c}.${k}`], `${c}.${k}`).toBeCloseTo(row[k], 12);
    expect(m["test_class.macro.f1"]).toBeCloseTo(pc.macro.f1, 12);
    expect(m["test_class.accuracy"]).toBeCloseTo(pc.accuracy, 12);
    // the registered ONNX model under MLflow's own loader: class labels and P(threat) as netsec predict
    const input = await parquetToCsv(
      join(mc.artifacts as string, "data_ingestion/ingested/test.parquet"),
      join(tmp.dir, "multiclass-test.csv"),
    );
    const { stdout } = await promisify(execFile)(
      PYTHON,
      [join(ROOT, "test/integration/mlflow_champion.py"), `models:/${mcName}@champion`, input],
      { env: { ...process.env, MLFLOW_TRACKING_URI: URI }, maxBuffer: 64 << 20, timeout: 180_000 },
    );
    const py = JSON.parse(stdout.trim().split("\n").at(-1)!) as { probability: number[]; label: string[] };
    const out = join(tmp.dir, "netsec-predict-multiclass.csv");
    const p = runCli(
      ["predict", "--model", `${mcName}@champion`, "--input", input, "--output", out, "--json"],
      env,
    );
    expect(p.code, p.stderr).toBe(0);
    const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(py.label.length);
    expect(new Set(rows.map((x) => x.prediction)).size).toBeGreaterThan(2);
    rows.forEach((row, i) => {
      expect(Math.abs(Number(row.probability) - py.probability[i]!)).toBeLessThanOrEqual(1e-5);
      expect(row.prediction).toBe(py.label[i]);
    });
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------------
// A private server we can kill and restart on the same port and storage.

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

async function startMlflow(dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(join(dir, "artifacts"), { recursive: true });
  const child = spawn(
    MLFLOW,
    [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "1",
      "--backend-store-uri",
      `sqlite:///${join(dir, "mlflow.db")}`,
      "--serve-artifacts",
      "--artifacts-destination",
      join(dir, "artifacts"),
    ],
    {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, PATH: `${join(ROOT, ".venv/bin")}:${process.env.PATH}` },
    },
  );
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      if (r.ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mlflow server on port ${port} did not start`);
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

describe.skipIf(!URI || !existsSync(MLFLOW))("MLflow outage in the middle of a run", () => {
  const dir = join(tmp.dir, "private-mlflow");
  let server: ChildProcess | null = null;
  afterAll(() => {
    if (server) killGroup(server);
  });

  it("the run finishes locally, pending; runs sync completes it once the server is back, without duplicates", async () => {
    const port = await freePort();
    const uri = `http://127.0.0.1:${port}`;
    server = await startMlflow(dir, port);
    const exp = `netsec-outage-${suffix}`;
    const modelName = `netsec-phishing-outage-${suffix}`;
    const env = {
      ...process.env,
      NETSEC_DATASET_MIRROR: MIRROR,
      NETSEC_LOG_LEVEL: "warn",
      NETSEC_HOME: join(tmp.dir, "home-outage"),
      NETSEC_STORE_URI: "",
      MLFLOW_TRACKING_URI: uri,
      MLFLOW_EXPERIMENT_NAME: exp,
    };
    // the pipeline in a child process; the server is killed as soon as training starts
    const cli = spawn(
      process.execPath,
      [
        join(ROOT, "src/cli/main.ts"),
        "train",
        "--config",
        pipelineConfig(modelName, ["decision_tree", "random_forest"]),
        "--json",
      ],
      { cwd: ROOT, env },
    );
    let stdout = "";
    let stderr = "";
    let killedAt = "";
    cli.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    cli.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (!killedAt && /^\[train\]/m.test(stderr)) {
        killedAt = stderr.split("\n").filter(Boolean).at(-1) ?? "";
        killGroup(server!);
      }
    });
    const code = await new Promise<number>((resolve) => cli.on("close", (c) => resolve(c ?? -1)));
    expect(killedAt, stderr).toMatch(/^\[train\]/);
    expect(code, stderr).toBe(0);
    const res = JSON.parse(stdout.trim().split("\n").at(-1)!) as Json;
    expect(res.status).toBe("FINISHED");
    expect(res.champion).toBe(true);
    expect(res.mlflow.status).toBe("pending");
    expect(res.mlflow.error).toMatch(/unreachable|ECONNREFUSED|fetch failed/i);
    // opened while the server was up: the parent run exists (RUNNING) and is the one sync completes
    const openedRunId = res.mlflow.run_id as string;
    expect(typeof openedRunId).toBe("string");
    expect(res.warnings.join("\n")).toMatch(/runs sync/);
    const local = runCli(["runs", "show", res.run_id, "--json"], env);
    expect((local.json!.run as Json).mlflow.status).toBe("pending");

    // while it is down, sync fails cleanly and keeps the run pending
    const down = runCli(["runs", "sync", "--json"], env);
    expect(down.code).toBe(1);
    expect(down.json).toMatchObject({ synced: 0, pending: 1 });

    server = await startMlflow(dir, port);
    const up = runCli(["runs", "sync", "--json"], env);
    expect(up.code, up.stderr).toBe(0);
    expect(up.json).toMatchObject({ synced: 1, pending: 0 });
    expect((up.json!.runs as Json[])[0]!.mlflow_run_id).toBe(openedRunId);
    // nothing pending any more: a second sync has nothing to do
    const again = runCli(["runs", "sync", "--json"], env);
    expect(again.json).toMatchObject({ synced: 0, pending: 0 });
    runCli(["runs", "sync", res.run_id, "--json"], env); // forced re-sync is idempotent too

    const id = await experimentId(uri, exp);
    const parents = await searchRuns(uri, id, `tags.\`netsec.run_id\` = '${res.run_id}'`);
    expect(parents).toHaveLength(1);
    expect(parents[0]!.info.run_id).toBe(openedRunId);
    expect(parents[0]!.info.status).toBe("FINISHED");
    expect(kv(parents[0]!.data.metrics).test_f1).toBeCloseTo(res.test.f1, 12);
    const cvRows =
      readFileSync(join(res.artifacts, "model_trainer/cv_scores.csv"), "utf8").trim().split("\n").length - 1;
    expect(cvRows).toBe(8); // decision tree 3 + random forest 5
    expect(await searchRuns(uri, id, `tags.mlflow.parentRunId = '${openedRunId}'`)).toHaveLength(cvRows);
    const all = await searchRuns(uri, id, "");
    expect(all).toHaveLength(1 + cvRows);
    const hist = await rest(
      uri,
      "GET",
      `/api/2.0/mlflow/metrics/get-history?run_id=${openedRunId}&metric_key=test_f1`,
    );
    expect(hist.metrics).toHaveLength(1);
    const alias = await rest(
      uri,
      "GET",
      `/api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(modelName)}&alias=champion`,
    );
    expect(alias.model_version).toMatchObject({ version: "1", run_id: openedRunId });
    expect((await listArtifacts(uri, openedRunId, "model")).sort()).toContain("model/model.onnx");
  }, 600_000);
});
