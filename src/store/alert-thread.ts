/**
 * The stream's DuckDB alert store on a thread of its own: every DuckDB call of its writes (opening the
 * file, the appenders, the insert, the commit and the write-ahead log's checkpoint, 0.2–0.4 s every
 * ≈ 195,000 alerts on a busy 2-core machine) runs on one worker thread that owns the store
 * (`alert-task.ts`), so the stream's own thread (fetching, publishing, committing) is never held
 * inside a write. A write's alerts cross as columns (`alert-columns.ts`: typed arrays transferred,
 * shared strings once each); its promise resolves once the writer thread has committed them.
 *
 * One write at a time (the stream's WriteQueue already orders them). A store failure (the file busy
 * past the wait, a DuckDB error) rejects the write with the store's NetsecError; a failure of the
 * thread itself (it crashed or was stopped) rejects that write and every later one with a STORE_ERROR
 * saying so: the stream stops there, nothing after it committed.
 */
import { randomUUID } from "node:crypto";
import { BroadcastChannel, type Worker } from "node:worker_threads";
import type { Piscina } from "piscina";
import { NetsecError } from "../core/errors.ts";
import { dedicatedThread } from "../core/pool.ts";
import { type Task, type TaskResult, task } from "../core/tasks.ts";
import { alertColumnBuffers, alertColumns } from "./alert-columns.ts";
import type { AlertTaskResult, AlertWriterSettings } from "./alert-task.ts";
import type { AlertStore, StreamAlert } from "./alerts.ts";

export interface ThreadedAlertStoreOptions {
  waitSeconds?: number;
  holdOpen: boolean;
  threads: number;
  /** Where the "busy, waiting" message goes (default stderr). */
  onWait?: (message: string) => void;
}

export class ThreadedAlertStore implements AlertStore {
  readonly location: string;
  private readonly pool: Piscina;
  private readonly id = randomUUID();
  private readonly settings: AlertWriterSettings;
  private readonly waits: BroadcastChannel;
  /** Set once the writer thread failed or went away: every later write fails with it. */
  private broken: NetsecError | null = null;
  private closing: Promise<void> | null = null;

  /** `path`: the store file, resolved (or ":memory:"). */
  constructor(path: string, opts: ThreadedAlertStoreOptions) {
    this.location = `duckdb:${path}`;
    this.settings = {
      path,
      holdOpen: opts.holdOpen,
      threads: opts.threads,
      waitChannel: `netsec-alert-store-${this.id}`,
      ...(opts.waitSeconds !== undefined ? { waitSeconds: opts.waitSeconds } : {}),
    };
    const say = opts.onWait ?? ((m: string) => process.stderr.write(`${m}\n`));
    this.waits = new BroadcastChannel(this.settings.waitChannel);
    this.waits.onmessage = (ev) => say(String(ev.data));
    // (the channel alone must not keep the process running)
    this.waits.unref();
    this.pool = dedicatedThread();
    this.pool.on("workerDestroy", () => {
      // a thread that goes away outside close() took the open store (and a held write) with it
      if (this.closing === null) this.broken ??= this.threadFailed("it stopped");
    });
  }

  async open(): Promise<void> {
    if (this.closing !== null)
      throw new NetsecError("STORE_ERROR", `alert store ${this.location} is closed`, { uri: this.location });
    const r = await this.run(task("store.openAlerts", { id: this.id, settings: this.settings }), []);
    if ("failure" in r) throw new NetsecError(r.failure.code, r.failure.message, r.failure.details);
  }

  async write(alerts: readonly StreamAlert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    if (this.closing !== null)
      throw new NetsecError("STORE_ERROR", `alert store ${this.location} is closed`, { uri: this.location });
    const columns = alertColumns(alerts);
    const r = await this.run(
      task("store.writeAlerts", { id: this.id, settings: this.settings, columns }),
      alertColumnBuffers(columns),
    );
    if ("failure" in r) throw new NetsecError(r.failure.code, r.failure.message, r.failure.details);
    return r.added;
  }

  /** Close the store after the last write, then stop the thread. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.broken === null) {
          const r = await this.run(task("store.closeAlerts", { id: this.id }), []);
          if ("failure" in r) throw new NetsecError(r.failure.code, r.failure.message, r.failure.details);
        }
      } finally {
        this.waits.close();
        await this.pool.destroy();
      }
    })();
    return this.closing;
  }

  /** The writer thread (tests stop it as a crash would). */
  get threads(): readonly Worker[] {
    return this.pool.threads;
  }

  /** Run one of the store's tasks (each returns an AlertTaskResult) on the writer thread. */
  private async run(
    t: Task<"store.openAlerts"> | Task<"store.writeAlerts"> | Task<"store.closeAlerts">,
    transferList: ArrayBuffer[],
  ): Promise<AlertTaskResult> {
    if (this.broken !== null) throw this.broken;
    try {
      const r: TaskResult<"store.openAlerts" | "store.writeAlerts" | "store.closeAlerts"> =
        await this.pool.run(t, {
          transferList,
        });
      return r;
    } catch (e) {
      this.broken ??= this.threadFailed((e as Error).message);
      throw this.broken;
    }
  }

  private threadFailed(why: string): NetsecError {
    return new NetsecError(
      "STORE_ERROR",
      `alert store ${this.location}: its writer thread failed (${why}); the alerts of the write it held may or may not be stored, and no later write is taken`,
      { uri: this.location },
    );
  }
}
