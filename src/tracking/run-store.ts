/**
 * The local run store: one directory per run under $NETSEC_HOME/runs/<run id>/ with `run.json`
 * (status, params, metrics, leaderboard, artifacts path, failure reason). Written atomically (temp +
 * rename) at every state change, so a crash leaves the last complete state. Always written, whether or
 * not a remote tracker is configured.
 *
 * A running run records its process (pid, host) and a heartbeat, refreshed every
 * `HEARTBEAT_SECONDS`. Whoever reads runs (`list`, `get`: `netsec runs list/show`, `GET /runs`, the
 * start of the next run) marks a RUNNING run INTERRUPTED, with when, once its process is gone (same
 * host: the pid is not alive) or its heartbeat is older than `STALE_SECONDS` (any host).
 *
 * A `run.json` that cannot be read (truncated, not JSON, not a run) does not break the others: `scan`
 * reports it as damaged with the reason, and `get` throws STATE_CORRUPT naming the file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { z } from "zod";
import { type HomeLayout, homeLayout } from "../config/home.ts";
import { NetsecError } from "../core/errors.ts";
import type { S3SyncState } from "./s3-sync.ts";

/** INTERRUPTED: its process died (killed, crashed, machine restarted) before the run ended. */
export type RunStatus = "RUNNING" | "FINISHED" | "FAILED" | "INTERRUPTED";

/** How often a running run refreshes its heartbeat. */
export const HEARTBEAT_SECONDS = 5;
/** A RUNNING run whose heartbeat is older than this is INTERRUPTED, whatever host ran it. */
export const STALE_SECONDS = 600;

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
  /** How the champion was re-scored against this run's model (absent when it was not re-scored). */
  champion_comparison?: ChampionComparison;
  /** The process that ran it and its last sign of life (absent on runs recorded before). */
  process?: { pid: number; host: string; heartbeat: string };
  /** When a RUNNING run was found with its process gone (status INTERRUPTED). */
  interrupted_at?: string;
}

/**
 * A champion re-scored on a run's test rows: the rows it was trained on are left out for both models
 * (from its bundle's training-row digest), and what was compared.
 */
export interface ChampionComparison {
  champion_version: number;
  test_rows: number;
  /** Test rows whose feature vector was in the champion's training data; null: its bundle has no digest. */
  excluded_rows: number | null;
  compared_rows: number;
  score_name: string;
  /** Both models' scores on the compared rows; null when too few rows were left to compare. */
  score: number | null;
  champion_score: number | null;
  note: string;
}

/** A run directory whose run.json cannot be read: which file, and why. */
export interface DamagedRun {
  id: string;
  /** The run.json, relative to NETSEC_HOME (`runs/<id>/run.json`). */
  file: string;
  reason: string;
}

// the fields every reader relies on (lists absent in older records read as empty); the rest passes
// through as written
const RunRecordShape = z
  .object({
    id: z.string(),
    status: z.enum(["RUNNING", "FINISHED", "FAILED", "INTERRUPTED"]),
    started: z.string(),
    dataset: z.string(),
    metrics: z.record(z.string(), z.number().nullable()).default({}),
    warnings: z.array(z.string()).default([]),
    leaderboard: z.array(z.unknown()).default([]),
  })
  .passthrough();

/** Is the process `pid` alive on this host? (EPERM: it exists, owned by someone else.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
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
  private readonly layout: HomeLayout;

  constructor(home: string) {
    this.layout = homeLayout(home);
    this.root = this.layout.runs;
  }

  private path(id: string): string {
    if (!ID_RE.test(id))
      throw new NetsecError("RUN_NOT_FOUND", `invalid run id ${JSON.stringify(id)}`, { value: id });
    return this.layout.runRecord(id).file;
  }

  save(r: RunRecord): void {
    const p = this.path(r.id);
    mkdirSync(this.layout.runRecord(r.id).dir, { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(r, null, 2)}\n`);
    renameSync(tmp, p);
  }

  /**
   * One run, or null when there is none; a RUNNING run whose process is gone is marked INTERRUPTED.
   * A damaged run.json throws STATE_CORRUPT naming the file and what to do.
   */
  get(id: string): RunRecord | null {
    const p = this.path(id);
    if (!existsSync(p)) return null;
    const r = this.read(id);
    if ("reason" in r)
      throw new NetsecError(
        "STATE_CORRUPT",
        `run ${id}: ${r.file} under NETSEC_HOME cannot be read (${r.reason}); restore it from a backup, or delete the run's directory (runs/${id} under NETSEC_HOME) to drop the run`,
        { file: r.file, value: id },
      );
    return r;
  }

  /** Newest first (damaged run.json files are skipped; `scan` reports them). */
  list(limit = 100): RunRecord[] {
    return this.scan(limit).runs;
  }

  /** Newest first: the readable runs (reconciled, as `get`) and the damaged ones, up to `limit` in all. */
  scan(limit = 100): { runs: RunRecord[]; damaged: DamagedRun[] } {
    const runs: RunRecord[] = [];
    const damaged: DamagedRun[] = [];
    if (!existsSync(this.root)) return { runs, damaged };
    const ids = readdirSync(this.root)
      .filter((d) => ID_RE.test(d) && existsSync(this.layout.runRecord(d).file))
      .sort()
      .reverse()
      .slice(0, limit);
    for (const id of ids) {
      const r = this.read(id);
      if ("reason" in r) damaged.push(r);
      else runs.push(r);
    }
    return { runs, damaged };
  }

  private read(id: string): RunRecord | DamagedRun {
    const file = `runs/${id}/run.json`;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.path(id), "utf8"));
    } catch (e) {
      return { id, file, reason: `not valid JSON: ${(e as Error).message}` };
    }
    const parsed = RunRecordShape.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return { id, file, reason: `not a run record: ${i.path.join(".") || "(top)"}: ${i.message}` };
    }
    return this.reconcile(parsed.data as unknown as RunRecord);
  }

  /** A RUNNING run whose process is gone becomes INTERRUPTED (saved), with when and why. */
  private reconcile(r: RunRecord, now = new Date()): RunRecord {
    if (r.status !== "RUNNING") return r;
    const beat = r.process?.heartbeat ?? r.started;
    const ageS = (now.getTime() - Date.parse(beat)) / 1000;
    let why: string | null = null;
    if (r.process && r.process.host === hostname() && !alive(r.process.pid))
      why = `its process ${r.process.pid} on ${r.process.host} is gone`;
    else if (!(ageS <= STALE_SECONDS))
      why = `no heartbeat for ${Math.round(ageS)} s (limit ${STALE_SECONDS} s)`;
    if (!why) return r;
    r.status = "INTERRUPTED";
    r.interrupted_at = now.toISOString();
    r.finished = beat;
    r.failure = `interrupted: ${why}; last heartbeat ${beat}`;
    this.save(r);
    return r;
  }
}
