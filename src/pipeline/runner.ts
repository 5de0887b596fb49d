/**
 * The pipeline's runner: the run record (created RUNNING, heartbeat, saved after each step), each
 * step's timing (`rec.steps`), progress events (`[step] fraction message`, rows/s meters when asked)
 * and the end of a run, finished or failed, with its tracking (MLflow, S3). The steps themselves are
 * plain functions in steps/, handed this run.
 */
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Config } from "../config/env.ts";
import { makeRunDirs, type RunPaths, runPaths } from "../config/home.ts";
import { redactUri } from "../core/errors.ts";
import { Progress } from "../core/progress.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { openStore, storeOptionsFrom } from "../store/open.ts";
import type { RecordStore } from "../store/types.ts";
import {
  type ChampionComparison,
  HEARTBEAT_SECONDS,
  type RunRecord,
  RunStore,
} from "../tracking/run-store.ts";
import { newRunId } from "./artifacts.ts";
import type { PipelineConfig } from "./config.ts";
import type { PerClassReport } from "./train.ts";

/** The steps in run order; a run without MLflow has no track step. */
export const STEPS = [
  "ingest",
  "validate",
  "drift",
  "transform",
  "tune",
  "evaluate",
  "bundle",
  "gate",
  "register",
  "track",
] as const;
export type StepName = (typeof STEPS)[number];

/**
 * The phase a step's progress events name (`[train] 44% search: …` on the CLI, `step` of
 * `GET /jobs/:id`): the pipeline's stages as they were named before the steps were split, so what
 * users and API clients watch for stays the same. The run record times each step by its own name.
 */
export const PHASE: Readonly<Record<StepName, string>> = {
  ingest: "ingest",
  validate: "validate",
  drift: "drift",
  transform: "train",
  tune: "train",
  evaluate: "train",
  bundle: "evaluate",
  gate: "register",
  register: "register",
  track: "track",
};

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

/** Thrown by a step to end the run as FAILED with `reason` (a gate, validation or drift set to stop). */
export class RunStopped extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export interface RunOptions {
  /** Rows/s and ETA lines as progress messages (the CLI's NETSEC_PROGRESS); off by default. */
  meters?: boolean;
  signal?: AbortSignal;
}

/** The config as recorded in the run record (and so in MLflow params): a MongoDB URI's secrets hidden. */
function recordedConfig(cfg: PipelineConfig): Record<string, unknown> {
  const c = structuredClone(cfg);
  if (c.source.mongodb?.uri) c.source.mongodb.uri = redactUri(c.source.mongodb.uri);
  return c as unknown as Record<string, unknown>;
}

export class PipelineRun {
  readonly id: string;
  readonly paths: RunPaths;
  readonly cfg: PipelineConfig;
  readonly env: Readonly<Config>;
  readonly schema: DatasetSchema;
  readonly rec: RunRecord;
  readonly signal: AbortSignal | undefined;
  /** What the result reports beyond the record. */
  readonly outcome: {
    fitSeconds: number | null;
    threshold: number | null;
    split: string | null;
    perClass: PerClassReport | null;
  } = { fitSeconds: null, threshold: null, split: null, perClass: null };
  private readonly store: RunStore;
  private readonly steps: readonly StepName[];
  private readonly onProgress: (p: PipelineProgress) => void;
  private readonly meters: boolean;
  private readonly heartbeat: NodeJS.Timeout;

