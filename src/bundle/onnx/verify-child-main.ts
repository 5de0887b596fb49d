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
import { writeMlflowOnnxModel } from "../mlmodel.ts";
import { exportPipelineToOnnx } from "./export.ts";
import { pipelineIRFromModels } from "./from-models.ts";
import type { ColumnIR } from "./ir.ts";
import { createOnnxSession, runOnnxSession, type VerifyOutcome, VerifyTally } from "./verify.ts";
import { type ChildReply, RowsFileReader } from "./verify-child.ts";

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
    // the export the bundle step used to make in the training process: the same IR from the same files
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
    const onnx = exportPipelineToOnnx(ir);
    const outcome = await check(
      rows,
      onnx,
      ir.columns,
      ir.decision === "threshold" ? ir.threshold : undefined,
    );
    const files = outcome.ok
      ? await writeMlflowOnnxModel(job.outDir, {
          onnx,
          ir,
          metadata: job.metadata,
          ...(job.runId !== null ? { runId: job.runId } : {}),
        })
      : [];
    return { outcome, export: { model: ir.meta.model, files, bytes: onnx.byteLength } };
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
