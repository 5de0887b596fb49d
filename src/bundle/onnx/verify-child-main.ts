/**
 * The child process of verify-child.ts: `node verify-child-main.ts <rows file> [<model.onnx>]`. Loads
 * the graph in onnxruntime (the given file, or the export of the bundle the job names), scores the
 * rows file block by block, compares each block with netsec's probabilities and labels
 * ({@link VerifyTally}); a bundle job whose export agrees writes the MLflow model directory. Prints one
 * JSON line: `{"outcome": …, "export"?: …}`, or `{"error": {code, message, details}}` with exit code 1.
 */
import { readFileSync } from "node:fs";
import { NetsecError, wrapError } from "../../core/errors.ts";
import { Frame } from "../../core/frame.ts";
import { BundlePredictor } from "../bundle.ts";
import { type Signed, writeMlflowOnnxModel } from "../mlmodel.ts";
import { exportPipelineToOnnx } from "./export.ts";
import { pipelineIRFromModels } from "./from-models.ts";
import type { ColumnIR } from "./ir.ts";
import { createOnnxSession, runOnnxSession, type VerifyOutcome, VerifyTally } from "./verify.ts";
import { type CheckJob, type ChildReply, RowsFileReader } from "./verify-child.ts";

/** The export of a bundle job: the ONNX bytes and what the check and the MLflow directory read of the IR. */
interface BundleExport {
  onnx: Uint8Array;
  signed: Signed;
  threshold: number | undefined;
  model: string;
}

/**
 * The export the bundle step used to make in the training process: the same IR from the same files.
 * Only the bytes and a few fields leave this function, so the bundle's model (parsed from JSON), the
 * IR and the graph's lists are garbage once it returns.
 */
function exportBundle(job: Extract<CheckJob, { kind: "bundle" }>): BundleExport {
  const bp = new BundlePredictor(job.bundleDir);
  const ir = pipelineIRFromModels({
    preprocess: bp.transformer.toJSON(),
    model: bp.model.toJSON(),
    classLabels: job.classLabels,
    classIsThreat: job.classIsThreat,
    threshold: job.threshold,
    dataset: job.dataset,
    netsecVersion: job.netsecVersion,
  });
  return {
    onnx: exportPipelineToOnnx(ir),
    signed: { columns: ir.columns, labels: ir.labels },
    threshold: ir.decision === "threshold" ? ir.threshold : undefined,
    model: ir.meta.model,
  };
}

/**
 * A full garbage collection, when the parent started this process with --expose-gc (verify-child.ts
 * does): the export's garbage is several hundred MB for a 1 M-row forest, and nothing else would
 * collect it before onnxruntime's session (native memory V8 does not see) is made.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function check(
  rows: RowsFileReader,
  bytes: Uint8Array,
  columns: readonly ColumnIR[],
  threshold: number | undefined,
): Promise<VerifyOutcome> {
  // without onnxruntime's memory arena, which keeps every block's intermediate tensors once they
  // have been allocated (30 MB less on NSL-KDD's 16,384-row blocks; the same results)
  const session = await createOnnxSession(bytes, { enableCpuMemArena: false });
  try {
    const { nRows, blockRows, tol } = rows.header;
    const tally = new VerifyTally(tol, threshold);
    for (let from = 0; from < nRows; from += blockRows) {
      const n = Math.min(blockRows, nRows - from);
      const block = rows.block(n);
      const run = await runOnnxSession(session, columns, new Frame(block.columns, n));
      tally.add(from, run, block.probabilities, block.labels);
    }
    return tally.outcome();
  } finally {
    await session.release();
  }
}

async function main(rowsFile: string, onnxFile: string | undefined): Promise<ChildReply> {
  const rows = new RowsFileReader(rowsFile);
  try {
    const job = rows.header.job;
    if (job.kind === "verify") {
      if (onnxFile === undefined) throw new NetsecError("INTERNAL", "the ONNX check got no model.onnx");
      return {
        outcome: await check(rows, readFileSync(onnxFile), job.columns, job.threshold ?? undefined),
      };
    }
    const made = exportBundle(job);
    collectGarbage();
    const outcome = await check(rows, made.onnx, made.signed.columns, made.threshold);
    const files = outcome.ok
      ? await writeMlflowOnnxModel(job.outDir, {
          onnx: made.onnx,
          ir: made.signed,
          metadata: job.metadata,
          ...(job.runId !== null ? { runId: job.runId } : {}),
        })
      : [];
    return { outcome, export: { model: made.model, files, bytes: made.onnx.byteLength } };
  } finally {
    rows.close();
  }
}

const [rowsFile, onnxFile] = process.argv.slice(2);
try {
  if (rowsFile === undefined)
    throw new NetsecError("INTERNAL", "usage: verify-child-main.ts <rows file> [<model.onnx>]");
  process.stdout.write(`${JSON.stringify(await main(rowsFile, onnxFile))}\n`);
} catch (e) {
  const err = e instanceof NetsecError ? e : wrapError("the ONNX check", e);
  process.stdout.write(
    `${JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } })}\n`,
  );
  process.exitCode = 1;
}