  /** A new run: its folders, and its record saved RUNNING with a heartbeat. */
  constructor(
    run: { id: string; paths: RunPaths; store: RunStore; cfg: PipelineConfig; env: Readonly<Config> },
    schema: DatasetSchema,
    tracked: boolean,
    onProgress: (p: PipelineProgress) => void,
    opts: RunOptions,
  ) {
    this.id = run.id;
    this.paths = run.paths;
    this.store = run.store;
    this.cfg = run.cfg;
    this.env = run.env;
    this.schema = schema;
    this.signal = opts.signal;
    this.meters = opts.meters ?? false;
    this.onProgress = onProgress;
    this.steps = tracked ? STEPS : STEPS.filter((s) => s !== "track");
    this.rec = {
      id: run.id,
      name: `${schema.name}-${run.id}`,
      status: "RUNNING",
      started: new Date().toISOString(),
      finished: null,
      dataset: schema.name,
      config: recordedConfig(run.cfg),
      steps: {},
      best_model: null,
      best_params: null,
      metrics: {},
      leaderboard: [],
      artifacts: run.paths.root,
      champion: false,
      registry: null,
      failure: null,
      warnings: [],
      process: { pid: process.pid, host: hostname(), heartbeat: new Date().toISOString() },
    };
    this.save();
    // the heartbeat says the run is alive; a reader marks it INTERRUPTED when it stops (run-store.ts)
    this.heartbeat = setInterval(() => {
      this.rec.process!.heartbeat = new Date().toISOString();
      this.save();
    }, HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
  }

  /**
   * The run's id, folders and run store, before its schema is known: a schema that does not load
   * ends the command with no run record (as a config error does).
   */
  static prepare(cfg: PipelineConfig, env: Readonly<Config>) {
    const id = newRunId();
    const paths = runPaths(env.home, id);
    makeRunDirs(paths);
    const store = new RunStore(env.home);
    // runs left RUNNING by a process that is gone are marked INTERRUPTED before this one starts
    store.scan(Number.MAX_SAFE_INTEGER);
    return { id, paths, store, cfg, env };
  }

  /** Whether rows/s meters are shown (then they replace per-batch status lines). */
  get metersOn(): boolean {
    return this.meters;
  }

  save(): void {
    this.store.save(this.rec);
  }

  warn(message: string): void {
    this.rec.warnings.push(message);
  }

  /** A progress event: `frac` of step `name` done (named by its phase; the fraction is of every step). */
  progress(name: StepName, frac: number, message: string, keep = false): void {
    const i = this.steps.indexOf(name);
    this.onProgress({
      step: PHASE[name],
      progress: (i + frac) / this.steps.length,
      message,
      ...(keep ? { keep } : {}),
    });
  }

  /** A progress event outside the steps (the S3 push at the very end). */
  event(p: PipelineProgress): void {
    this.onProgress(p);
  }

  /**
   * A rows/s (fits/s) meter for part of a step, or null when meters are off (the caller then reports
   * as before). Its lines are progress events of the step; `frac` says where the step is.
   */
  meter(name: StepName, label: string, unit: string, frac: () => number, total?: number): Progress | null {
    if (!this.meters) return null;
    return new Progress({
      label,
      unit,
      ...(total !== undefined ? { total } : {}),
      sink: (line) => this.progress(name, frac(), line),
    });
  }

  /** Runs step `name`, timing it into the record. */
  async step<T>(name: StepName, fn: () => T | Promise<T>): Promise<T> {
    const t = performance.now();
    this.progress(name, 0, `${name}…`);
    const r = await fn();
    this.rec.steps[name] = (performance.now() - t) / 1000;
    this.save();
    return r;
  }

  /** The record store for a step's reads and writes, closed after it. */
  async withRecordStore<T>(fn: (store: RecordStore) => Promise<T>): Promise<T> {
    const rs = openStore(this.env.storeUri, storeOptionsFrom(this.env));
    await rs.open();
    try {
      return await fn(rs);
    } finally {
      await rs.close();
    }
  }

  /**
   * Ends the run: the record completed, tracked in MLflow (`track`), written as the run's summary,
   * then pushed to S3 (`push`); both are no-ops when not configured.
   */
  async finish(
    status: "FINISHED" | "FAILED",
    failure: string | null,
    track: (run: PipelineRun) => Promise<void>,
    push: (run: PipelineRun) => Promise<void>,
  ): Promise<void> {
    this.rec.status = status;
    if (failure !== null) this.rec.failure = failure;
    clearInterval(this.heartbeat);
    this.rec.finished = new Date().toISOString();
    this.save();
    await track(this);
    this.save();
    writeFileSync(this.paths.summary, `${JSON.stringify(this.rec, null, 2)}\n`);
    await push(this);
  }

  /** What runPipeline returns, from the record as it stands. */
  result(): PipelineResult {
    const rec = this.rec;
    const finished = rec.status === "FINISHED";
    return {
      run_id: this.id,
      status: finished ? "FINISHED" : "FAILED",
      artifacts: this.paths.root,
      winner: rec.best_model,
      leaderboard: rec.leaderboard,
      test: Object.keys(rec.metrics).length ? (rec.metrics as Record<string, number>) : null,
      champion: finished && rec.champion,
      registry: finished ? rec.registry : null,
      failure: rec.failure,
      warnings: rec.warnings,
      bundle: rec.best_model ? this.paths.bundle : null,
      params: rec.best_params,
      fit_seconds: this.outcome.fitSeconds,
      threshold: this.outcome.threshold,
      split: this.outcome.split,
      mlflow_run_id: rec.mlflow?.run_id ?? null,
      mlflow: rec.mlflow ?? null,
      test_sets: rec.test_sets ?? null,
      target: this.cfg.target,
      per_class: this.outcome.perClass,
      champion_comparison: rec.champion_comparison ?? null,
    };
  }
}
