/**
 * The local run store: one directory per run under $NETSEC_HOME/runs/<run id>/ with `run.json`
 * (status, params, metrics, leaderboard, artifacts path, failure reason). Written atomically (temp +
 * rename) at every state change, so a crash leaves the last complete state. Always written, whether or
 * not a remote tracker is configured.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetsecError } from "../core/errors.ts";
import type { S3SyncState } from "./s3-sync.ts";

export type RunStatus = "RUNNING" | "FINISHED" | "FAILED";

export interface RunRecord {
  id: string;
  name: string;
  status: RunStatus;
  started: string;
  finished: string | null;
  dataset: string;
  config: Record<string, unknown>;
  /**
   * The record-store sources the run read (files by SHA-256, `mongo:<db>.<collection>`), where they
   * came from (path or redacted URI + collection) and their role; absent on runs recorded before.
   */
  sources?: { source: string; location: string; rows: number; role: "train" | "test" | "also_test" }[];
  /** Step → seconds. */
  steps: Record<string, number>;
  best_model: string | null;
  best_params: Record<string, unknown> | null;
  metrics: Record<string, number | null>;
  /** Metrics of the winner on every test set by name (the main one and a split's also_test sets). */
  test_sets?: Record<string, Record<string, number>>;
  /**
   * Multiclass runs: the per-class table of the test split, flat (`<class>.precision`, `.recall`, `.f1`,
   * `.support`, `macro.f1`, `weighted.f1`, `accuracy`, …), as MLflow metrics want them.
   */
  per_class?: Record<string, number>;
  leaderboard: Record<string, unknown>[];
  artifacts: string;
  champion: boolean;
  registry: { name: string; version: number } | null;
  failure: string | null;
  warnings: string[];
  /** Remote tracking state: absent when MLflow was not configured for the run. */
  mlflow?: MlflowSyncState;
  /** S3 sync state: absent when NETSEC_S3_URI was not set for the run. */
  s3?: S3SyncState;
}

export interface MlflowSyncState {
  /** `pending`: not (completely) in MLflow yet — `netsec runs sync` uploads it. */
  status: "synced" | "pending";
  tracking_uri: string;
  experiment_id: string | null;
  run_id: string | null;
  model_version: string | null;
  error: string | null;
  /** Why it is pending: the server refused the credentials (fix them first), or anything else. */
  error_kind?: "auth" | "other";
  synced_at: string | null;
}

const ID_RE = /^[A-Za-z0-9_-]{1,80}$/;

export class RunStore {
  readonly root: string;

  constructor(home: string) {
    this.root = join(home, "runs");
  }

  private path(id: string): string {
    if (!ID_RE.test(id))
      throw new NetsecError("RUN_NOT_FOUND", `invalid run id ${JSON.stringify(id)}`, { value: id });
    return join(this.root, id, "run.json");
  }

  save(r: RunRecord): void {
    const p = this.path(r.id);
    mkdirSync(join(this.root, r.id), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
    renameSync(tmp, p);
  }

  get(id: string): RunRecord | null {
    const p = this.path(id);
    if (!existsSync(p)) return null;
    return JSON.parse(readFileSync(p, "utf8")) as RunRecord;
  }

  /** Newest first. */
  list(limit = 100): RunRecord[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((d) => ID_RE.test(d) && existsSync(join(this.root, d, "run.json")))
      .sort()
      .reverse()
      .slice(0, limit)
      .map((d) => this.get(d)!)
      .filter(Boolean);
  }
}
