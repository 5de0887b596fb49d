/**
 * The training pipeline (`netsec train --config`, `POST /train`): ingest → validate → drift → transform
 * → tune → select on CV → evaluate once on the untouched test split → gates → bundle → register.
 * Every run writes artifacts/<run id>/ and a run record, and fails with a recorded reason (never a
 * silent fallback); a failed run leaves the champion unchanged.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { BundlePredictor } from "../bundle/bundle.ts";
import { modelCardHtml, modelCardMarkdown } from "../bundle/model-card.ts";
import { pipelineIRFromModels } from "../bundle/onnx/from-models.ts";
import { writeOnnxModel } from "../bundle/onnx/write.ts";
import { ModelRegistry } from "../bundle/registry.ts";
import { digestHas, readTrainDigest, rowHashes } from "../bundle/train-digest.ts";
import type { Config } from "../config/env.ts";
import { NetsecError, redactUri } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { safeCsv } from "../core/spreadsheet-safe.ts";
import { type IngestResult, ingestDocuments, ingestFile } from "../datasets/ingest.ts";
import { fetchDataset, getDataset } from "../datasets/registry.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { loadSchemaFile } from "../datasets/schema.ts";
import {
  duplicateAwareSplit,
  duplicateGroupsOfFrame,
  type Split,
  stratifiedSplit,
  timeSplit,
} from "../datasets/split.ts";
import { loadStoreFrame, type StoreFrame } from "../datasets/store-frame.ts";
import { binaryMetrics } from "../selection/metrics.ts";
import { readCollection } from "../store/mongo-source.ts";
import { openStore } from "../store/open.ts";
import {
  type ChampionComparison,
  HEARTBEAT_SECONDS,
  type RunRecord,
  RunStore,
} from "../tracking/run-store.ts";
import { s3StoreFrom } from "../tracking/s3.ts";
import { syncRunToS3 } from "../tracking/s3-sync.ts";
import { mlflowClientFrom, startTracking, syncRun } from "../tracking/track.ts";
import { confusionMatrixChart, lineChart, renderSvg } from "../validate/charts.ts";
import { detectDrift } from "../validate/drift.ts";
import type { DataProfile } from "../validate/profile.ts";
import { writeDriftReports } from "../validate/report/index.ts";
import { validateStore } from "../validate/store-validate.ts";
import { writeValidationReport } from "../validate/validate.ts";
import { makeRunDirs, newRunId, runPaths } from "./artifacts.ts";
import type { PipelineConfig } from "./config.ts";
import { leaderboardCsv, leaderboardEntries, leaderboardHtml } from "./leaderboard.ts";
import { writeNpyInt64, writeNpyMatrix } from "./npy.ts";
import {
  type ClassSpace,
  classSpace,
  classValues,
  encodeTarget,
  evaluateScores,
  frameSha256,
  metricsRecord,
  noCategories,
  type PerClassReport,
  type RowOrigin,
  type ScoredMetrics,
  scoredMetrics,
  scoreName,
  scoreOf,
  threatTarget,
  trainAndEvaluate,
} from "./train.ts";

export interface PipelineProgress {
  step: string;
  progress: number;
  message: string;
  /** A line to keep (per-candidate search results), not a transient status that the next replaces. */
  keep?: boolean;
}

export interface PipelineResult {
  run_id: string;
  status: "FINISHED" | "FAILED";
  artifacts: string;
  winner: string | null;
  leaderboard: RunRecord["leaderboard"];
  test: Record<string, number> | null;
  champion: boolean;
  registry: { name: string; version: number } | null;
  failure: string | null;
  warnings: string[];
  bundle: string | null;
  params: Record<string, unknown> | null;
  fit_seconds: number | null;
  threshold: number | null;
  split: string | null;
  /** The MLflow parent run, when MLflow is configured and the run reached it. */
  mlflow_run_id: string | null;
  mlflow: RunRecord["mlflow"] | null;
  /** The winner's metrics on every test set by name (main test set first). */
  test_sets: Record<string, Record<string, number>> | null;
  /** What the model predicts (config `target`). */
  target: PipelineConfig["target"];
  /** Multiclass targets: per-class metrics on the main test set (null for binary or before evaluation). */
  per_class: PerClassReport | null;
  /** How a re-scored champion was compared (null when it was not re-scored). */
  champion_comparison: ChampionComparison | null;
}

const STEPS = ["ingest", "validate", "drift", "train", "evaluate", "register", "track"] as const;

/**
 * Fewest test rows, after leaving out those the champion was trained on, on which a re-scored
 * champion is compared with a new model; with fewer (or one class only), the run decides on its own
 * gates.
 */
export const MIN_FAIR_ROWS = 30;

/** Indices of the rows whose feature vector is not in `digest` (every row when there is none). */
function fairRows(frame: Frame, columns: readonly string[], digest: BigUint64Array | null): number[] {
  const all = Array.from({ length: frame.nRows }, (_, i) => i);
  if (!digest) return all;
  const h = rowHashes(frame, columns);
  return all.filter((i) => !digestHas(digest, h[i]!));
}

