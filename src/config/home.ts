/**
 * The layout of NETSEC_HOME: every folder and file netsec keeps under it is named here and nowhere else
 * (test/config/home.test.ts fails on a src file that joins a home folder by hand).
 *
 *   $NETSEC_HOME/
 *     store.db                          the SQLite record store (when NETSEC_STORE_URI is unset)
 *     store.duckdb                      the DuckDB record store (once it is the default)
 *     datasets/<name>.yaml              user schemas (`netsec ingest --schema` keeps a copy)
 *     cache/<dataset>/<file>            downloaded dataset files; cache/<dataset>/.stamps/ their checks
 *     runs/<run id>/run.json            the run store (status, heartbeat, metrics)
 *     artifacts/<run id>/…              each pipeline run's artifacts (see RunPaths)
 *     registry/<model>/registry.json    the model registry; registry/<model>/versions/<n>/ the bundles
 *     reports/validate-<time>/          `netsec validate` reports when --out is not given
 *     prediction_output/<id>.csv        the server's kept prediction outputs (retention applies);
 *                                       prediction_output/output.csv the newest
 *     monitoring/<model>/state.json     monitoring of scored traffic: the open window's counts, the
 *                                       latest closed window's counts, alert cooldowns
 *     monitoring/<model>/windows.jsonl  the closed windows' drift summaries, one JSON line each,
 *                                       appended (bounded: compacted to the retention)
 *     monitoring/<model>/inbox/<id>.json  counts `netsec predict` left for a running server to add
 *     monitoring/server.json            the serving process that owns monitoring/ (pid) while it runs
 *     monitoring/stream-offsets-<digest>.json  the stream offsets monitoring counted, per consumer
 *                                       group and topic (digest: of both names)
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";

/**
 * The artifacts folder of one pipeline run, laid out like the original project's but complete:
 *
 *   artifacts/<run id>/
 *     data_ingestion/feature_store/<dataset>.parquet  the snapshot the run trained and tested on
 *     data_ingestion/ingested/{train,test}.parquet     the split (typed columns)
 *     data_validation/                              validation.json, problems.csv
 *     data_validation/drift_report/                 report.yaml (original layout), drift.json, drift.html
 *     data_transformation/                          preprocess.json (the bundle's), feature_names.json,
 *                                                   {train,test}.npy (transformed features, float64, rows ×
 *                                                   features), target_{train,test}.npy (int64, 1 = threat)
 *     model_trainer/                                leaderboard.{json,csv,html}, cv_scores.csv, test_metrics.json,
 *                                                   test_sets.json, roc.svg, pr.svg, confusion_matrix.svg,
 *                                                   model/ (the bundle, with reference_profile.json)
 *     run.json                                      summary
 *
 * A run that stops before training (validation, drift) has only the folders written up to that step;
 * a failed gate comes after evaluation, so its model_trainer/ and data_transformation/ are complete.
 */
export interface RunPaths {
  root: string;
  featureStore: string;
  ingested: string;
  validation: string;
  driftReport: string;
  transformation: string;
  trainer: string;
  bundle: string;
  /** The run's summary (run.json beside the folders). */
  summary: string;
}

const RUN_ID_RE = /^[A-Za-z0-9_-]+$/;

/** Whether `id` can name a run's folder (letters, digits, _ and -: never a path). */
export function isRunId(id: string): boolean {
  return RUN_ID_RE.test(id);
}

export interface HomeLayout {
  readonly root: string;
  /** The SQLite record store used when NETSEC_STORE_URI is unset. */
  readonly sqliteStore: string;
  /** The DuckDB record store's file (issue 14: DuckDB replaces SQLite as the default store). */
  readonly duckdbStore: string;
  /** User schemas (<name>.yaml). */
  readonly userSchemas: string;
  /** Downloaded dataset files, one folder per dataset. */
  readonly cache: string;
  /** The run store: runs/<id>/run.json. */
  readonly runs: string;
  /** Every run's artifacts folder. */
  readonly artifacts: string;
  /** The model registry. */
  readonly registry: string;
  /** `netsec validate` reports when --out is not given. */
  readonly reports: string;
  /** The server's kept prediction outputs. */
  readonly predictionOutput: string;
  /** The newest prediction output, under the original project's name (output.csv). */
  readonly latestPrediction: string;
  /** A user schema file of dataset `name`. */
  userSchema(name: string): string;
  /** One dataset's cache folder, its file `file` and the stamp `stamp` (.json) that proves a check. */
  datasetCache(dataset: string): {
    dir: string;
    stamps: string;
    file(name: string): string;
    stamp(name: string): string;
  };
  /** A run store record's folder and its run.json. */
  runRecord(id: string): { dir: string; file: string };
  /** A pipeline run's artifacts folders (the id must be a run id: letters, digits, _ and -). */
  run(id: string): RunPaths;
  /** A registered model's folder, its index and a version's bundle folder. */
  registryModel(name: string): { dir: string; index: string; versions: string; version(v: number): string };
  /** `netsec validate`'s default report folder for a report made at `when`. */
  validateReport(when: Date): string;
  /** A kept prediction output's CSV. */
  predictionFile(id: string): string;
  /** Monitoring of scored traffic (src/monitor/). */
  readonly monitoring: string;
  /** The serving process that owns monitoring/ while it runs. */
  readonly monitoringOwner: string;
  /** One model's monitoring state and the inbox of counts other processes left for the owner. */
  monitorModel(name: string): { dir: string; state: string; windows: string; inbox: string };
  /** The ledger of stream offsets monitoring counted for a consumer group on a topic (any names). */
  streamOffsets(group: string, topic: string): string;
  /**
   * A path as files under the home keep it (monitoring's bundle directories): relative to the home
   * when inside it, so a home moved elsewhere (a restored backup, a volume mounted at another path)
   * still finds it; absolute otherwise.
   */
  keptPath(path: string): string;
  /** A path kept by `keptPath`, absolute again: a relative one under this home, an absolute one as is. */
  fromKept(kept: string): string;
  /**
   * Where an absolute path inside another home's registry/ or artifacts/ (as files kept it before
   * paths were kept relative, the home moved since) may be under this home: the path from each
   * registry/ or artifacts/ folder in it on, under this home, the last such folder first (none for
   * other paths). Which one exists is the caller's to check.
   */
  movedHere(path: string): string[];
}

