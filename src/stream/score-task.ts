/**
 * The CPU half of `netsec stream` on its scoring thread (`score-thread.ts`): a batch's record texts →
 * the model's input Frame by the whole-batch fast path (`fast-frame.ts`) → the model's scores. The
 * thread loads the bundle from its directory once (`bundle/score-task.ts`, the same bundle as the
 * stream's predictor) and keeps one fast-path decoder per record format; labels are made on the
 * stream's thread from the scores (`Predictor.fromScores`), as the server's scoring threads do.
 */
import type { Scores } from "../bundle/predictor.ts";
import { predictorFor } from "../bundle/score-task.ts";
import type { Column } from "../core/frame.ts";
import { type FastFrame, fastFrame } from "./fast-frame.ts";
import type { RecordFormat } from "./records.ts";

export interface ScoreRecordsArgs {
  /** The bundle: its directory and its manifest's run id (a directory written again is loaded again). */
  dir: string;
  runId: string;
  format: RecordFormat;
  csvHeader: readonly string[];
  /** The batch's record texts, in order. */
  values: readonly string[];
}

/** A batch scored: its Frame's columns (row r is values[r]) and the model's scores. */
export interface ScoredRecords {
  nRows: number;
  columns: Column[];
  scores: Scores;
}

/** Fast-path decoders by format and CSV header (each keeps its compiled schemas and memoised cells). */
const decoders = new Map<string, FastFrame>();

function decoderFor(format: RecordFormat, csvHeader: readonly string[]): FastFrame {
  const key = `${format}\u0000${csvHeader.join("\u0000")}`;
  let f = decoders.get(key);
  if (f === undefined) {
    f = fastFrame(format, csvHeader);
    decoders.set(key, f);
  }
  return f;
}

/**
 * Scan and score a batch; null when a record is outside the fast path's subset (the stream's thread
 * then takes the whole batch by the general path, which words the dead letters' reasons).
 */
export function scoreRecordsTask(a: ScoreRecordsArgs): ScoredRecords | null {
  const p = predictorFor(a.dir, a.runId);
  const frame = decoderFor(a.format, a.csvHeader)(a.values, p.schema, p.manifest.input_columns);
  if (frame === null) return null;
  return { nRows: frame.nRows, columns: [...frame.columns], scores: p.scores(frame) };
}

declare module "../core/tasks.ts" {
  interface TaskFns {
    "stream.scoreRecords": typeof scoreRecordsTask;
  }
}
