/**
 * Scoring a frame a block of rows at a time: the evaluate, bundle and register steps score every test
 * row, and a whole test split transformed at once is a float64 matrix of rows × features (1.9 GB for
 * 2 M NSL-KDD rows × 122 features). A block is a `Frame.slice` view (no copy of the rows) and its
 * matrix is dropped before the next is built; models score rows independently, so the scores are
 * the same as in one call.
 */
import type { Scores } from "../bundle/predictor.ts";
import type { Frame } from "../core/frame.ts";

/** Rows transformed into one float64 matrix at a time (64 MB at NSL-KDD's 122 features). */
export const SCORE_BLOCK_ROWS = 65_536;

/** `frame`'s rows in consecutive blocks of at most `size` rows: the first row's index and the block. */
export function* rowBlocks(frame: Frame, size = SCORE_BLOCK_ROWS): Generator<{ from: number; rows: Frame }> {
  for (let from = 0; from < frame.nRows; from += size)
    yield { from, rows: frame.slice(from, Math.min(frame.nRows, from + size)) };
}

/** `p.scores(frame)` a block of rows at a time (class probabilities row-major, nRows × classes). */
export function scoresInBlocks(
  p: { scores(rows: Frame): Scores },
  frame: Frame,
  size = SCORE_BLOCK_ROWS,
): Scores {
  if (frame.nRows <= size) return p.scores(frame);
  const threat = new Float64Array(frame.nRows);
  let proba: Float64Array | undefined;
  for (const { from, rows } of rowBlocks(frame, size)) {
    const s = p.scores(rows);
    const k = s.proba.length / rows.nRows;
    proba ??= new Float64Array(frame.nRows * k);
    proba.set(s.proba, from * k);
    threat.set(s.threat, from);
  }
  return { proba: proba!, threat };
}