/** Each row's file (or collection) and row within it, for messages about a row of a store frame. */
function originOf(sf: StoreFrame): RowOrigin {
  return (i) => {
    const src = sf.sources[sf.sourceIndex[i]!];
    return { ...(src ? { file: src.location } : {}), row: sf.sourceRow[i]! };
  };
}

/** The per-class table as flat numbers for the run record and MLflow (see RunRecord.per_class). */
function flatPerClass(pc: PerClassReport): Record<string, number> {
  const out: Record<string, number> = { accuracy: pc.accuracy };
  for (const [c, r] of Object.entries(pc.per_class))
    for (const [k, v] of Object.entries(r)) if (typeof v === "number") out[`${c}.${k}`] = v;
  for (const avg of ["macro", "weighted"] as const)
    for (const [k, v] of Object.entries(pc[avg])) out[`${avg}.${k}`] = v;
  return out;
}

function frameCsv(frame: Frame): string {
  const rows: (string | number)[][] = [];
  for (let r = 0; r < frame.nRows; r++) rows.push(frame.columns.map((c) => frame.value(r, c.name) ?? ""));
  return safeCsv(rows, frame.names);
}

/**
 * The collection of `source.kind: mongodb`: the config's source.mongodb, each key falling back to the
 * environment (MONGODB_URI, MONGODB_DB, MONGODB_COLLECTION) as `netsec ingest --mongodb` does.
 */
function mongoSource(
  cfg: PipelineConfig,
  env: Readonly<Config>,
): { uri: string; db: string; collection: string } {
  const m = cfg.source.mongodb ?? {};
  const uri = m.uri ?? env.MONGODB_URI;
  if (!uri)
    throw new NetsecError(
      "CONFIG_INVALID",
      "source.kind mongodb needs a URI: source.mongodb.uri in the pipeline config or MONGODB_URI",
      { key: "source.mongodb.uri", variable: "MONGODB_URI" },
    );
  return { uri, db: m.db ?? env.MONGODB_DB, collection: m.collection ?? env.MONGODB_COLLECTION };
}

/** The config as recorded in the run record (and so in MLflow params): a MongoDB URI's secrets hidden. */
function recordedConfig(cfg: PipelineConfig): Record<string, unknown> {
  const c = structuredClone(cfg);
  if (c.source.mongodb?.uri) c.source.mongodb.uri = redactUri(c.source.mongodb.uri);
  return c as unknown as Record<string, unknown>;
}

/**
 * The test split's confusion matrix: binary 2×2 in the dataset's own label values (the role spelt
 * out when the value does not say it: phishing's are "1" and "-1"); multiclass K×K over the classes,
 * plus a row for test labels unseen in training when there are any.
 */
function confusionChart(res: Awaited<ReturnType<typeof trainAndEvaluate>>) {
  const title = `Confusion matrix — ${res.winner}, test split, threshold ${res.threshold.toFixed(4)}`;
  const pc = res.perClass;
  if (!pc) {
    const [benignLabel, threatLabel] = res.manifest.class_labels;
    const named = (label: string | undefined, role: string): string =>
      label === undefined || label === role ? role : `${label} (${role})`;
    return confusionMatrixChart(
      res.test.confusion,
      { threat: named(threatLabel, "threat"), benign: named(benignLabel, "benign") },
      { title },
    );
  }
  const names = pc.classes.map((c, k) => `${c} (${pc.class_is_threat[k] ? "threat" : "benign"})`);
  const unseen = pc.unseen.rows
    ? [
        {
          name: `unseen in training (${Object.keys(pc.unseen.classes).length} labels)`,
          counts: pc.classes.map((c) => pc.unseen.predicted[c] ?? 0),
        },
      ]
    : [];
  return confusionMatrixChart({ classes: names, counts: pc.confusion, extraRows: unseen }, { title });
}

