/**
 * Scoring threads for `POST /predict`: the model's work on a batch (preprocessing and the trees or
 * coefficients) runs on a worker thread while the event loop reads the next uploads, so a server on
 * n cores scores on up to n of them. The worker loads the same bundle directory as the request's
 * predictor (src/bundle/score-task.ts) and returns the scores; labels are made here with the
 * request's predictor, so a champion swap mid-request never mixes versions. A predictor without a
 * directory (an in-memory model), zero threads, or a worker that fails: the batch is scored inline,
 * with the same code and the same result.
 */
import { Piscina } from "piscina";
import type { Prediction, Predictor, Scores } from "../bundle/predictor.ts";
import type { Frame } from "../core/frame.ts";
import type { Logger } from "../core/log.ts";
import { task } from "../core/tasks.ts";
import type { UploadLimits } from "./csv-upload.ts";
import { type CsvScore, type ScoreCsvArgs, scoreCsv } from "./score-csv.ts";

/** Below this many rows a batch is scored inline (posting it costs more than it saves). */
const MIN_ROWS = 64;

/** An upload this small (a few dozen rows) is parsed and scored inline. */
const MIN_BYTES = 4096;

export class ScoringPool {
  private readonly pool: Piscina | null;
  private readonly log: Logger;
  private failures = 0;
  /** Batches scored on a scoring thread and inline (a fallback or too small for a thread). */
  readonly counts = { threaded: 0, inline: 0 };

  constructor(threads: number, log: Logger) {
    this.log = log;
    this.pool =
      threads > 0
        ? new Piscina({
            filename: new URL("../core/worker.ts", import.meta.url).href,
            minThreads: threads,
            maxThreads: threads,
            idleTimeout: 60_000,
            concurrentTasksPerWorker: 1,
            // a scoring thread scores its batch itself (no helper thread, no pool of its own)
            env: { ...process.env, NETSEC_IN_WORKER: "1" },
          })
        : null;
  }

  get threads(): number {
    return this.pool ? this.pool.options.maxThreads : 0;
  }

  private usable(p: Predictor): p is Predictor & Required<Pick<Predictor, "dir" | "fromScores">> {
    return this.pool !== null && typeof p.dir === "string" && typeof p.fromScores === "function";
  }

  /** Have the workers load a new champion now (after a swap), not on its first request. */
  warm(p: Predictor): void {
    if (!this.usable(p)) return;
    const load = task("bundle.load", { dir: p.dir, runId: p.manifest.run_id });
    for (let i = 0; i < this.threads; i++) this.pool!.run(load).catch(() => undefined);
  }

  /** p.predict(frame), on a scoring thread when there is one. */
  async predict(p: Predictor, frame: Frame): Promise<Prediction> {
    if (!this.usable(p) || frame.nRows < MIN_ROWS) {
      this.counts.inline++;
      return p.predict(frame);
    }
    let s: Scores;
    try {
      const score = task("bundle.score", {
        dir: p.dir,
        runId: p.manifest.run_id,
        columns: [...frame.columns],
        nRows: frame.nRows,
      });
      s = (await this.pool!.run(score)) as Scores;
    } catch (e) {
      // the model is in this thread too: score here (a removed bundle directory, a crashed worker)
      this.failed(e, p);
      return p.predict(frame);
    }
    this.counts.threaded++;
    return p.fromScores(s, frame.nRows);
  }

  /**
   * scoreCsv (serve/score-csv.ts) on a scoring thread when there is one and the upload is not tiny:
   * the parse, the scoring and the output text all off the event loop. Inline otherwise, or when the
   * thread fails (the same function, the same answer).
   */
  async scoreCsv(
    p: Predictor,
    label: string,
    bytes: Uint8Array,
    limits: UploadLimits,
    json: boolean,
    htmlRows = 0,
    monitor = false,
  ): Promise<CsvScore> {
    if (!this.usable(p) || bytes.length < MIN_BYTES) {
      this.counts.inline++;
      return scoreCsv(p, label, bytes, limits, json, htmlRows, monitor);
    }
    try {
      const args: ScoreCsvArgs = {
        dir: p.dir,
        runId: p.manifest.run_id,
        label,
        bytes,
        limits,
        json,
        htmlRows,
        monitor,
      };
      const r = (await this.pool!.run(task("serve.scoreCsv", args))) as CsvScore;
      this.counts.threaded++;
      return r;
    } catch (e) {
      this.failed(e, p);
      return scoreCsv(p, label, bytes, limits, json, htmlRows, monitor);
    }
  }

  /** A scoring thread failed on p's batch: said (the first few times), and the batch goes inline. */
  private failed(e: unknown, p: Predictor): void {
    if (this.failures++ < 3) {
      this.log.warn(
        { err: (e as Error).message, version: p.version },
        "scoring thread failed; scoring inline",
      );
    }
    this.counts.inline++;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
