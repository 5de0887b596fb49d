/**
 * The training pipeline (`netsec train --config`, `POST /train`): ingest → validate → drift → transform
 * → tune → evaluate once on the untouched test split → bundle → gates → register → track. Each step is
 * a function in steps/; the runner (runner.ts) times them, reports progress and keeps the run record.
 * Every run writes artifacts/<run id>/ and a run record, and fails with a recorded reason (never a
 * silent fallback); a failed run leaves the champion unchanged.
 */
import { ModelRegistry } from "../bundle/registry.ts";
import type { Config } from "../config/env.ts";
import { releaseUnreachable } from "../core/memory.ts";
import { getDataset } from "../datasets/registry.ts";
import { loadSchemaFile } from "../datasets/schema.ts";
import { duplicateGroupsOfFrame } from "../datasets/split.ts";
import { s3StoreFrom } from "../tracking/s3.ts";
import { mlflowClientFrom } from "../tracking/track.ts";
import type { PipelineConfig } from "./config.ts";
import {
  type PipelineProgress,
  type PipelineResult,
  PipelineRun,
  type RunOptions,
  RunStopped,
} from "./runner.ts";
import { bundleStep, trainingRows } from "./steps/bundle.ts";
import { type Champion, driftStep, judgeDrift } from "./steps/drift.ts";
import { evaluateStep } from "./steps/evaluate.ts";
import { gateStep } from "./steps/gate.ts";
import { ingestStep } from "./steps/ingest.ts";
import { registerStep } from "./steps/register.ts";
import { splitStep, writeSnapshots } from "./steps/split.ts";
import { openTracking, pushStep, trackStep } from "./steps/track.ts";
import { transformStep } from "./steps/transform.ts";
import { tuneStep } from "./steps/tune.ts";
import { judgeValidation, validateStep } from "./steps/validate.ts";
import { noCategories } from "./train.ts";

export type { PipelineProgress, PipelineResult } from "./runner.ts";

export async function runPipeline(
  cfg: PipelineConfig,
  env: Readonly<Config>,
  onProgress: (p: PipelineProgress) => void = () => {},
  signal?: AbortSignal,
  opts: Omit<RunOptions, "signal"> = {},
): Promise<PipelineResult> {
  const s3 = s3StoreFrom(env); // an invalid NETSEC_S3_URI is refused before the run starts
  const prepared = PipelineRun.prepare(cfg, env);
  const schema = cfg.schema ? loadSchemaFile(cfg.schema) : getDataset(cfg.dataset, env.home);
  const tracker = mlflowClientFrom(env);
  const run = new PipelineRun(prepared, schema, tracker !== null, onProgress, {
    ...opts,
    ...(signal ? { signal } : {}),
  });
  const end = (status: "FINISHED" | "FAILED", failure: string | null) =>
    run.finish(
      status,
      failure,
      (r) => trackStep(r, tracker),
      (r) => pushStep(r, s3),
    );
  // MLflow: the parent run is opened now (RUNNING while it trains) and completed at the end; when the
  // server is unreachable the run still completes locally, marked pending for `netsec runs sync`.
  await openTracking(run, tracker);
  try {
    // a target the schema cannot give is refused before any data is read
    if (
      cfg.target === "category" &&
      !schema.raw.labels.categories &&
      schema.raw.labels.category_column === undefined
    )
      throw noCategories(schema);
    const { data, sources } = await run.step("ingest", () =>
      run.withRecordStore(async (store) => {
        const sources = await ingestStep(run, store);
        return { sources, data: await splitStep(run, store, sources) };
      }),
    );
    run.outcome.split = data.splitKind;
    const { train, test } = data;
    await writeSnapshots(run.paths, schema, train, test);
    run.progress(
      "ingest",
      1,
      `${train.nRows} training rows, ${test.nRows} test rows (${data.splitKind} split)`,
    );

    const report = await run.step("validate", () =>
      run.withRecordStore((store) => validateStep(run, store, [...sources.train, ...sources.test])),
    );
    judgeValidation(run, report);

    // drift: the champion's training profile when there is one, else train vs test of this run
    const registry = new ModelRegistry(env.home);
    const modelName = cfg.model_name ?? `netsec-${schema.name}`;
    const version = registry.alias(modelName, "champion") ?? null;
    const champion: Champion = {
      modelName,
      version,
      dir: version ? registry.versionDir(modelName, version.version) : null,
    };
    const drift = await run.step("drift", () => driftStep(run, champion, train, test));
    judgeDrift(run, drift);

    const { transformed, trainRows, duplicates } = await run.step("transform", () => {
      const transformed = transformStep(run, train, test);
      // what later steps read of the training frame, taken now that its rows are binned: the frame
      // (2.6 GB of columns at 10 M rows) is freed before the fit, not after the bundle
      const duplicates = duplicateGroupsOfFrame(train, schema.featureNames);
      const trainRows = trainingRows(run, train, transformed);
      train.release();
      return { transformed, trainRows, duplicates };
    });
    const tuned = await run.step("tune", () => tuneStep(run, duplicates, transformed));
    const evaluated = await run.step("evaluate", () => evaluateStep(run, transformed, tuned));
    // every fit is done (the refit may run beside the search into this step): their shared buffers
    // (a random forest's out-of-bag sums: 84 MB at 1 M rows, 840 MB at 10 M) are garbage, held by
    // the idle worker threads and this one until a collection
    await releaseUnreachable();
    await run.step("bundle", () =>
      bundleStep(
        run,
        { test, extraTests: data.extraTests, splitKind: data.splitKind, testName: sources.testName },
        trainRows,
        transformed,
        tuned,
        evaluated,
        drift,
      ),
    );
    await run.step("gate", () => gateStep(run, tuned, evaluated));
    await run.step("register", () => registerStep(run, registry, champion, test, evaluated));
    await end("FINISHED", null);
    run.progress(
      tracker ? "track" : "register",
      1,
      `done: ${evaluated.winner}${run.rec.champion ? " is the new champion" : ""}`,
    );
    return run.result();
  } catch (e) {
    if (e instanceof RunStopped) {
      await end("FAILED", e.reason);
      return run.result();
    }
    const msg = e instanceof Error ? e.message : String(e);
    await end("FAILED", msg);
    throw e;
  }
}