/** The layout of the home `home` (an absolute path: Config.home). Pure: creates nothing. */
export function homeLayout(home: string): HomeLayout {
  const artifacts = join(home, "artifacts");
  const registry = join(home, "registry");
  const cache = join(home, "cache");
  const runs = join(home, "runs");
  const userSchemas = join(home, "datasets");
  const reports = join(home, "reports");
  const predictionOutput = join(home, "prediction_output");
  const monitoring = join(home, "monitoring");
  return {
    root: home,
    sqliteStore: join(home, "store.db"),
    duckdbStore: join(home, "store.duckdb"),
    userSchemas,
    cache,
    runs,
    artifacts,
    registry,
    reports,
    predictionOutput,
    latestPrediction: join(predictionOutput, "output.csv"),
    userSchema: (name) => join(userSchemas, `${name}.yaml`),
    datasetCache: (dataset) => {
      const dir = join(cache, dataset);
      const stamps = join(dir, ".stamps");
      return {
        dir,
        stamps,
        file: (name) => join(dir, name),
        stamp: (name) => join(stamps, `${name}.json`),
      };
    },
    runRecord: (id) => ({ dir: join(runs, id), file: join(runs, id, "run.json") }),
    run: (id) => runPathsUnder(artifacts, id),
    registryModel: (name) => {
      const dir = join(registry, name);
      const versions = join(dir, "versions");
      return {
        dir,
        index: join(dir, "registry.json"),
        versions,
        version: (v) => join(versions, String(v)),
      };
    },
    validateReport: (when) => join(reports, `validate-${when.toISOString().replace(/[:.]/g, "-")}`),
    predictionFile: (id) => join(predictionOutput, `${id}.csv`),
    monitoring,
    monitoringOwner: join(monitoring, "server.json"),
    monitorModel: (name) => {
      // a registered model's name (letters, digits, _ . -): never a path
      if (!/^[A-Za-z0-9_.-]+$/.test(name) || /^\.+$/.test(name))
        throw new RangeError(`invalid model name ${JSON.stringify(name)}`);
      const dir = join(monitoring, name);
      return {
        dir,
        state: join(dir, "state.json"),
        windows: join(dir, "windows.jsonl"),
        inbox: join(dir, "inbox"),
      };
    },
    // a file, not a folder: monitoring/'s folders are the models
    streamOffsets: (group, topic) =>
      join(
        monitoring,
        `stream-offsets-${createHash("sha256").update(`${group}\0${topic}`).digest("hex").slice(0, 24)}.json`,
      ),
    keptPath: (path) => {
      const r = relative(home, path);
      return r !== "" && !r.startsWith("..") && !isAbsolute(r) ? r : path;
    },
    fromKept: (kept) => (isAbsolute(kept) ? kept : join(home, kept)),
    movedHere: (path) => {
      if (!isAbsolute(path)) return [];
      const parts = path.split(sep);
      const found: string[] = [];
      for (let i = parts.length - 2; i > 0; i--)
        if (parts[i] === "registry" || parts[i] === "artifacts") found.push(join(home, ...parts.slice(i)));
      return found;
    },
  };
}

function runPathsUnder(artifacts: string, runId: string): RunPaths {
  if (!isRunId(runId)) throw new RangeError(`invalid run id ${JSON.stringify(runId)}`);
  const root = join(artifacts, runId);
  return {
    root,
    featureStore: join(root, "data_ingestion", "feature_store"),
    ingested: join(root, "data_ingestion", "ingested"),
    validation: join(root, "data_validation"),
    driftReport: join(root, "data_validation", "drift_report"),
    transformation: join(root, "data_transformation"),
    trainer: join(root, "model_trainer"),
    bundle: join(root, "model_trainer", "model"),
    summary: join(root, "run.json"),
  };
}

/** The artifacts folders of run `runId` under `home` (homeLayout(home).run(runId)). */
export function runPaths(home: string, runId: string): RunPaths {
  return homeLayout(home).run(runId);
}

/**
 * The folders of a `netsec validate` report in `dir` (--out, else homeLayout(home).validateReport(…)):
 * laid out as a run's data_validation/, the drift report in drift_report/.
 */
export function validateReportPaths(dir: string): { root: string; driftReport: string } {
  return { root: dir, driftReport: join(dir, "drift_report") };
}

/** Creates a run's artifact folders (each step writes into its own). */
export function makeRunDirs(p: RunPaths): void {
  for (const d of [p.featureStore, p.ingested, p.validation, p.driftReport, p.transformation, p.trainer]) {
    mkdirSync(d, { recursive: true });
  }
}
