/**
 * Training jobs: at most one at a time, each in a child process of its own (`train-process.ts`: the
 * server keeps answering, and a job can be stopped at any moment, which a thread inside a DuckDB call
 * cannot be), with progress messages kept on the job and a result or error at the end. Jobs live in
 * memory (the run store keeps the durable record of each pipeline run); the newest `keep` jobs are
 * remembered.
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";

/** Where the training function lives: `fn(config, progress) => Promise<JSON-able result>`. */
export interface TrainingRunnerSpec {
  /** Absolute path or file: URL of the module. */
  module: string;
  /** Name of the exported function. */
  export: string;
}

export type JobState = "running" | "succeeded" | "failed" | "cancelled";

export interface JobProgress {
  step: string;
  /** 0..1 */
  progress: number;
  message: string;
}

export interface JobError {
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
}

export interface Job {
  id: string;
  state: JobState;
  created: string;
  finished: string | null;
  step: string;
  progress: number;
  message: string;
  /** The last progress messages (at most 50), oldest first. */
  history: (JobProgress & { at: string })[];
  result: unknown;
  error: JobError | null;
}

export const JOB_ID_RE = /^job-[a-z0-9]{16}$/;

/** What a job's process sends (`train-process.ts`). */
const JobMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("progress"), step: z.string(), progress: z.number(), message: z.string() }),
  z.object({ type: z.literal("result"), result: z.unknown() }),
  z.object({
    type: z.literal("error"),
    error: z.object({
      code: z.string(),
      status: z.number(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  }),
]);

export interface JobManagerOptions {
  runner: TrainingRunnerSpec;
  log: Logger;
  /** Called once a job has succeeded (e.g. reload the champion). */
  onSucceeded?: (job: Job) => void | Promise<void>;
  /** Called on every state change (metrics). */
  onChange?: (jobs: readonly Job[]) => void;
  keep?: number;
}

const TRAIN_PROCESS = fileURLToPath(new URL("./train-process.ts", import.meta.url));

/** How long a cancelled job's process has to exit on SIGTERM before it is killed (ms). */
const CANCEL_GRACE_MS = 5000;

export class JobManager {
  private readonly opts: JobManagerOptions;
  private readonly jobs = new Map<string, Job>();
  private running: { job: Job; child: ChildProcess; done: Promise<void> } | null = null;
  /** Per job: resolves once its process has exited and the after-job hook has run. */
  private readonly finished = new Map<string, Promise<void>>();

  constructor(opts: JobManagerOptions) {
    this.opts = opts;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }

  get active(): Job | null {
    return this.running?.job ?? null;
  }

  /** Start a job; throws CONFLICT while another one runs. */
  start(config: unknown): Job {
    if (this.running) {
      throw new NetsecError(
        "CONFLICT",
        `training job ${this.running.job.id} is still running; one training at a time`,
        {
          value: this.running.job.id,
        },
      );
    }
    const id = `job-${randomBytes(8).toString("hex")}`;
    const job: Job = {
      id,
      state: "running",
      created: new Date().toISOString(),
      finished: null,
      step: "starting",
      progress: 0,
      message: "",
      history: [],
      result: null,
      error: null,
    };
    this.jobs.set(id, job);
    this.trim();
    // (its stdout and stderr are the server's; the job's config goes by IPC, not argv, which `ps` shows)
    const child = fork(TRAIN_PROCESS, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.send({ module: this.opts.runner.module, export: this.opts.runner.export, config: config ?? {} });
    const finish = (state: JobState, patch: Partial<Job>): void => {
      // the first outcome wins (a cancel stays a cancel)
      if (job.state !== "running") return;
      Object.assign(job, patch, { state, finished: new Date().toISOString() });
      if (state === "succeeded") job.progress = 1;
      this.opts.log.info({ job: id, state, error: job.error?.message }, "training job finished");
    };
    // the process's last word; the job ends when the process has exited
    let outcome: { result: unknown } | { error: JobError } | null = null;
    const done = new Promise<void>((resolveDone) => {
      child.on("message", (raw) => {
        const parsed = JobMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const m = parsed.data;
        if (m.type === "progress") {
          job.step = m.step;
          job.progress = Math.max(0, Math.min(1, Number.isFinite(m.progress) ? m.progress : 0));
          job.message = m.message;
          job.history.push({
            step: job.step,
            progress: job.progress,
            message: job.message,
            at: new Date().toISOString(),
          });
          if (job.history.length > 50) job.history.shift();
        } else if (m.type === "result") {
          outcome ??= { result: m.result ?? null };
        } else {
          outcome ??= { error: m.error };
        }
      });
      let ended = false;
      const end = async (code: number | null, signal: NodeJS.Signals | null): Promise<void> => {
        if (ended) return;
        ended = true;
        if (outcome && "result" in outcome) {
          // "succeeded" is reported only once the server serves the new champion (if any)
          if (job.state === "running" && this.opts.onSucceeded) {
            job.step = "reloading model";
            try {
              await this.opts.onSucceeded(job);
            } catch (e) {
              this.opts.log.error({ err: e, job: id }, "after-training hook failed");
            }
          }
          finish("succeeded", { result: outcome.result, step: "done" });
        } else if (outcome) {
          finish("failed", { error: outcome.error });
        } else {
          finish("failed", {
            error: {
              code: "INTERNAL",
              status: 500,
              message: `training process exited with ${signal !== null ? `signal ${signal}` : `code ${code}`}`,
              details: {},
            },
          });
        }
        this.running = null;
        this.opts.onChange?.(this.list());
        resolveDone();
      };
      child.on("error", (e) => {
        outcome ??= { error: { code: "INTERNAL", status: 500, message: e.message, details: {} } };
        // a process that never started sends no "exit"
        if (child.pid === undefined) void end(null, null);
      });
      child.on("exit", (code, signal) => void end(code, signal));
    });
    this.running = { job, child, done };
    this.finished.set(id, done);
    this.opts.log.info({ job: id }, "training job started");
    this.opts.onChange?.(this.list());
    return job;
  }

  /** Resolves when the job's process has exited and the after-job hook (champion reload) has run. */
  async wait(id: string): Promise<Job | undefined> {
    await this.finished.get(id);
    return this.jobs.get(id);
  }

  /** Stop the running job (server shutdown). */
  async cancel(): Promise<void> {
    const r = this.running;
    if (!r) return;
    if (r.job.state === "running") {
      r.job.state = "cancelled";
      r.job.finished = new Date().toISOString();
    }
    r.child.kill("SIGTERM");
    const killer = setTimeout(() => r.child.kill("SIGKILL"), CANCEL_GRACE_MS);
    try {
      await r.done;
    } finally {
      clearTimeout(killer);
    }
  }

  private trim(): void {
    const keep = this.opts.keep ?? 50;
    for (const id of this.jobs.keys()) {
      if (this.jobs.size <= keep) break;
      if (this.running?.job.id !== id) {
        this.jobs.delete(id);
        this.finished.delete(id);
      }
    }
  }
}