export async function runPipeline(
  cfg: PipelineConfig,
  env: Readonly<Config>,
  onProgress: (p: PipelineProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<PipelineResult> {
  const s3 = s3StoreFrom(env); // an invalid NETSEC_S3_URI is refused before the run starts
  const runId = newRunId();
  const paths = runPaths(env.home, runId);
  makeRunDirs(paths);
  const store = new RunStore(env.home);
  // runs left RUNNING by a process that is gone are marked INTERRUPTED before this one starts
  store.scan(Number.MAX_SAFE_INTEGER);
  const schema: DatasetSchema = cfg.schema ? loadSchemaFile(cfg.schema) : getDataset(cfg.dataset, env.home);
  const rec: RunRecord = {
    id: runId,
    name: `${schema.name}-${runId}`,
    status: "RUNNING",
    started: new Date().toISOString(),
    finished: null,
    dataset: schema.name,
    config: recordedConfig(cfg),
    steps: {},
    best_model: null,
    best_params: null,
    metrics: {},
    leaderboard: [],
    artifacts: paths.root,
    champion: false,
    registry: null,
    failure: null,
    warnings: [],
    process: { pid: process.pid, host: hostname(), heartbeat: new Date().toISOString() },
  };
  store.save(rec);
  // the heartbeat says the run is alive; a reader marks it INTERRUPTED when it stops (run-store.ts)
  const heartbeat = setInterval(() => {
    rec.process!.heartbeat = new Date().toISOString();
    store.save(rec);
  }, HEARTBEAT_SECONDS * 1000);
  heartbeat.unref();
  const tracker = mlflowClientFrom(env);
  const steps: readonly (typeof STEPS)[number][] = tracker ? STEPS : STEPS.slice(0, -1);
  const extra: {
    fitSeconds: number | null;
    threshold: number | null;
    split: string | null;
    perClass: PerClassReport | null;
  } = {
    fitSeconds: null,
    threshold: null,
    split: null,
    perClass: null,
  };
  const step = (name: (typeof STEPS)[number], frac: number, message: string, keep = false): void => {
    const i = steps.indexOf(name);
    onProgress({ step: name, progress: (i + frac) / steps.length, message, ...(keep ? { keep } : {}) });
  };
  const timed = async <T>(name: (typeof STEPS)[number], fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    step(name, 0, `${name}…`);
    const r = await fn();
    rec.steps[name] = (performance.now() - t) / 1000;
    store.save(rec);
    return r;
  };
  // MLflow: the parent run is opened now (RUNNING while it trains) and completed at the end; when the
  // server is unreachable the run still completes locally, marked pending for `netsec runs sync`.
  if (tracker) {
    rec.mlflow = await startTracking(tracker, env, rec);
    store.save(rec);
  }
  const track = async (): Promise<void> => {
    if (!tracker) return;
    step("track", 0, `logging the run to MLflow at ${tracker.shownUri}…`);
    const t0 = performance.now();
    rec.mlflow = await syncRun(tracker, env, rec);
    rec.steps.track = (performance.now() - t0) / 1000;
    if (rec.mlflow.status === "pending") {
      const auth = rec.mlflow.error_kind === "auth";
      rec.warnings.push(
        auth
          ? `MLflow: ${rec.mlflow.error} — the run is kept locally; fix the credentials, then \`netsec runs sync ${rec.id}\` uploads it`
          : `MLflow: ${rec.mlflow.error} — the run is kept locally; \`netsec runs sync ${rec.id}\` uploads it when the server is back`,
      );
      step(
        "track",
        1,
        auth
          ? "MLflow refused the credentials: run kept locally, pending sync"
          : "MLflow unreachable: run kept locally, pending sync",
      );
    } else step("track", 1, `logged to MLflow run ${rec.mlflow.run_id}`);
  };
  // S3 (NETSEC_S3_URI): the finished run's folder, record and model version, last; an unreachable
  // bucket leaves the run complete locally, pending for `netsec runs push`
  const pushToS3 = async (): Promise<void> => {
    if (!s3) return;
    onProgress({ step: "s3", progress: 1, message: `pushing the run to ${s3.shownUri}…` });
    rec.s3 = await syncRunToS3(s3, env, rec);
    if (rec.s3.status === "pending")
      rec.warnings.push(
        `S3: ${rec.s3.error} — the run is kept locally; ${rec.s3.error_kind === "auth" ? "fix the credentials, then " : ""}\`netsec runs push ${rec.id}\` uploads it`,
      );
    store.save(rec);
    onProgress({
      step: "s3",
      progress: 1,
      message:
        rec.s3.status === "synced"
          ? `pushed to ${s3.shownUri}: uploaded ${rec.s3.uploaded}, skipped ${rec.s3.skipped}`
          : `S3 unavailable: run kept locally, pending push`,
    });
  };
  const finish = async (): Promise<void> => {
    clearInterval(heartbeat);
    rec.finished = new Date().toISOString();
    store.save(rec);
    await track();
    store.save(rec);
    writeFileSync(join(paths.root, "run.json"), `${JSON.stringify(rec, null, 2)}\n`);
    await pushToS3();
  };
  const fail = async (reason: string): Promise<PipelineResult> => {
    rec.status = "FAILED";
    rec.failure = reason;
    await finish();
    return {
      run_id: runId,
      status: "FAILED",
      artifacts: paths.root,
      winner: rec.best_model,
      leaderboard: rec.leaderboard,
      test: Object.keys(rec.metrics).length ? (rec.metrics as Record<string, number>) : null,
      champion: false,
      registry: null,
      failure: reason,
      warnings: rec.warnings,
      bundle: rec.best_model ? paths.bundle : null,
      params: rec.best_params,
      fit_seconds: extra.fitSeconds,
      threshold: extra.threshold,
      split: extra.split,
      mlflow_run_id: rec.mlflow?.run_id ?? null,
      mlflow: rec.mlflow ?? null,
      test_sets: rec.test_sets ?? null,
      target: cfg.target,
      per_class: extra.perClass,
      champion_comparison: rec.champion_comparison ?? null,
    };
  };
  try {
    // a target the schema cannot give is refused before any data is read
    if (
      cfg.target === "category" &&
      !schema.raw.labels.categories &&
      schema.raw.labels.category_column === undefined
    )
      throw noCategories(schema);
    // 1. ingest: registry files (or given files) into the record store, then read the split back
    let runSources: string[] = [];
    let testName = "test";
    const extraTests: { name: string; frame: Frame }[] = [];
    const { train, test, splitKind } = await timed("ingest", async () => {
      const rs = openStore(env.storeUri, { waitSeconds: env.NETSEC_STORE_WAIT_SECONDS });
      await rs.open();
      try {
        let trainSources: string[] = [];
        const testSources: string[] = [];
        const alsoSources: { name: string; source: string }[] = [];
        // what the run read, for the run record (a source id alone does not say which file or collection)
        const note = (
          role: NonNullable<RunRecord["sources"]>[number]["role"],
          r: Pick<IngestResult, "source" | "location" | "rows">,
        ): string => {
          (rec.sources ??= []).push({ source: r.source, location: r.location, rows: r.rows, role });
          return r.source;
        };
        const storedSources = async (): Promise<string[]> => {
          const all = await rs.listSources(schema.name);
          return all.map((x) => note("train", x));
        };
        const splitName =
          cfg.source.kind === "dataset" ? (cfg.source.split ?? schema.raw.default_split) : undefined;
        if (cfg.source.kind === "dataset" && splitName === undefined) {
          // a dataset registered with --schema alone (no files, no splits): its records in the store
          trainSources = await storedSources();
          if (!trainSources.length)
            throw new NetsecError(
              "CONFIG_INVALID",
              `dataset ${schema.name} declares no split or files, and the record store holds no records of it: ingest them first (netsec ingest --dataset ${schema.name} --file <data file>), or train on files (netsec train --dataset ${schema.name} --data <data file>)`,
              { key: "source.split" },
            );
          step(
            "ingest",
            0.3,
            `${schema.name} declares no split: training on its ${trainSources.length} stored source(s)`,
          );
        } else if (cfg.source.kind === "dataset") {
          const sp = splitName ? schema.raw.splits[splitName] : undefined;
          if (!sp)
            throw new NetsecError(
              "CONFIG_INVALID",
              `dataset ${schema.name} has no split ${JSON.stringify(splitName)}; its splits: ${Object.keys(schema.raw.splits).join(", ") || "(none)"}`,
              { key: "source.split", value: splitName },
            );
          const files = await fetchDataset(
            schema,
            { home: env.home, mirror: env.NETSEC_DATASET_MIRROR, onProgress: (m) => step("ingest", 0.1, m) },
            [...sp.train, ...(sp.test ?? []), ...(sp.also_test ?? [])],
          );
          if (sp.test?.length) testName = sp.test.map((n) => n.replace(/\.[A-Za-z0-9]+$/, "")).join("+");
          for (const f of files) {
            const r = await ingestFile(rs, schema, f.ref, {
              sha256: f.sha256,
              ...(f.format !== "zip" ? { format: f.format } : {}),
              onProgress: (m) => step("ingest", 0.3, m),
            });
            if (sp.also_test?.includes(f.name))
              alsoSources.push({ name: f.name.replace(/\.[A-Za-z0-9]+$/, ""), source: note("also_test", r) });
            else if (sp.test?.includes(f.name)) testSources.push(note("test", r));
            else trainSources.push(note("train", r));
          }
        } else if (cfg.source.kind === "file") {
          for (const p of cfg.source.files)
            trainSources.push(note("train", await ingestFile(rs, schema, { path: p })));
          for (const p of cfg.source.test_files)
            testSources.push(note("test", await ingestFile(rs, schema, { path: p })));
        } else if (cfg.source.kind === "mongodb") {
          // as `netsec ingest --mongodb`: the collection into the record store (idempotent: record id =
          // the document's _id), then trained on like any other source
          const m = mongoSource(cfg, env);
          const location = `${redactUri(m.uri)} ${m.db}.${m.collection}`;
          const r = await ingestDocuments(
            rs,
            schema,
            {
              source: `mongo:${m.db}.${m.collection}`,
              location,
              name: m.collection,
              batches: () => readCollection(m.uri, m.db, m.collection, 2000),
            },
            { onProgress: (msg) => step("ingest", 0.3, msg) },
          );
          trainSources.push(note("train", r));
        } else trainSources = await storedSources();
        runSources = [...trainSources, ...testSources];
        const trStore = await loadStoreFrame(rs, schema, { sources: trainSources });
        const tr = trStore.frame;
        for (const a of alsoSources)
          extraTests.push({
            name: a.name,
            frame: (await loadStoreFrame(rs, schema, { sources: [a.source] })).frame,
          });
        // a split kind the data cannot honour is an error, not a quiet fallback to another kind
        if (cfg.split.kind === "predefined" && !testSources.length)
          throw new NetsecError(
            "CONFIG_INVALID",
            `split.kind predefined needs test files: source.test_files (file source) or a ${schema.name} split that names test files`,
            { key: "split.kind", value: "predefined" },
          );
        if (cfg.split.kind === "time" && !schema.raw.timestamp)
          throw new NetsecError(
            "CONFIG_INVALID",
            `split.kind time needs a timestamp column, and the ${schema.name} schema names none (timestamp: <column>)`,
            { key: "split.kind", value: "time" },
          );
        if (testSources.length && (cfg.split.kind === "stratified" || cfg.split.kind === "duplicate_aware"))
          rec.warnings.push(
            `split.kind ${cfg.split.kind}: the test rows of ${testSources.length} test source(s) are not used; the training rows are split instead`,
          );
        if (testSources.length && cfg.split.kind !== "stratified" && cfg.split.kind !== "duplicate_aware") {
          const teStore = await loadStoreFrame(rs, schema, { sources: testSources });
          // a multiclass target's labels are checked here, where each row's file and row are known
          if (cfg.target !== "binary")
            for (const sf of [trStore, teStore]) classValues(schema, sf.frame, cfg.target, originOf(sf));
          return { train: tr, test: teStore.frame, splitKind: "predefined" };
        }
        let sp: Split;
        if ((cfg.split.kind === "time" || cfg.split.kind === "auto") && schema.raw.timestamp) {
          if (cfg.target !== "binary") classValues(schema, tr, cfg.target, originOf(trStore));
          sp = timeSplit(tr.numeric(schema.raw.timestamp), cfg.split.test_size);
        } else {
          // stratified on the class the model learns (binary: threat vs benign)
          const origin = originOf(trStore);
          const space: ClassSpace = classSpace(schema, tr, cfg.target, origin);
          const { y } = encodeTarget(schema, tr, space, origin);
          const { groups, nGroups } = duplicateGroupsOfFrame(tr, schema.featureNames);
          sp =
            cfg.split.kind === "stratified" || nGroups === tr.nRows
              ? stratifiedSplit(y, cfg.split.test_size, cfg.seed)
              : duplicateAwareSplit(y, groups, nGroups, cfg.split.test_size, cfg.seed);
        }
        return { train: tr.take(sp.train), test: tr.take(sp.test), splitKind: sp.kind };
      } finally {
        await rs.close();
      }
    });
    extra.split = splitKind;
    writeFileSync(join(paths.ingested, "train.csv"), frameCsv(train));
    writeFileSync(join(paths.ingested, "test.csv"), frameCsv(test));
    writeFileSync(
      join(paths.featureStore, `${schema.name}.csv`),
      frameCsv(train) + frameCsv(test).split("\n").slice(1).join("\n"),
    );
    step("ingest", 1, `${train.nRows} training rows, ${test.nRows} test rows (${splitKind} split)`);

    // 2. validate the stored records against the schema
    const vrep = await timed("validate", async () => {
      const rs = openStore(env.storeUri, { waitSeconds: env.NETSEC_STORE_WAIT_SECONDS });
      await rs.open();
      try {
        const v = await validateStore(
          rs,
          schema,
          cfg.validation.thresholds,
          runSources.length ? { sources: runSources } : {},
        );
        const r = v.finish();
        writeValidationReport(r, v.problems, paths.validation);
        return r;
      } finally {
        await rs.close();
      }
    });
    if (!vrep.passed) {
      // each problem with its first offending value, so the reason alone says what to fix where
      const msg = `validation failed: ${vrep.issues
        .filter((i) => i.severity === "error")
        .map((i) => {
          const ex = i.examples[0];
          return ex
            ? `${i.message}, e.g. ${JSON.stringify(ex.value)} at row ${ex.row} of ${ex.file}`
            : i.message;
        })
        .slice(0, 5)
        .join("; ")}`;
      if (cfg.validation.on_fail === "stop") return await fail(msg);
      rec.warnings.push(msg);
    }

    // 3. drift: the champion's training profile when there is one, else train vs test of this run
    const registry = new ModelRegistry(env.home);
    const modelName = cfg.model_name ?? `netsec-${schema.name}`;
    const champ = registry.alias(modelName, "champion");
    const drift = await timed("drift", async () => {
      let reference: DataProfile | Frame = train;
      let what = "the training split of this run";
      if (champ) {
        try {
          reference = new BundlePredictor(registry.versionDir(modelName, champ.version)).referenceProfile;
          what = `champion ${modelName} v${champ.version}`;
        } catch {
          rec.warnings.push(
            "the champion's reference profile could not be read; drift measured against this run's training split",
          );
        }
      }
      const current = champ ? train : test;
      const r = detectDrift(reference, current, schema, {
        threshold: cfg.drift.threshold,
        alpha: cfg.drift.alpha,
      });
      await writeDriftReports(
        r,
        paths.driftReport,
        `Drift report — ${schema.name}: ${champ ? "new training data" : "test split"} vs ${what}`,
      );
      return r;
    });
    if (drift.dataset_drift) {
      const msg = `dataset drift: ${drift.drifted_columns.length} of ${Object.keys(drift.columns).length} columns drifted (threshold ${cfg.drift.threshold})`;
      if (cfg.drift.on_drift === "stop") return await fail(msg);
      rec.warnings.push(msg);
    }

    // 4-5. transform, tune, select, evaluate
    let trainFrac = 0;
    const res = await timed("train", () =>
      trainAndEvaluate({
        schema,
        train,
        test,
        target: cfg.target,
        models: cfg.models.map((m) => ({
          name: m,
          ...(cfg.search.params[m] ? { params: cfg.search.params[m] } : {}),
          ...(cfg.search.grids[m] ? { grid: cfg.search.grids[m] } : {}),
        })),
        search: cfg.search.kind,
        nIter: cfg.search.n_iter,
        cv: cfg.search.cv,
        seed: cfg.seed,
        scoring: cfg.search.scoring,
        targetFpr: cfg.search.target_fpr,
        imputer: cfg.transform.imputer,
        knnNeighbors: cfg.transform.knn_neighbors,
        threshold: {
          strategy: cfg.threshold.strategy,
          targetFpr: cfg.threshold.target_fpr,
          value: cfg.threshold.value,
        },
        ...(cfg.search.threads ? { threads: cfg.search.threads } : {}),
        runId,
        bundleDir: paths.bundle,
        onProgress: (m, d, t) => {
          if (d !== undefined && t) trainFrac = d / t;
          step("train", trainFrac, d !== undefined ? `${m}: ${d}/${t} fits` : m);
        },
        onLine: (line) => step("train", trainFrac, line, true),
        ...(signal ? { signal } : {}),
      }),
    );
    rec.best_model = res.winner;
    extra.perClass = res.perClass;
    if (res.perClass) rec.per_class = flatPerClass(res.perClass);
    extra.fitSeconds = res.fitSeconds;
    extra.threshold = res.threshold;
    rec.best_params = res.params;
    rec.leaderboard = res.leaderboard as unknown as Record<string, unknown>[];
    const t = res.test;
    rec.metrics = { ...metricsRecord(t), threshold: res.threshold };
    await timed("evaluate", async () => {
      // data_transformation/: the fitted preprocessing (the bundle's own file, byte for byte) and what it
      // produced, as the original's preprocessing.pkl + train.npy/test.npy but readable without pickles
      copyFileSync(join(paths.bundle, "preprocess.json"), join(paths.transformation, "preprocess.json"));
      writeFileSync(
        join(paths.transformation, "feature_names.json"),
        `${JSON.stringify(res.manifest.feature_names, null, 2)}\n`,
      );
      writeNpyMatrix(join(paths.transformation, "train.npy"), res.transformed.train);
      writeNpyMatrix(join(paths.transformation, "test.npy"), res.transformed.test);
      writeNpyInt64(join(paths.transformation, "target_train.npy"), res.transformed.yTrain);
      writeNpyInt64(join(paths.transformation, "target_test.npy"), res.transformed.yTest);
      if (res.classSpace.mode !== "binary")
        // what the multiclass targets' indices mean (-1 in target_test.npy: a class unseen in training)
        writeFileSync(
          join(paths.transformation, "target_classes.json"),
          `${JSON.stringify({ target: res.classSpace.mode, classes: res.classSpace.classes, class_is_threat: res.classSpace.classIsThreat }, null, 2)}\n`,
        );
      writeFileSync(join(paths.trainer, "leaderboard.json"), `${JSON.stringify(res.leaderboard, null, 2)}\n`);
      const board = leaderboardEntries(res.leaderboard, res.searches);
      writeFileSync(join(paths.trainer, "leaderboard.csv"), leaderboardCsv(board));
      writeFileSync(
        join(paths.trainer, "leaderboard.html"),
        leaderboardHtml(board, {
          title: `Leaderboard — ${schema.name}, run ${runId}`,
          scoring: cfg.search.scoring,
          folds: cfg.search.cv,
        }),
      );
      writeFileSync(
        join(paths.trainer, "cv_scores.csv"),
        safeCsv(
          res.searches.flatMap((s) =>
            s.candidates.map((c) => [
              c.model,
              JSON.stringify(c.params),
              c.scoring,
              c.cv_mean,
              c.cv_std,
              c.train_mean,
              c.fit_seconds,
              ...c.cv_scores,
            ]),
          ),
          [
            "model",
            "params",
            "scoring",
            "cv_mean",
            "cv_std",
            "train_mean",
            "fit_seconds",
            ...Array.from({ length: cfg.search.cv }, (_, i) => `fold_${i + 1}`),
          ],
        ),
      );
      writeFileSync(
        join(paths.trainer, "test_metrics.json"),
        `${JSON.stringify({ threshold: res.threshold, test: res.test, test_at_0_5: res.testAt05, oof: res.oof, ...(res.perClass ? { per_class: res.perClass } : {}) }, null, 2)}\n`,
      );
      writeFileSync(
        join(paths.trainer, "roc.svg"),
        await renderSvg(
          lineChart([{ name: res.winner, points: res.curves.roc.map((p) => ({ x: p.fpr, y: p.tpr })) }], {
            title: `ROC — test split (AUC ${t.roc_auc.toFixed(4)})`,
            xTitle: "false positive rate",
            yTitle: "true positive rate",
            diagonal: true,
          }),
        ),
      );
      writeFileSync(
        join(paths.trainer, "pr.svg"),
        await renderSvg(
          lineChart(
            [{ name: res.winner, points: res.curves.pr.map((p) => ({ x: p.recall, y: p.precision })) }],
            {
              title: `Precision–recall — test split (AP ${t.pr_auc.toFixed(4)})`,
              xTitle: "recall",
              yTitle: "precision",
            },
          ),
        ),
      );
      writeFileSync(join(paths.trainer, "confusion_matrix.svg"), await renderSvg(confusionChart(res)));
      // the same pipeline as ONNX + MLflow MLmodel, verified under onnxruntime on every test row
      const bp = new BundlePredictor(paths.bundle);
      const ir = pipelineIRFromModels({
        preprocess: bp.transformer.toJSON(),
        model: bp.model.toJSON(),
        classLabels: res.manifest.class_labels,
        classIsThreat: res.manifest.class_is_threat,
        threshold: res.manifest.threshold,
        dataset: schema.name,
        netsecVersion: res.manifest.code_version.netsec,
      });
      const pred = bp.predict(test);
      const onnx = await writeOnnxModel(join(paths.bundle, "onnx"), {
        ir,
        verifyOn: { frame: test, probabilities: pred.probability, labels: pred.labels },
        metadata: { run_id: runId, model: res.winner, threshold: res.threshold, dataset: schema.name },
        runId,
      });
      res.manifest.files.onnx = "onnx/model.onnx";
      writeFileSync(join(paths.bundle, "bundle.json"), `${JSON.stringify(res.manifest, null, 2)}\n`);
      rec.metrics.onnx_max_abs_diff = onnx.verify?.maxAbsDiff ?? null;
      const ties = onnx.verify?.thresholdTies.length ?? 0;
      if (ties > 0) {
        const msg = `ONNX export: ${ties} test row(s) lie within float32 rounding just below the threshold ${res.threshold}: onnxruntime labels them threats, the bundle (float64) does not`;
        rec.warnings.push(msg);
      }
      // every test set by name: the main one, then a split's also_test sets (reported, never selected on)
      const metricsOf = (m: ReturnType<typeof binaryMetrics>): Record<string, number> => ({
        rows: m.confusion.tp + m.confusion.fp + m.confusion.tn + m.confusion.fn,
        ...metricsRecord(m),
      });
      rec.test_sets = { [testName]: metricsOf(res.test) };
      for (const x of extraTests) {
        const m = binaryMetrics(threatTarget(schema, x.frame), bp.scores(x.frame).threat, res.threshold);
        rec.test_sets[x.name] = metricsOf(m);
        step("evaluate", 0.9, `${x.name}: F1 ${m.f1.toFixed(4)}, ROC-AUC ${m.roc_auc.toFixed(4)}`);
      }
      writeFileSync(join(paths.trainer, "test_sets.json"), `${JSON.stringify(rec.test_sets, null, 2)}\n`);
      const md = modelCardMarkdown(res.manifest, {
        leaderboard: res.leaderboard,
        perClass: res.perClass,
        drift: { share_drifted: drift.share_drifted, dataset_drift: drift.dataset_drift },
      });
      writeFileSync(join(paths.bundle, "model_card.md"), md);
      writeFileSync(join(paths.bundle, "model_card.html"), modelCardHtml(md, `Model card — ${res.winner}`));
    });

    // 6. gates, then the registry and the champion decision: one score (scoreOf) for both
    const scoring = cfg.search.scoring;
    const scoreLabel = scoreName(scoring, cfg.search.target_fpr);
    const score = scoreOf(t, scoring);
    if (score < cfg.gates.min_score)
      return await fail(
        `gate: test ${scoreLabel} ${againstLimit(score, cfg.gates.min_score)} is below min_score ${cfg.gates.min_score}`,
      );
    if (res.trainCvGap > cfg.gates.max_train_cv_gap) {
      const best = res.leaderboard[0]!;
      return await fail(
        `gate: train–CV gap ${againstLimit(res.trainCvGap, cfg.gates.max_train_cv_gap)} in ${scoreLabel} (${best.model}: train ${scoreLabel} ${best.train_mean.toFixed(4)} vs CV ${scoreLabel} ${best.cv_mean.toFixed(4)}) exceeds max_train_cv_gap ${cfg.gates.max_train_cv_gap}`,
      );
    }
    /** A bundle's score on labelled rows, as this run scores: its own classes, P(threat) and threshold. */
    const scoreWith = (p: BundlePredictor, rows: Frame): number => {
      const cm = p.manifest;
      const scores = p.scores(rows);
      let metrics: ScoredMetrics;
      if (scoring === "f1_macro") {
        // under the model's own classes (the same target as this run's, its schema's map)
        const space: ClassSpace = {
          mode: cm.target_mode,
          classes: cm.classes,
          classLabels: cm.class_labels,
          classIsThreat: cm.class_is_threat,
        };
        const target = encodeTarget(p.schema, rows, space);
        metrics = evaluateScores(target, space, scores, cm.threshold, cfg.search.target_fpr, true).metrics;
      } else {
        // the threat decision: whatever the model's classes, its P(threat) and threshold
        const y = threatTarget(p.schema, rows);
        metrics = scoredMetrics(y, scores.threat, cm.threshold, cfg.search.target_fpr);
      }
      return scoreOf(metrics, scoring);
    };
    await timed("register", async () => {
      const testSha = frameSha256(test);
      let beats = true;
      let reason = "no champion yet";
      const champTarget = champ?.tags.target ?? "binary";
      if (champ && scoring === "f1_macro" && champTarget !== cfg.target) {
        // macro F1 averages over the target's classes: over other classes it is another number
        beats = false;
        reason = `f1_macro over ${cfg.target} classes is not comparable with champion v${champ.version}'s (a ${champTarget} target); the champion stays — compare across targets with a threat-decision scoring (f1, roc_auc, pr_auc, tpr_at_fpr, accuracy)`;
      } else if (champ) {
        const sameData = champ.test_data_sha256 === testSha;
        let champScore = champ.score;
        let newScore = score;
        let how = `its registered ${champ.score_name} on the same test data`;
        let ownGates = false;
        if (!sameData || champ.score_name !== scoreLabel) {
          // a stored score is comparable only if it is this run's metric on this run's test data; else
          // the champion is scored here, on this run's test split, with this run's scoring
          let p: BundlePredictor | null = null;
          try {
            p = new BundlePredictor(registry.versionDir(modelName, champ.version));
          } catch (e) {
            // a champion that no longer loads (deleted or damaged files) cannot serve either: the new
            // version replaces it rather than every later run failing here
            champScore = Number.NEGATIVE_INFINITY;
            how = `the champion's bundle does not load (${e instanceof Error ? e.message : String(e)})`;
            rec.warnings.push(`champion v${champ.version} is replaced: ${how}`);
          }
          if (p) {
            // rows the champion was trained on are left out, for both models (train-digest.ts)
            const digest = readTrainDigest(p.dir, p.manifest.train_digest);
            const fair = fairRows(test, p.manifest.input_columns, digest);
            const cmp: ChampionComparison = {
              champion_version: champ.version,
              test_rows: test.nRows,
              excluded_rows: digest ? test.nRows - fair.length : null,
              compared_rows: fair.length,
              score_name: scoreLabel,
              score: null,
              champion_score: null,
              note: "",
            };
            const seen = `${cmp.excluded_rows} of ${test.nRows} test rows were in champion v${champ.version}'s training data`;
            const rows = fair.length === test.nRows ? test : test.take(fair);
            const y = threatTarget(schema, rows);
            const bothClasses = y.includes(0) && y.includes(1);
            if (digest && (fair.length < MIN_FAIR_ROWS || !bothClasses)) {
              ownGates = true;
              cmp.note = `${seen}; the ${fair.length} left ${fair.length < MIN_FAIR_ROWS ? `are fewer than ${MIN_FAIR_ROWS}` : "hold one class only"}, too few for a fair comparison: decided on this run's own gates (passed)`;
            } else {
              champScore = scoreWith(p, rows);
              if (rows !== test) newScore = scoreWith(new BundlePredictor(paths.bundle), rows);
              cmp.score = newScore;
              cmp.champion_score = champScore;
              cmp.note = !digest
                ? `re-scored on this run's ${test.nRows} test rows; champion v${champ.version}'s bundle predates training-row digests, so the rows it was trained on could not be excluded`
                : cmp.excluded_rows === 0
                  ? `re-scored on this run's test split (${seen})`
                  : `re-scored on this run's test split without the rows champion v${champ.version} was trained on (${seen}; both models compared on the other ${fair.length})`;
            }
            rec.champion_comparison = cmp;
            how = `${cmp.note} (registered: ${champ.score_name} ${champ.score.toFixed(4)} on ${sameData ? "the same" : "other"} test data)`;
          }
        }
        if (ownGates) {
          beats = true;
          reason = `${scoreLabel} ${score.toFixed(4)}; champion v${champ.version} not compared: ${how}`;
        } else {
          beats = newScore > champScore;
          reason = `${scoreLabel} ${newScore.toFixed(4)} vs champion v${champ.version} ${scoreLabel} ${champScore.toFixed(4)}, ${how}`;
        }
      }
      step("register", 0.5, `champion decision: ${beats ? "promote" : "keep the champion"}: ${reason}`);
      const v = registry.addVersion(modelName, paths.bundle, {
        run_id: runId,
        model: res.winner,
        dataset: schema.name,
        score_name: scoreLabel,
        score,
        test_data_sha256: testSha,
        metrics: rec.metrics,
        // the target decides what f1_macro averages over (absent: binary, as before targets existed)
        tags: cfg.target === "binary" ? {} : { target: cfg.target },
      });
      rec.registry = { name: modelName, version: v.version };
      if (beats) {
        registry.setAlias(modelName, "champion", v.version, reason);
        rec.champion = true;
      } else rec.warnings.push(`not promoted: ${reason}`);
    });
    rec.status = "FINISHED";
    await finish();
    step(
      tracker ? "track" : "register",
      1,
      `done: ${res.winner}${rec.champion ? " is the new champion" : ""}`,
    );
    return {
      run_id: runId,
      status: "FINISHED",
      artifacts: paths.root,
      winner: res.winner,
      leaderboard: rec.leaderboard,
      test: rec.metrics as Record<string, number>,
      champion: rec.champion,
      registry: rec.registry,
      failure: null,
      warnings: rec.warnings,
      bundle: paths.bundle,
      params: res.params,
      fit_seconds: res.fitSeconds,
      threshold: res.threshold,
      split: splitKind,
      mlflow_run_id: rec.mlflow?.run_id ?? null,
      mlflow: rec.mlflow ?? null,
      test_sets: rec.test_sets ?? null,
      target: cfg.target,
      per_class: res.perClass,
      champion_comparison: rec.champion_comparison ?? null,
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await fail(msg);
    throw e;
  }
}

/**
 * `x` to 4 decimals, or to as many more as it takes not to read as the limit it is compared with: a
 * gap of 0.050004 against 0.05 shows as 0.050004, not as "0.0500 exceeds 0.05".
 */
export function againstLimit(x: number, limit: number): string {
  for (let d = 4; d <= 12; d++) {
    const s = x.toFixed(d);
    if (Number(s) !== limit) return s;
  }
  return String(x);
}
