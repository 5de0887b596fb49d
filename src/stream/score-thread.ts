/**
 * `netsec stream`'s scoring thread: the JSON (or CSV) scan of a batch into columns and the model's
 * walk run on a worker thread (`score-task.ts`) while the stream's own thread runs the Kafka client
 * (fetch decoding, publishing, commits) and delivers earlier batches, so one consumer process works
 * on two cores. One thread, one batch at a time, in the order they are handed over.
 *
 * A predictor without a bundle directory (an in-memory model) is scored inline, as is a batch the fast
 * path refuses (a malformed record: the general path words the dead letters' reasons). A failure of
 * the thread (it crashed, or could not load the bundle) rejects the batch's promise: the stream stops
 * there, its batch and every later one uncommitted, and the group reads them again.
 */
import type { Worker } from "node:worker_threads";
import type { Piscina } from "piscina";
import type { Prediction, Predictor } from "../bundle/predictor.ts";
import { Frame } from "../core/frame.ts";
import { dedicatedThread } from "../core/pool.ts";
import { task } from "../core/tasks.ts";
import type { RecordFormat } from "./records.ts";
import type { ScoredRecords } from "./score-task.ts";

/** A batch scored on the thread: its Frame (for monitoring) and prediction, rows in the batch's order. */
export interface ThreadScored {
  frame: Frame;
  prediction: Prediction;
}

export class ScoringThread {
  private readonly pool: Piscina;
  private readonly format: RecordFormat;
  private readonly csvHeader: readonly string[];

  constructor(format: RecordFormat, csvHeader: readonly string[]) {
    this.format = format;
    this.csvHeader = csvHeader;
    this.pool = dedicatedThread();
  }

  /** Whether `p` can be scored on the thread: a bundle on disk that makes labels from scores. */
  usable(p: Predictor): p is Predictor & Required<Pick<Predictor, "dir" | "fromScores">> {
    return typeof p.dir === "string" && typeof p.fromScores === "function";
  }

  /**
   * Scan and score `values` with `p` on the thread; null when the fast path refuses the batch (score
   * it inline by the general path). Rejects when the thread fails.
   */
  async score(
    p: Predictor & Required<Pick<Predictor, "dir" | "fromScores">>,
    values: readonly string[],
  ): Promise<ThreadScored | null> {
    const r = (await this.pool.run(
      task("stream.scoreRecords", {
        dir: p.dir,
        runId: p.manifest.run_id,
        format: this.format,
        csvHeader: this.csvHeader,
        values,
      }),
    )) as ScoredRecords | null;
    if (r === null) return null;
    return { frame: new Frame(r.columns, r.nRows), prediction: p.fromScores(r.scores, r.nRows) };
  }

  /** The worker thread(s) (tests stop one as a crash would). */
  get threads(): readonly Worker[] {
    return this.pool.threads;
  }

  /** Stop the thread (after the batches handed over are done: the stream drains before it closes). */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
