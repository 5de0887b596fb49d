/**
 * The training pipeline (`netsec train --config`, `POST /train`): ingest → validate → drift → transform
 * → tune → select on CV → evaluate once on the untouched test split → gates → bundle → register.
 * Every run writes artifacts/<run id>/ and a run record, and fails with a recorded reason (never a
 * silent fallback); a failed run leaves the champion unchanged.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "csv-stringify/sync";
import { BundlePredictor } from "../bundle/bundle.ts";
import { modelCardHtml, modelCardMarkdown } from "../bundle/model-card.ts";
import { pipelineIRFromModels } from "../bundle/onnx/from-models.ts";
import { writeOnnxModel } from "../bundle/onnx/write.ts";
import { ModelRegistry } from "../bundle/registry.ts";
import type { Config } from "../config/env.ts";
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { ingestFile } from "../datasets/ingest.ts";
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
import { loadStoreFrame } from "../datasets/store-frame.ts";
import { binaryMetrics } from "../selection/metrics.ts";
import { openStore } from "../store/open.ts";
import { type RunRecord, RunStore } from "../tracking/run-store.ts";
import { mlflowClientFrom, startTracking, syncRun } from "../tracking/track.ts";
import { lineChart, renderSvg } from "../validate/charts.ts";
import { detectDrift } from "../validate/drift.ts";
import type { DataProfile } from "../validate/profile.ts";
import { writeDriftReports } from "../validate/report/index.ts";
import { validateStore } from "../validate/store-validate.ts";
import { writeValidationReport } from "../validate/validate.ts";
import { makeRunDirs, newRunId, runPaths } from "./artifacts.ts";
import type { PipelineConfig } from "./config.ts";
import { binaryTarget, frameSha256, metricsRecord, trainAndEvaluate } from "./train.ts";

export interface PipelineProgress {
  step: string;
  progress: number;
  message: string;
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
}

const STEPS = ["ingest", "validate", "drift", "train", "evaluate", "register", "track"] as const;

function frameCsv(frame: Frame): string {
  const rows: (string | number)[][] = [];
  for (let r = 0; r < frame.nRows; r++) rows.push(frame.columns.map((c) => frame.value(r, c.name) ?? ""));
  return stringify(rows, { header: true, columns: frame.names });
}

export async function runPipeline(
  cfg: PipelineConfig,
  env: Readonly<Config>,
  onProgress: (p: PipelineProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<PipelineResult> {
  const runId = newRunId();
  const paths = runPaths(env.home, runId);
  makeRunDirs(paths);
  const store = new RunStore(env.home);
  const schema: DatasetSchema = cfg.schema ? loadSchemaFile(cfg.schema) : getDataset(cfg.dataset, env.home);
  const rec: RunRecord = {
    id: runId,
    name: `${schema.name}-${runId}`,
    status: "RUNNING",
    started: new Date().toISOString(),
    finished: null,
    dataset: schema.name,
    config: cfg as unknown as Record<string, unknown>,
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
  };
  store.save(rec);
  const tracker = mlflowClientFrom(env);
  const steps: readonly (typeof STEPS)[number][] = tracker ? STEPS : STEPS.slice(0, -1);
  const extra: { fitSeconds: number | null; threshold: number | null; split: string | null } = {
    fitSeconds: null,
    threshold: null,
    split: null,
  };
  const step = (name: (typeof STEPS)[number], frac: number, message: string): void => {
    const i = steps.indexOf(name);
    onProgress({ step: name, progress: (i + frac) / steps.length, message });
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
      rec.warnings.push(
        `MLflow: ${rec.mlflow.error} — the run is kept locally; \`netsec runs sync ${rec.id}\` uploads it when the server is back`,
      );
      step("track", 1, "MLflow unreachable: run kept locally, pending sync");
    } else step("track", 1, `logged to MLflow run ${rec.mlflow.run_id}`);
  };
  const finish = async (): Promise<void> => {
    rec.finished = new Date().toISOString();
    store.save(rec);
    await track();
    store.save(rec);
    writeFileSync(join(paths.root, "run.json"), `${JSON.stringify(rec, null, 2)}\n`);
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
    };
  };
  try {
    // 1. ingest: registry files (or given files) into the record store, then read the split back
    let runSources: string[] = [];
    let testName = "test";
    const extraTests: { name: string; frame: Frame }[] = [];
    const { train, test, splitKind } = await timed("ingest", async () => {
      const rs = openStore(env.storeUri);
      await rs.open();
      try {
        let trainSources: string[] = [];
        const testSources: string[] = [];
        const alsoSources: { name: string; source: string }[] = [];
        if (cfg.source.kind === "dataset") {
          const splitName = cfg.source.split ?? schema.raw.default_split;
          const sp = splitName ? schema.raw.splits[splitName] : undefined;
          if (!sp)
            throw new NetsecError(
              "CONFIG_INVALID",
              `dataset ${schema.name} has no split ${JSON.stringify(splitName)}`,
              {},
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
              alsoSources.push({ name: f.name.replace(/\.[A-Za-z0-9]+$/, ""), source: r.source });
            else (sp.test?.includes(f.name) ? testSources : trainSources).push(r.source);
          }
        } else if (cfg.source.kind === "file") {
          for (const p of cfg.source.files)
            trainSources.push((await ingestFile(rs, schema, { path: p })).source);
          for (const p of cfg.source.test_files)
            testSources.push((await ingestFile(rs, schema, { path: p })).source);
        } else {
          trainSources = (await rs.listSources(schema.name)).map((s) => s.source);
        }
        runSources = [...trainSources, ...testSources];
        const tr = (await loadStoreFrame(rs, schema, { sources: trainSources })).frame;
        for (const a of alsoSources)
          extraTests.push({
            name: a.name,
            frame: (await loadStoreFrame(rs, schema, { sources: [a.source] })).frame,
          });
        if (testSources.length && cfg.split.kind !== "stratified" && cfg.split.kind !== "duplicate_aware") {
          return {
            train: tr,
            test: (await loadStoreFrame(rs, schema, { sources: testSources })).frame,
            splitKind: "predefined",
          };
        }
        const { y } = binaryTarget(schema, tr);
        let sp: Split;
        if ((cfg.split.kind === "time" || cfg.split.kind === "auto") && schema.raw.timestamp)
          sp = timeSplit(tr.numeric(schema.raw.timestamp), cfg.split.test_size);
        else {
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
      const rs = openStore(env.storeUri);
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
      const msg = `validation failed: ${vrep.issues
        .filter((i) => i.severity === "error")
        .map((i) => i.message)
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
    const res = await timed("train", () =>
      trainAndEvaluate({
        schema,
        train,
        test,
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
        onProgress: (m, d, t) =>
          step("train", d !== undefined && t ? d / t : 0, d !== undefined ? `${m}: ${d}/${t} fits` : m),
        ...(signal ? { signal } : {}),
      }),
    );
    rec.best_model = res.winner;
    extra.fitSeconds = res.fitSeconds;
    extra.threshold = res.threshold;
    rec.best_params = res.params;
    rec.leaderboard = res.leaderboard as unknown as Record<string, unknown>[];
    const t = res.test;
    rec.metrics = { ...metricsRecord(t), threshold: res.threshold };
    await timed("evaluate", async () => {
      writeFileSync(join(paths.trainer, "leaderboard.json"), `${JSON.stringify(res.leaderboard, null, 2)}\n`);
      writeFileSync(
        join(paths.trainer, "cv_scores.csv"),
        stringify(
          res.searches.flatMap((s) =>
            s.candidates.map((c) => [
              c.model,
              JSON.stringify(c.params),
              c.cv_mean,
              c.cv_std,
              c.train_mean,
              c.fit_seconds,
              ...c.cv_scores,
            ]),
          ),
          {
            header: true,
            columns: [
              "model",
              "params",
              "cv_mean",
              "cv_std",
              "train_mean",
              "fit_seconds",
              ...Array.from({ length: cfg.search.cv }, (_, i) => `fold_${i + 1}`),
            ],
          },
        ),
      );
      writeFileSync(
        join(paths.trainer, "test_metrics.json"),
        `${JSON.stringify({ threshold: res.threshold, test: res.test, test_at_0_5: res.testAt05, oof: res.oof }, null, 2)}\n`,
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
      // every test set by name: the main one, then a split's also_test sets (reported, never selected on)
      const metricsOf = (m: ReturnType<typeof binaryMetrics>): Record<string, number> => ({
        rows: m.confusion.tp + m.confusion.fp + m.confusion.tn + m.confusion.fn,
        ...metricsRecord(m),
      });
      rec.test_sets = { [testName]: metricsOf(res.test) };
      for (const x of extraTests) {
        const m = binaryMetrics(binaryTarget(schema, x.frame).y, bp.scores(x.frame).threat, res.threshold);
        rec.test_sets[x.name] = metricsOf(m);
        step("evaluate", 0.9, `${x.name}: F1 ${m.f1.toFixed(4)}, ROC-AUC ${m.roc_auc.toFixed(4)}`);
      }
      writeFileSync(join(paths.trainer, "test_sets.json"), `${JSON.stringify(rec.test_sets, null, 2)}\n`);
      const md = modelCardMarkdown(res.manifest, {
        leaderboard: res.leaderboard,
        drift: { share_drifted: drift.share_drifted, dataset_drift: drift.dataset_drift },
      });
      writeFileSync(join(paths.bundle, "model_card.md"), md);
      writeFileSync(join(paths.bundle, "model_card.html"), modelCardHtml(md, `Model card — ${res.winner}`));
    });

    // 6. gates, then the registry and the champion decision
    const score =
      cfg.search.scoring === "roc_auc"
        ? t.roc_auc
        : cfg.search.scoring === "pr_auc"
          ? t.pr_auc
          : cfg.search.scoring === "tpr_at_fpr"
            ? t.tpr_at_fpr_1pct
            : cfg.search.scoring === "accuracy"
              ? t.accuracy
              : t.f1;
    if (score < cfg.gates.min_score)
      return await fail(
        `gate: test ${cfg.search.scoring} ${score.toFixed(4)} is below min_score ${cfg.gates.min_score}`,
      );
    if (res.trainCvGap > cfg.gates.max_train_cv_gap) {
      return await fail(
        `gate: train–CV gap ${res.trainCvGap.toFixed(4)} (train F1 ${(res.trainCvGap + (res.leaderboard[0]?.cv_mean ?? 0)).toFixed(4)} vs CV ${res.leaderboard[0]?.cv_mean.toFixed(4)}) exceeds max_train_cv_gap ${cfg.gates.max_train_cv_gap}`,
      );
    }
    await timed("register", async () => {
      const testSha = frameSha256(test);
      let beats = true;
      let reason = "no champion yet";
      if (champ) {
        let champScore = champ.score;
        if (champ.test_data_sha256 !== testSha) {
          // compare on the same test data: score the champion on this run's test split
          const p = new BundlePredictor(registry.versionDir(modelName, champ.version));
          const s = p.scores(test).threat;
          const m = binaryMetrics(binaryTarget(schema, test).y, s, p.manifest.threshold);
          champScore = cfg.search.scoring === "roc_auc" ? m.roc_auc : m.f1;
        }
        beats = score > champScore;
        reason = `${cfg.search.scoring} ${score.toFixed(4)} vs champion v${champ.version} ${champScore.toFixed(4)} on the same test data`;
      }
      const v = registry.addVersion(modelName, paths.bundle, {
        run_id: runId,
        model: res.winner,
        dataset: schema.name,
        score_name: cfg.search.scoring,
        score,
        test_data_sha256: testSha,
        metrics: rec.metrics,
        tags: {},
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
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await fail(msg);
    throw e;
  }
}
