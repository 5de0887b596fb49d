/**
 * Run an exported pipeline under onnxruntime-node and compare it with netsec's own predictions:
 * the check behind "the same pipeline exported to ONNX, verified to give the same probabilities".
 */
import ort from "onnxruntime-node";
import { NetsecError, wrapError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { type ColumnIR, inputNames, MISSING_CATEGORY, OUTPUT_LABEL, OUTPUT_PROBABILITY } from "./ir.ts";

export interface OnnxRunResult {
  /** Threat probability per row (float32 values widened to float64). */
  probability: Float64Array;
  /** Label per row: strings, or numbers for int64 labels. */
  labels: (string | number)[];
}

export interface VerifyResult extends OnnxRunResult {
  nRows: number;
  /** max |onnx - expected| over rows (NaN never counts as equal). */
  maxAbsDiff: number;
  /** Rows whose difference exceeds the tolerance (or is NaN), ascending; at most 100. */
  failingRows: number[];
  /** Rows whose label differs from `expectedLabels` (when given); at most 100. */
  labelMismatches: number[];
  /**
   * Rows whose label differs only because netsec's float64 threat probability lies within the
   * export's float32 rounding just below the threshold (see export.ts: onnxruntime's tree outputs are
   * float32, so such a row is a threat there and not here); at most 100. They do not fail the check.
   */
  thresholdTies: number[];
  ok: boolean;
}

/**
 * How far below the threshold a float64 threat probability can lie and still be decided the other
 * way by the exported graph: one float32 rounding of the threshold's size (2^-24 relative, doubled
 * for the multiclass sum of rounded terms) plus 1e-9 for onnxruntime's order of additions.
 */
export function thresholdBand(threshold: number): number {
  return 2 ** -22 * Math.abs(threshold) + 1e-9;
}

/**
 * Rows one onnxruntime run is fed (its intermediate tensors — one-hot, scaled matrix, tree outputs —
 * grow with the rows: the 201,557 test rows of the 1 M-row NSL-KDD file at once took about 1.2 GB).
 */
export const ONNX_CHUNK_ROWS = 16_384;

/**
 * ONNX feeds for the raw columns of a frame's rows from..to-1 (default: all): numeric → float64 (NaN = missing), categorical → string
 * ("" = missing). Shapes follow the exported inputs: [N] each, or [N, 1] when there is one input.
 */
export function feedsFromFrame(
  columns: readonly ColumnIR[],
  frame: Frame,
  from = 0,
  to = frame.nRows,
): Record<string, ort.Tensor> {
  const names = inputNames({ columns });
  const n = to - from;
  const dims = columns.length === 1 ? [n, 1] : [n];
  const feeds: Record<string, ort.Tensor> = {};
  for (const c of columns) {
    if (!frame.has(c.column)) {
      throw new NetsecError("SCHEMA_MISMATCH", `column ${c.column} is missing from the data`, {
        column: c.column,
      });
    }
    const col = frame.column(c.column);
    const name = names.get(c.column)!;
    if (c.kind === "numeric") {
      if (col.kind !== "numeric") {
        throw new NetsecError(
          "SCHEMA_MISMATCH",
          `column ${c.column} is categorical, the model expects numbers`,
          {
            column: c.column,
          },
        );
      }
      feeds[name] = new ort.Tensor("float64", col.values.slice(from, to), dims);
    } else {
      const s: string[] = new Array(n);
      if (col.kind === "categorical") {
        for (let i = 0; i < n; i++) {
          const code = col.codes[from + i]!;
          s[i] = code < 0 ? MISSING_CATEGORY : col.categories[code]!;
        }
      } else {
        for (let i = 0; i < n; i++)
          s[i] = Number.isNaN(col.values[from + i]!) ? MISSING_CATEGORY : String(col.values[from + i]);
      }
      feeds[name] = new ort.Tensor("string", s, dims);
    }
  }
  return feeds;
}

/** An onnxruntime session for ONNX bytes; a model onnxruntime refuses is BUNDLE_INVALID. */
export async function createOnnxSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes);
  } catch (e) {
    throw wrapError("loading the ONNX model in onnxruntime", e, "BUNDLE_INVALID");
  }
}

