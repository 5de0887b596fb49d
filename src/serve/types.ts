/**
 * What the server needs from the rest of netsec, passed in by `server.ts` (or a test): a logger, where
 * NETSEC_HOME is, the API token, a ModelSource, optionally a training runner and a run source, and
 * limits. Nothing here reads the environment.
 */
import type { ZodType } from "zod";
import type { Logger } from "../core/log.ts";
import type { TrainingRunnerSpec } from "./jobs.ts";
import type { ModelSource } from "./model-holder.ts";
import type { MonitoringOptions } from "./monitoring.ts";

/** A pipeline run as listed by `GET /runs` (a subset of the run store's record; extra keys pass through). */
export interface RunSummary {
  id: string;
  status: string;
  started?: string | null;
  finished?: string | null;
  dataset?: string | null;
  best_model?: string | null;
  /** Headline test metrics of the best model. */
  metrics?: Record<string, number | null>;
  [key: string]: unknown;
}

/** One run for `GET /runs/:id`: the summary plus the leaderboard and anything else the store keeps. */
export interface RunDetail extends RunSummary {
  /** One row per candidate: model, params, CV and test metrics. */
  leaderboard?: Record<string, unknown>[];
  params?: Record<string, unknown>;
}

/** Read-only access to the run store (helper T's src/tracking/run-store.ts will back it). */
export interface RunSource {
  list(opts?: { limit?: number }): Promise<RunSummary[]> | RunSummary[];
  get(id: string): Promise<RunDetail | null> | RunDetail | null;
}

export interface ServeLimits {
  /** Bytes of one uploaded CSV. Default 20 MiB. */
  maxUploadBytes: number;
  /** Data rows of one uploaded CSV. Default 200,000. */
  maxUploadRows: number;
  /** Characters of one CSV record. Default 64 KiB. */
  maxRowChars: number;
  /** Records in one `POST /predict/records`. Default 10,000. */
  maxRecords: number;
  /** Bytes of a JSON body. Default 8 MiB. */
  maxJsonBytes: number;
  /** Rows shown in the HTML result table (all rows are always in the CSV/JSON). Default 1,000. */
  htmlRowLimit: number;
  /**
   * Scoring requests (`POST /predict`, `POST /predict/records`) worked on at once; default: one per
   * scoring thread, at least 1. Each holds up to an upload's bytes and its parsed rows.
   */
  maxScoring: number;
  /** Scoring requests waiting for a slot (their bodies not yet read); one more is a 503. Default 16. */
  scoringQueue: number;
  /** Bytes kept under prediction_output/ (output.csv included); the oldest outputs go first. Default 256 MiB. */
  outputMaxBytes: number;
  /** Outputs older than this (ms) are removed. Default 7 days. */
  outputMaxAgeMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServeLimits> = Object.freeze({
  maxUploadBytes: 20 * 1024 * 1024,
  maxUploadRows: 200_000,
  maxRowChars: 64 * 1024,
  maxRecords: 10_000,
  maxJsonBytes: 8 * 1024 * 1024,
  htmlRowLimit: 1_000,
  maxScoring: 1,
  scoringQueue: 16,
  outputMaxBytes: 256 * 1024 * 1024,
  outputMaxAgeMs: 7 * 24 * 3600 * 1000,
});

export interface AppDeps {
  logger: Logger;
  /** NETSEC_HOME (absolute): prediction_output/ and artifacts/ live under it. */
  home: string;
  /** NETSEC_API_TOKEN; unset = state-changing routes answer 503. */
  apiToken?: string | undefined;
  /** Where the champion comes from. */
  models: ModelSource;
  /** Poll the model source every this many ms (0 = never; the server uses 5,000). */
  modelPollMs?: number;
  /** The training function, run in a child process (`train-process.ts`); unset = `POST /train` answers 503. */
  training?: {
    runner: TrainingRunnerSpec;
    /** Validates the optional JSON body of `POST /train` (e.g. the pipeline config schema); default: any object. */
    configSchema?: ZodType;
  };
  runs?: RunSource;
  limits?: Partial<ServeLimits>;
  /** Worker threads scoring CSV uploads off the event loop (0 = inline, the default here). */
  scoringThreads?: number;
  /** Requests per window per client address; false disables. Default 1,200 per minute. */
  rateLimit?: { max: number; timeWindowMs: number } | false;
  /** Origins allowed to call the API from a browser (CORS); default none (no CORS headers at all). */
  corsOrigins?: readonly string[];
  /**
   * Directories (absolute) whose files `POST /train` may name (`source.files`, `source.test_files`,
   * `schema`); default none: a body naming a file is refused.
   */
  dataDirs?: readonly string[];
  /** Public base path of the API docs; default /docs. */
  docsPath?: string;
  /**
   * Monitoring of the scored traffic (windows, drift, alerts; src/monitor/): its settings, or false
   * to turn it off. Default on with the documented defaults and alerts to the log only.
   */
  monitoring?: MonitoringOptions | false;
}
