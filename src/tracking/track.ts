/**
 * Pushing a finished (or failed) pipeline run to MLflow: one parent run per pipeline run, one nested
 * run per candidate (params, CV mean/std, train score, fit time), the winner's test metrics and
 * threshold on the parent, the reports and the model folder as artifacts, and — for a registered model —
 * a registered model version with the alias `champion` when it became champion.
 *
 * Idempotent, so a run logged while MLflow was down can be synced later without duplicates: every
 * MLflow run carries the tag `netsec.run_id` and is looked up by it before one is created; params are
 * set-once, identical metric entries are deduplicated by MLflow, artifacts are PUT by path, and a model
 * version is reused when one exists for the run.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { Config } from "../config/env.ts";
import { runPaths } from "../config/home.ts";
import { NetsecError, redactUri } from "../core/errors.ts";
import { MlflowClient, type RunInfo } from "./mlflow.ts";
import type { MlflowSyncState, RunRecord } from "./run-store.ts";

export interface TrackResult {
  experiment_id: string;
  mlflow_run_id: string;
  children: number;
  artifacts: number;
  model_version: string | null;
  alias: "alias" | "tag" | null;
}

export function mlflowClientFrom(env: Readonly<Config>): MlflowClient | null {
  if (!env.MLFLOW_TRACKING_URI) return null;
  return new MlflowClient(env.MLFLOW_TRACKING_URI, {
    username: env.MLFLOW_TRACKING_USERNAME,
    password: env.MLFLOW_TRACKING_PASSWORD,
    token: env.MLFLOW_TRACKING_TOKEN,
  });
}

function flatten(obj: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = obj;
  return out;
}

const PARENT_TAGS = (rec: RunRecord): Record<string, string> => ({
  "netsec.run_id": rec.id,
  "netsec.dataset": rec.dataset,
  "netsec.kind": "pipeline",
});

/**
 * Open (or find) the run's parent run at the start of a pipeline, so it shows as RUNNING in MLflow while
 * it trains. Best effort: returns the state to record, `pending` with the reason when MLflow is down.
 */
export async function startTracking(
  client: MlflowClient,
  env: Readonly<Config>,
  rec: RunRecord,
): Promise<MlflowSyncState> {
  const state: MlflowSyncState = {
    status: "pending",
    tracking_uri: client.shownUri,
    experiment_id: null,
    run_id: null,
    model_version: null,
    error: null,
    synced_at: null,
  };
  try {
    const exp = await client.experimentId(env.MLFLOW_EXPERIMENT_NAME);
    const run = await client.ensureRun(
      exp,
      "netsec.run_id",
      rec.id,
      rec.name,
      PARENT_TAGS(rec),
      Date.parse(rec.started),
    );
    state.experiment_id = exp;
    state.run_id = run.run_id;
  } catch (e) {
    state.error = e instanceof Error ? e.message : String(e);
    state.error_kind = errorKind(e);
  }
  return state;
}

/** A 401/403 from the server: retrying later will not help until the credentials are fixed. */
function errorKind(e: unknown): "auth" | "other" {
  const status = e instanceof NetsecError ? e.details.status : undefined;
  return status === 401 || status === 403 ? "auth" : "other";
}

/**
 * Push a finished or failed run to MLflow; never throws. `synced` with the MLflow ids, or `pending`
 * with the reason (the run stays complete locally and `netsec runs sync` finishes the upload later).
 */
export async function syncRun(
  client: MlflowClient,
  env: Readonly<Config>,
  rec: RunRecord,
): Promise<MlflowSyncState> {
  try {
    const r = await trackRun(client, env, rec);
    return {
      status: "synced",
      tracking_uri: client.shownUri,
      experiment_id: r.experiment_id,
      run_id: r.mlflow_run_id,
      model_version: r.model_version,
      error: null,
      synced_at: new Date().toISOString(),
    };
  } catch (e) {
    return {
      status: "pending",
      tracking_uri: redactUri(client.uri),
      experiment_id: rec.mlflow?.experiment_id ?? null,
      run_id: rec.mlflow?.run_id ?? null,
      model_version: null,
      error: e instanceof Error ? e.message : String(e),
      error_kind: errorKind(e),
      synced_at: null,
    };
  }
}

/** Whether cv_scores.csv's params (JSON) are the selected candidate's (keys in any order). */
function sameParams(json: string | undefined, best: Record<string, unknown> | null): boolean {
  if (!best) return false;
  const canon = (o: Record<string, unknown>): string =>
    JSON.stringify(
      Object.keys(o)
        .sort()
        .map((k) => [k, o[k]]),
    );
  try {
    return canon(JSON.parse(json ?? "{}") as Record<string, unknown>) === canon(best);
  } catch {
    return false;
  }
}

/** Whether a relative path is `dir` or inside it. */
const inDir =
  (dir: string) =>
  (rel: string): boolean =>
    rel === dir || rel.startsWith(`${dir}/`);

