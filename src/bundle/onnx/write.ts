/**
 * The bundle's `onnx/` directory in one call: export the pipeline, verify it under onnxruntime on the
 * given rows against netsec's own probabilities (and labels), and write the MLflow model directory
 * (MLmodel, model.onnx, requirements, environments). A model that fails verification is not written.
 * The check runs in a child process (verify-child.ts), so onnxruntime's memory never adds to the
 * caller's (the training process's peak at 1 M rows).
 */
import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { writeMlflowOnnxModel } from "../mlmodel.ts";
import { exportPipelineToOnnx } from "./export.ts";
import type { PipelineIR } from "./ir.ts";
import type { VerifyOutcome } from "./verify.ts";
import { exportBundleOnnxInChild, verifyOnnxInChild } from "./verify-child.ts";

export interface WriteOnnxOptions {
  ir: PipelineIR;
  /** Rows to verify on (e.g. the test split) with netsec's threat probabilities and labels for them. */
  verifyOn?: {
    frame: Frame;
    probabilities: ArrayLike<number>;
    labels?: readonly (string | number)[];
    /** Default 1e-5. */
    tol?: number;
  };
  /** MLmodel `metadata` (run id, threshold, metrics...). */
  metadata?: Readonly<Record<string, string | number | boolean>>;
  runId?: string;
  artifactPath?: string;
}

export interface WriteOnnxResult {
  files: string[];
  bytes: number;
  verify: VerifyOutcome | null;
}

/**
 * Export, verify, write. Throws NetsecError BUNDLE_INVALID when onnxruntime disagrees with netsec
 * beyond the tolerance (naming the worst difference and the first failing rows).
 */
export async function writeOnnxModel(dir: string, o: WriteOnnxOptions): Promise<WriteOnnxResult> {
  const onnx = exportPipelineToOnnx(o.ir);
  let verify: VerifyOutcome | null = null;
  if (o.verifyOn) {
    const v = o.verifyOn;
    verify = await verifyOnnxInChild(
      onnx,
      o.ir.columns,
      v.frame,
      v.probabilities,
      v.tol ?? 1e-5,
      v.labels,
      o.ir.decision === "threshold" ? o.ir.threshold : undefined,
    );
    if (!verify.ok) throw disagreement(o.ir.meta.model, verify, v.tol ?? 1e-5);
  }
  const files = await writeMlflowOnnxModel(dir, {
    onnx,
    ir: o.ir,
    ...(o.metadata ? { metadata: o.metadata } : {}),
    ...(o.runId !== undefined ? { runId: o.runId } : {}),
    ...(o.artifactPath !== undefined ? { artifactPath: o.artifactPath } : {}),
  });
  return { files, bytes: onnx.byteLength, verify };
}

export interface WriteBundleOnnxOptions {
  /** The bundle directory whose preprocess.json and model.json are exported (as written to disk). */
  bundleDir: string;
  /** The rest of pipelineIRFromModels' input (the manifest's class lists and threshold, provenance). */
  classLabels: readonly string[];
  classIsThreat: readonly boolean[];
  threshold: number;
  dataset: string;
  netsecVersion: string;
  /** Rows to verify on: the frame (its `inputs` columns are sent), netsec's threat probabilities and labels. */
  verifyOn: {
    frame: Frame;
    inputs: readonly string[];
    probabilities: ArrayLike<number>;
    labels?: readonly (string | number)[];
    /** Default 1e-5. */
    tol?: number;
  };
  metadata?: Readonly<Record<string, string | number | boolean>>;
  runId?: string;
}

/**
 * {@link writeOnnxModel} for a model bundle on disk, with the export made in the check's child process
 * too (verify-child.ts): the pipeline IR, the ONNX protobuf and onnxruntime never exist in the caller.
 * The same export (pipelineIRFromModels of the bundle's preprocess and model), check, error and files.
 */
export async function writeBundleOnnx(dir: string, o: WriteBundleOnnxOptions): Promise<WriteOnnxResult> {
  const v = o.verifyOn;
  const tol = v.tol ?? 1e-5;
  const reply = await exportBundleOnnxInChild(
    {
      bundleDir: o.bundleDir,
      outDir: dir,
      classLabels: [...o.classLabels],
      classIsThreat: [...o.classIsThreat],
      threshold: o.threshold,
      dataset: o.dataset,
      netsecVersion: o.netsecVersion,
      metadata: { ...o.metadata },
      runId: o.runId ?? null,
    },
    v.inputs,
    { frame: v.frame, probabilities: v.probabilities, labels: v.labels, tol },
  );
  const made = reply.export;
  if (!made) throw new NetsecError("INTERNAL", "the ONNX export's child process returned no export", {});
  if (!reply.outcome.ok) throw disagreement(made.model, reply.outcome, tol);
  return { files: made.files, bytes: made.bytes, verify: reply.outcome };
}

function disagreement(model: string, verify: VerifyOutcome, tol: number): NetsecError {
  return new NetsecError(
    "BUNDLE_INVALID",
    `ONNX export of ${model} disagrees with netsec: max |Δp| ${verify.maxAbsDiff}, ` +
      `${verify.failingRows.length} rows beyond ${tol} (first: ${verify.failingRows.slice(0, 5).join(", ")}), ` +
      `${verify.labelMismatches.length} label mismatches (first: ${verify.labelMismatches.slice(0, 5).join(", ")})`,
    {
      failingRows: verify.failingRows.slice(0, 20),
      labelMismatches: verify.labelMismatches.slice(0, 20),
    },
  );
}
