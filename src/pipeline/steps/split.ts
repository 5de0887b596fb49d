/**
 * The rest of the ingest step: the run's sources read back from the store as frames, split into the
 * training and test rows the way the config asks (predefined test files, time, stratified or
 * duplicate-aware), and the snapshots of both written under data_ingestion/.
 */
import { join } from "node:path";
import type { RunPaths } from "../../config/home.ts";
import { NetsecError } from "../../core/errors.ts";
import { type Frame, ownBuffers, partitionRows } from "../../core/frame.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import {
  duplicateAwareSplit,
  duplicateGroupsOfFrame,
  type Split,
  stratifiedSplit,
  timeSplit,
} from "../../datasets/split.ts";
import { loadStoreFrame, type StoreFrame } from "../../datasets/store-frame.ts";
import { concatParquet, writeFrameParquet } from "../../store/duckdb/parquet.ts";
import type { RecordStore } from "../../store/types.ts";
import type { PipelineRun } from "../runner.ts";
import { type ClassSpace, classSpace, classValues, encodeTarget, type RowOrigin } from "../train.ts";
import type { RunSources } from "./ingest.ts";

export interface RunData {
  train: Frame;
  test: Frame;
  /** predefined, time, stratified or duplicate_aware. */
  splitKind: string;
  /** A split's also_test sets, scored beside the main test set. */
  extraTests: { name: string; frame: Frame }[];
}

/** Each row's file (or collection) and row within it, for messages about a row of a store frame. */
function originOf(sf: StoreFrame): RowOrigin {
  return (i) => {
    const src = sf.sources[sf.sourceIndex[i]!];
    return { ...(src ? { file: src.location } : {}), row: sf.sourceRow[i]! };
  };
}

/** Sources read back from the store as one frame, with a rows/s meter when the run shows them. */
async function readBack(
  run: PipelineRun,
  store: RecordStore,
  sources: readonly string[],
  what: string,
): Promise<StoreFrame> {
  const total = (run.rec.sources ?? [])
    .filter((s) => sources.includes(s.source))
    .reduce((n, s) => n + s.rows, 0);
  const meter = run.meter("ingest", `loading ${what}`, "rows", () => 0.6, total || undefined);
  const sf = await loadStoreFrame(store, run.schema, {
    sources,
    ...(meter ? { onProgress: (rows: number) => meter.update(rows) } : {}),
  });
  meter?.finish();
  return sf;
}

/** The run's training and test frames from its sources in the store. */
export async function splitStep(run: PipelineRun, store: RecordStore, src: RunSources): Promise<RunData> {
  const { cfg, schema } = run;
  const trStore = await readBack(run, store, src.train, "the training sources");
  const tr = trStore.frame;
  const extraTests: RunData["extraTests"] = [];
  for (const a of src.alsoTest)
    extraTests.push({ name: a.name, frame: (await readBack(run, store, [a.source], a.name)).frame });
  // a split kind the data cannot honour is an error, not a quiet fallback to another kind
  if (cfg.split.kind === "predefined" && !src.test.length)
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
  if (src.test.length && (cfg.split.kind === "stratified" || cfg.split.kind === "duplicate_aware"))
    run.warn(
      `split.kind ${cfg.split.kind}: the test rows of ${src.test.length} test source(s) are not used; the training rows are split instead`,
    );
  if (src.test.length && cfg.split.kind !== "stratified" && cfg.split.kind !== "duplicate_aware") {
    const teStore = await readBack(run, store, src.test, "the test sources");
    // a multiclass target's labels are checked here, where each row's file and row are known
    if (cfg.target !== "binary")
      for (const sf of [trStore, teStore]) classValues(schema, sf.frame, cfg.target, originOf(sf));
    return { train: tr, test: teStore.frame, splitKind: "predefined", extraTests };
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
  // the rows regrouped in the read-back frame's own columns (train rows, then test rows), not copied;
  // then the test rows copied out and the buffers cut to the training rows, so that the bundle step
  // can free the training rows (its last reader) while the test rows stay
  const [train, test] = ownBuffers(partitionRows(tr, [sp.train, sp.test])) as [Frame, Frame];
  return { train, test, splitKind: sp.kind, extraTests };
}

/**
 * data_ingestion/: the split (ingested/train.parquet, test.parquet) and the whole snapshot the run
 * trained and tested on (feature_store/<dataset>.parquet), typed columns; `netsec predict` and
 * `loadFrame` read them back.
 */
export async function writeSnapshots(
  paths: RunPaths,
  schema: DatasetSchema,
  train: Frame,
  test: Frame,
): Promise<void> {
  const trainFile = join(paths.ingested, "train.parquet");
  const testFile = join(paths.ingested, "test.parquet");
  await writeFrameParquet(train, trainFile);
  await writeFrameParquet(test, testFile);
  await concatParquet([trainFile, testFile], join(paths.featureStore, `${schema.name}.parquet`));
}