export async function trackRun(
  client: MlflowClient,
  env: Readonly<Config>,
  rec: RunRecord,
): Promise<TrackResult> {
  const exp = await client.experimentId(env.MLFLOW_EXPERIMENT_NAME);
  const started = Date.parse(rec.started);
  const ended = rec.finished ? Date.parse(rec.finished) : Date.now();
  const parent: RunInfo = await client.ensureRun(
    exp,
    "netsec.run_id",
    rec.id,
    rec.name,
    PARENT_TAGS(rec),
    started,
  );
  const params: Record<string, unknown> = { ...flatten(rec.config, "config"), best_model: rec.best_model };
  for (const [k, v] of Object.entries(rec.best_params ?? {})) params[`best.${k}`] = v;
  const testMetrics = Object.entries(rec.metrics)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => ({ key: `test_${k}`, value: v as number, timestamp: ended, step: 0 }));
  const metrics = [...testMetrics];
  for (const [set, m] of Object.entries(rec.test_sets ?? {}))
    for (const [k, v] of Object.entries(m))
      metrics.push({ key: `test_set.${set}.${k}`, value: v, timestamp: ended, step: 0 });
  // multiclass: test_class.<class>.<metric> (MLflow keys allow letters, digits, _ - . / and spaces)
  for (const [k, v] of Object.entries(rec.per_class ?? {}))
    metrics.push({ key: `test_class.${k.replace(/[^\w\-./ ]/g, "_")}`, value: v, timestamp: ended, step: 0 });
  for (const [k, v] of Object.entries(rec.steps))
    metrics.push({ key: `seconds_${k}`, value: v, timestamp: ended, step: 0 });
  await client.logBatch(parent.run_id, {
    params,
    metrics,
    tags: {
      "netsec.status": rec.status,
      ...(rec.failure ? { "netsec.failure": rec.failure } : {}),
      "netsec.champion": String(rec.champion),
    },
  });

  // nested candidate runs
  const paths = runPaths(env.home, rec.id);
  let children = 0;
  const cvPath = join(paths.trainer, "cv_scores.csv");
  if (existsSync(cvPath)) {
    const rows = parse(readFileSync(cvPath), { columns: true }) as Record<string, string>[];
    // the leaderboard's first row is the selected candidate, with its params as the grid gave them
    const selected = rec.leaderboard[0] as { model?: string; params?: unknown } | undefined;
    for (const [i, row] of rows.entries()) {
      const tag = `${rec.id}/candidate-${i}`;
      const child = await client.ensureRun(
        exp,
        "netsec.run_id",
        tag,
        `${row.model}-${i}`,
        { "mlflow.parentRunId": parent.run_id, "netsec.kind": "candidate" },
        started,
      );
      const cp: Record<string, unknown> = { model: row.model };
      for (const [k, v] of Object.entries(JSON.parse(row.params ?? "{}") as Record<string, unknown>))
        cp[k] = v;
      const cm = ["cv_mean", "cv_std", "train_mean", "fit_seconds"].map((k) => ({
        key: k,
        value: Number(row[k]),
        timestamp: ended,
        step: 0,
      }));
      Object.keys(row)
        // each fold's score, or a single candidate's out-of-bag one (cv_out_of_bag)
        .filter((k) => k.startsWith("fold_") || k === "out_of_bag")
        .forEach((k) => {
          cm.push({ key: `cv_${k}`, value: Number(row[k]), timestamp: ended, step: 0 });
        });
      // the selected candidate carries the test metrics and the threshold too, and says it was selected
      const winner =
        row.model === rec.best_model &&
        row.model === selected?.model &&
        sameParams(row.params, (selected?.params as Record<string, unknown> | undefined) ?? null);
      if (winner) cm.push(...testMetrics);
      await client.logBatch(child.run_id, {
        params: cp,
        metrics: cm,
        ...(winner ? { tags: { "netsec.winner": "true" } } : {}),
      });
      if (child.status !== "FINISHED") await client.endRun(child.run_id, "FINISHED", ended);
      children++;
    }
  }

  // artifacts: reports, trainer outputs, the MLflow model (onnx/) and netsec's own bundle
  let artifacts = 0;
  if (existsSync(paths.validation))
    artifacts += await client.uploadDir(parent, paths.validation, "data_validation");
  if (existsSync(paths.trainer))
    artifacts += await client.uploadDir(parent, paths.trainer, "model_trainer", inDir("model"));
  const onnxDir = join(paths.bundle, "onnx");
  if (existsSync(onnxDir)) {
    artifacts += await client.uploadDir(parent, onnxDir, "model", (rel) => rel === "MLmodel");
    // as a model logged in this MLflow run: MLmodel names the MLflow run, not netsec's run id
    const mlmodel = join(onnxDir, "MLmodel");
    if (existsSync(mlmodel)) {
      const doc = parseYaml(readFileSync(mlmodel, "utf8")) as Record<string, unknown>;
      doc.run_id = parent.run_id;
      doc.artifact_path = "model";
      await client.uploadBytes(parent, Buffer.from(stringifyYaml(doc)), "model/MLmodel");
      artifacts++;
    }
  }
  if (existsSync(paths.bundle))
    artifacts += await client.uploadDir(parent, paths.bundle, "netsec_bundle", inDir("onnx"));
  const status = rec.status === "FINISHED" ? "FINISHED" : rec.status === "INTERRUPTED" ? "KILLED" : "FAILED";
  await client.endRun(parent.run_id, status, ended);

  let version: string | null = null;
  let alias: TrackResult["alias"] = null;
  if (rec.status === "FINISHED" && rec.registry && existsSync(join(onnxDir, "MLmodel"))) {
    version = await client.registerVersion(rec.registry.name, `${parent.artifact_uri}/model`, parent.run_id);
    if (rec.champion) alias = await client.setAlias(rec.registry.name, "champion", version);
  }
  return {
    experiment_id: exp,
    mlflow_run_id: parent.run_id,
    children,
    artifacts,
    model_version: version,
    alias,
  };
}
