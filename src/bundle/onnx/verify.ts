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

/** The comparison of onnxruntime's outputs with netsec's, without the outputs themselves. */
export interface VerifyOutcome {
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

export interface VerifyResult extends OnnxRunResult, VerifyOutcome {}

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
export async function createOnnxSession(
  bytes: Uint8Array,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options);
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
  const tally = new VerifyTally(tol, threshold);
  tally.add(0, run, expectedProbabilities, expectedLabels);
  return { ...run, ...tally.outcome() };
}

/**
 * The comparison behind {@link verifyOnnx}, fed consecutive blocks of rows (so a check can run over
 * rows it never holds at once, as the child process of verify-child.ts does); row numbers it reports
 * are positions in the whole sequence.
 */
export class VerifyTally {
  private nRows = 0;
  private maxAbsDiff = 0;
  private readonly failingRows: number[] = [];
  private readonly labelMismatches: number[] = [];
  private readonly thresholdTies: number[] = [];
  private nFailing = 0;
  private nMismatch = 0;
  private readonly tol: number;
  private readonly threshold: number | undefined;
  private readonly band: number;

  /** `threshold`: the decision threshold on the threat probability, when the labels come from one. */
  constructor(tol: number, threshold?: number) {
    this.tol = tol;
    this.threshold = threshold;
    this.band = threshold === undefined ? -1 : thresholdBand(threshold);
  }

  /** onnxruntime's outputs for the rows from..from+n-1 against netsec's for the same rows (index 0 = row `from`). */
  add(
    from: number,
    run: OnnxRunResult,
    expectedProbabilities: ArrayLike<number>,
    expectedLabels?: readonly (string | number)[],
  ): void {
    const { tol, threshold, band } = this;
    const n = expectedProbabilities.length;
    for (let j = 0; j < n; j++) {
      const i = from + j;
      const d = Math.abs(run.probability[j]! - expectedProbabilities[j]!);
      if (!(d <= tol)) {
        this.nFailing++;
        if (this.failingRows.length < 100) this.failingRows.push(i);
      }
      if (Number.isNaN(d)) this.maxAbsDiff = Number.NaN;
      else if (d > this.maxAbsDiff) this.maxAbsDiff = d;
      if (expectedLabels && String(expectedLabels[j]) !== String(run.labels[j])) {
        const below = threshold === undefined ? -1 : threshold - expectedProbabilities[j]!;
        if (below > 0 && below <= band) {
          if (this.thresholdTies.length < 100) this.thresholdTies.push(i);
        } else {
          this.nMismatch++;
          if (this.labelMismatches.length < 100) this.labelMismatches.push(i);
        }
      }
    }
    this.nRows = Math.max(this.nRows, from + n);
  }

  outcome(): VerifyOutcome {
    return {
      nRows: this.nRows,
      maxAbsDiff: this.maxAbsDiff,
      failingRows: this.failingRows,
      labelMismatches: this.labelMismatches,
      thresholdTies: this.thresholdTies,
      ok: this.nFailing === 0 && this.nMismatch === 0,
    };
  }
}