/**
 * An open session over all rows of a frame, ONNX_CHUNK_ROWS rows a run (fed by {@link feedsFromFrame}),
 * decoding the `probability` and `label` outputs. Shared by verification and `netsec predict` on an
 * ONNX file, so both feed the graph the same way.
 */
export async function runOnnxSession(
  session: ort.InferenceSession,
  columns: readonly ColumnIR[],
  frame: Frame,
): Promise<OnnxRunResult> {
  try {
    const n = frame.nRows;
    const probability = new Float64Array(n);
    const labels: (string | number)[] = [];
    for (let from = 0; from < n || from === 0; from += ONNX_CHUNK_ROWS) {
      const to = Math.min(n, from + ONNX_CHUNK_ROWS);
      const out = await session.run(feedsFromFrame(columns, frame, from, to));
      const p = out[OUTPUT_PROBABILITY]!;
      const l = out[OUTPUT_LABEL]!;
      probability.set(p.data as Float32Array, from);
      if (l.type === "string") for (const v of l.data as string[]) labels.push(v);
      else for (const v of l.data as BigInt64Array) labels.push(Number(v));
      for (const t of Object.values(out)) t.dispose();
      if (n === 0) break;
    }
    return { probability, labels };
  } catch (e) {
    if (e instanceof NetsecError) throw e;
    throw wrapError("running the ONNX model in onnxruntime", e, "INTERNAL");
  }
}

/** Run the model on a frame. Cost: one onnxruntime session creation + runs over all rows. */
export async function runOnnx(
  bytes: Uint8Array,
  columns: readonly ColumnIR[],
  frame: Frame,
): Promise<OnnxRunResult> {
  const session = await createOnnxSession(bytes);
  try {
    return await runOnnxSession(session, columns, frame);
  } finally {
    await session.release();
  }
}

/**
 * Verify an exported pipeline: run it on `frame` and compare its `probability` output with
 * `expectedProbabilities` (netsec's own, length frame.nRows) to `tol` absolute, and its labels with
 * `expectedLabels` when given. The default tolerance 1e-5 leaves room for the float32 output
 * (relative error 6e-8) and nothing else.
 */
export async function verifyOnnx(
  bytes: Uint8Array,
  columns: readonly ColumnIR[],
  frame: Frame,
  expectedProbabilities: ArrayLike<number>,
  tol = 1e-5,
  expectedLabels?: readonly (string | number)[],
  /** The decision threshold on the threat probability, when the labels come from one. */
  threshold?: number,
): Promise<VerifyResult> {
  if (expectedProbabilities.length !== frame.nRows) {
    throw new RangeError(`expected ${frame.nRows} probabilities, got ${expectedProbabilities.length}`);
  }
  const run = await runOnnx(bytes, columns, frame);
  let maxAbsDiff = 0;
  const failingRows: number[] = [];
  const labelMismatches: number[] = [];
  const thresholdTies: number[] = [];
  const band = threshold === undefined ? -1 : thresholdBand(threshold);
  let nFailing = 0;
  let nMismatch = 0;
  for (let i = 0; i < frame.nRows; i++) {
    const d = Math.abs(run.probability[i]! - expectedProbabilities[i]!);
    if (!(d <= tol)) {
      nFailing++;
      if (failingRows.length < 100) failingRows.push(i);
    }
    if (Number.isNaN(d)) maxAbsDiff = Number.NaN;
    else if (d > maxAbsDiff) maxAbsDiff = d;
    if (expectedLabels && String(expectedLabels[i]) !== String(run.labels[i])) {
      const below = threshold === undefined ? -1 : threshold - expectedProbabilities[i]!;
      if (below > 0 && below <= band) {
        if (thresholdTies.length < 100) thresholdTies.push(i);
      } else {
        nMismatch++;
        if (labelMismatches.length < 100) labelMismatches.push(i);
      }
    }
  }
  return {
    ...run,
    nRows: frame.nRows,
    maxAbsDiff,
    failingRows,
    labelMismatches,
    thresholdTies,
    ok: nFailing === 0 && nMismatch === 0,
  };
}
